"""What MobileNetV2 sees, early, midway and deep - computed by minicnn's own kernels.

    python examples/mobilenet_feature_maps.py --weights mobilenet_v2.weights.h5 \\
        --class-index imagenet_class_index.json [--image photo.jpg] [--out out/mobilenet]

Builds ``minicnn.applications.MobileNetV2`` (Keras's architecture and layer
names), loads Keras weights into it, and runs one image: the seed lab's
synthetic geometric test image (stripes, a square and a disc on grey), or
your own photo with ``--image``. It prints the layer names you can ask for,
the top-3 ImageNet classes (when ``--class-index`` is given), and writes:

* ``test_image.png``                   the 224x224 input
* ``feature_maps_<layer>.png``         the first 16 channels of each chosen layer
* ``feature_maps_overview.png``        the three layers side by side

Weights: nothing is downloaded. On a machine with internet access run
``keras.applications.MobileNetV2(weights="imagenet").save_weights("mobilenet_v2.weights.h5")``
and copy the file here (the class-index file is Keras's
``~/.keras/models/imagenet_class_index.json``). Without ``--weights`` the
network is untrained: the maps then show what random filters do - the
script says so.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")  # write files; never open a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minicnn  # noqa: E402
from minicnn import viz  # noqa: E402
from minicnn.applications import MobileNetV2, decode_predictions, preprocess_input  # noqa: E402

# Keras has no "block_1_conv1"; these are the real names of an early, a middle and a
# deep activation (the ReLU6 after each block's 1x1 expansion).
DEFAULT_LAYERS = ["block_1_expand_relu", "block_6_expand_relu", "block_13_expand_relu"]


def geometric_test_image(size: int = 224) -> np.ndarray:
    """A grey canvas with dark vertical bars, a horizontal band, a dark square and a
    lighter disc: edges in every orientation, corners and a curve. uint8 (size, size, 3)."""
    s = size / 224  # positions are given for 224 and scaled
    img = np.full((size, size, 3), 200, dtype=np.uint8)
    for left in (20, 50):                                   # two vertical bars
        img[:, int(left * s):int((left + 20) * s)] = 50
    img[int(20 * s):int(40 * s), :] = 100                    # a horizontal band
    img[int(140 * s):int(180 * s), int(140 * s):int(180 * s)] = 30   # a square
    rows, cols = np.ogrid[:size, :size]
    img[(rows - size / 2) ** 2 + (cols - size / 2) ** 2 <= (30 * s) ** 2] = 150  # a disc
    return img


def load_image(path: str, size: int) -> np.ndarray:
    """A photo as uint8 (size, size, 3), through Pillow (installed with matplotlib)."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        sys.exit(f"error: cannot read image {path!r}: {exc}")


def save_maps(maps: np.ndarray, layer: str, path: str, count: int = 16) -> None:
    """The first ``count`` channels of one layer's (H, W, C) output in a 4x4 grid."""
    fig, axes = plt.subplots(4, 4, figsize=(8, 8))
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < min(count, maps.shape[-1]):
            ax.imshow(maps[:, :, i], cmap="viridis")
            ax.set_title(f"channel {i}", fontsize=8)
    fig.suptitle(f"{layer}: {maps.shape[0]}x{maps.shape[1]}, {maps.shape[-1]} channels "
                 f"(first {min(count, maps.shape[-1])})")
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", help="Keras MobileNetV2 weights (.weights.h5, .keras or legacy .h5)")
    parser.add_argument("--image", help="your own image file (default: the synthetic test image)")
    parser.add_argument("--class-index", help="Keras's imagenet_class_index.json, for the top-3 classes")
    parser.add_argument("--layers", default=",".join(DEFAULT_LAYERS),
                        help="comma-separated layer names (default: %(default)s)")
    parser.add_argument("--size", type=int, default=224, help="input size (the ImageNet weights: 224)")
    parser.add_argument("--alpha", type=float, default=1.0, help="width multiplier of the weights")
    parser.add_argument("--out", default="out/mobilenet", help="folder for the PNGs")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    model = MobileNetV2(input_shape=(args.size, args.size, 3), alpha=args.alpha, weights=args.weights)
    print(f"{model.name}: {len(model.layers)} layers, {model.count_params():,} parameters, "
          f"built in {time.perf_counter() - start:.1f} s")
    if args.weights is None:
        print("note: no --weights given, so the network is untrained: the maps below show random "
              "filters, and there are no meaningful predictions (see the docstring for the weights).")
    names = [layer.name for layer in model.layers]
    print("Activation layers you can pass to --layers (every layer name works):")
    print("  " + ", ".join(n for n in names if n.endswith("_relu")))
    chosen = [n.strip() for n in args.layers.split(",") if n.strip()]
    missing = [n for n in chosen if n not in names]
    if missing:
        sys.exit(f"error: no layer named {missing}; see the list above")

    image = load_image(args.image, args.size) if args.image else geometric_test_image(args.size)
    x = preprocess_input(image[None])  # (1, H, W, 3) in [-1, 1]
    os.makedirs(args.out, exist_ok=True)
    plt.imsave(os.path.join(args.out, "test_image.png"), image)

    features = minicnn.Model(model.input, [model.get_layer(n).output for n in chosen] + [model.output])
    start = time.perf_counter()
    *maps, probs = features.predict(x, verbose=0)
    print(f"one forward pass: {time.perf_counter() - start:.2f} s")
    if args.class_index and args.weights:
        print("Top 3 predictions:")
        for rank, (_, label, p) in enumerate(decode_predictions(probs, 3, args.class_index)[0], 1):
            print(f"  {rank}. {label}: {100 * p:.2f}%")

    fig, axes = plt.subplots(len(chosen), 6, figsize=(12, 2.2 * len(chosen)), squeeze=False)
    for row, (name, m) in enumerate(zip(chosen, maps)):
        print(f"{name}: output {m.shape[1:]}, mean {m.mean():.3f}, "
              f"{100 * (m == 0).mean():.0f}% zeros")
        save_maps(m[0], name, os.path.join(args.out, f"feature_maps_{name}.png"))
        for col, ax in enumerate(axes[row]):
            ax.axis("off")
            if col < m.shape[-1]:
                ax.imshow(m[0, :, :, col], cmap="viridis")
        axes[row, 0].set_title(name, fontsize=9, loc="left")
    fig.suptitle("early -> deep: channels 0-5 of each layer")
    fig.savefig(os.path.join(args.out, "feature_maps_overview.png"), dpi=80)
    plt.close(fig)
    print(f"figures written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
