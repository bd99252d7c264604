"""Look inside a trained model, layer by layer: every view of the seed notebook, and more.

    python examples/quickstart.py                        # trains and saves out/quickstart/model.minicnn
    python examples/visualize_layers.py                  # figures into out/visualize/
    python examples/visualize_layers.py --model out/cifar10_cnn/model.minicnn --image-index 7

The test images come from the dataset the model was trained on, as its
model file records it (``minicnn.train`` and the examples record it; an
image-folder model reads the folder's ``test/`` images), or from
``--dataset`` / ``--image-folder PATH``; for a model that records nothing,
the built-in shapes for 28x28x1 and CIFAR-10 for 32x32x3. Figures written,
one PNG each:

==  =========================  =============================================
03  sample                     the image, its true and predicted class
04  feature_maps_<layer>       every channel of each feature layer
05  filters_<layer>            the learned kernels of each convolution
06  layer_progression          input -> channel mean of each feature layer
07  dense_<layer>              the hidden Dense units, with statistics
08  class_probabilities        the softmax output (green: predicted)
09  compare_images             five images through the same layers
10  activation_statistics      mean/std/min/max/% zeros per layer (also printed)
11  activation_heatmaps        where each layer responds, on the image
12  saliency                   |d score / d pixel|
13  grad_cam                   Grad-CAM on the last feature layer
14  handcrafted_vs_learned     Sobel & co. beside the closest learned filters
15  gradient_maps              activations beside dLoss/dActivation (of a hard test image)
16  receptive_field            theoretical vs effective field of one unit
17  activation_maximization    the inputs that excite the last layer's channels most
18  convolution.gif            one filter sliding over an 8x8 crop, forward and backward
18  convolution_frame          one frame of it, as a PNG
==  =========================  =============================================
"""

from __future__ import annotations

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # write files; never open a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minicnn  # noqa: E402
from minicnn import datasets, viz  # noqa: E402
from minicnn.layers.activation_layers import _ActivationLayer  # noqa: E402


def feature_layers(model) -> list[str]:
    """The spatial layers a learner wants to see: after each non-linearity."""
    names = []
    for layer in model.layers:
        if len(layer.output_shape) != 3:
            continue
        fn = getattr(layer, "activation", None)
        if isinstance(layer, _ActivationLayer) or (hasattr(layer, "kernel") and fn is not None
                                                     and fn.name != "linear"):
            names.append(layer.name)
    return names or viz.spatial_layers(model)


def load_test_images(model, dataset: str | None, data_dir: str | None, image_folder: str | None = None):
    """Test images scaled to [0, 1], labels and class names for the model's input.

    Where from: ``--image-folder`` (its ``test/`` folder), else ``--dataset``, else what the model
    file records it was trained on (``model.data_info``), else a guess from the input shape.
    """
    shape = tuple(model.input_shape)
    info = model.data_info or {}
    if image_folder is None and dataset is None and info.get("dataset") == "image_folder":
        image_folder = info.get("image_folder")
    if image_folder is not None:
        x, y, names = datasets.load_image_folder(image_folder, folder="test", shuffle=False,
                                                 image_size=shape[:2] if len(shape) == 3 else None)
        return datasets.scale_images(x).reshape((len(x),) + shape), y, names
    if dataset is None:
        dataset = info.get("dataset") or ("cifar10" if shape == (32, 32, 3) else "shapes")
    if dataset == "shapes":
        _, (x, y) = datasets.load_shapes(n=6000, seed=0)
        names = datasets.SHAPES_CLASSES
    else:
        loader, names = {"mnist": (datasets.load_mnist, datasets.MNIST_CLASSES),
                         "fashion_mnist": (datasets.load_fashion_mnist, datasets.FASHION_CLASSES),
                         "cifar10": (datasets.load_cifar10, datasets.CIFAR10_CLASSES)}[dataset]
        _, (x, y) = loader(data_dir=data_dir)
    x = datasets.scale_images(x)
    if x.shape[1:] != shape:
        x = x.reshape((len(x),) + shape)   # an MLP reads the same pixels without the channel axis
    return x, y, list(names)


def main(argv=None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="out/quickstart/model.minicnn", help="a saved .minicnn model")
    parser.add_argument("--image-index", type=int, default=0, help="which test image to look at")
    parser.add_argument("--out", default="out/visualize", help="folder for the figures")
    parser.add_argument("--dataset", choices=["shapes", "mnist", "fashion_mnist", "cifar10"], default=None,
                        help="where the test images come from (default: what the model file records, "
                             "else a guess from its input shape)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--image-folder", default=None, metavar="PATH",
                        help="a folder or zip of class folders; its test/ images are used")
    parser.add_argument("--no-animation", action="store_true",
                        help="skip the GIF (18_convolution.gif); its frame PNG is still written")
    args = parser.parse_args(argv)
    if not os.path.exists(args.model):
        sys.exit(f"No model at {args.model}. Train one first:  python examples/quickstart.py")

    model = minicnn.load_model(args.model)
    x, y, names = load_test_images(model, args.dataset, args.data_dir, args.image_folder)
    i = args.image_index
    image, label = x[i], int(y[i])
    os.makedirs(args.out, exist_ok=True)
    written: list[str] = []

    def save(fig, name: str) -> None:
        path = os.path.join(args.out, name)
        fig.savefig(path, dpi=80, bbox_inches="tight")
        plt.close(fig)
        written.append(path)

    features = feature_layers(model)
    convolutions = [layer.name for layer in model.layers if getattr(getattr(layer, "kernel", None),
                                                                    "value", np.zeros(0)).ndim == 4]
    probs = model.predict(image[None], verbose=0)[0]
    fig, ax = plt.subplots(figsize=(3, 3.3))
    viz.draw.show_image(ax, image, title=f"test image {i}\ntrue: {names[label]}\n"
                        f"predicted: {names[probs.argmax()]} ({probs.max():.1%})")
    save(fig, "03_sample.png")
    for name in features:
        save(viz.feature_maps(model, image, name), f"04_feature_maps_{name}.png")
    for name in convolutions:
        save(viz.filters(model, name), f"05_filters_{name}.png")
    save(viz.layer_progression(model, image, features), "06_layer_progression.png")
    for layer in model.layers[:-1]:
        if len(layer.output_shape) == 1 and hasattr(layer, "kernel"):
            save(viz.dense_activations(model, image, layer.name), f"07_dense_{layer.name}.png")
    save(viz.class_probabilities(model, image, label, names), "08_class_probabilities.png")
    picks = list(range(i, i + 5))
    save(viz.compare_images(model, x[picks], features, titles=[names[y[k]] for k in picks]),
         "09_compare_images.png")
    table = viz.activation_statistics(model, x[:200], features)
    print(table)
    save(table.figure(), "10_activation_statistics.png")
    save(viz.activation_heatmaps(model, image, features), "11_activation_heatmaps.png")
    save(viz.overlay(image, viz.saliency(model, image), title=f"saliency for '{names[probs.argmax()]}'",
                     label="|d score / d pixel|"), "12_saliency.png")
    save(viz.overlay(image, viz.grad_cam(model, image, features[-1]), title=f"Grad-CAM on {features[-1]}",
                     label="ReLU(sum of weighted channels)"), "13_grad_cam.png")
    first = model.get_layer(convolutions[0])
    if first.kernel_size == (3, 3):
        save(viz.handcrafted_vs_learned(model, image, convolutions[0]), "14_handcrafted_vs_learned.png")
    model.compile(model.loss if getattr(model, "loss", None) else "sparse_categorical_crossentropy",
                  model.optimizer if getattr(model, "optimizer", None) else "adam")
    # Gradients of the loss: on images the model gets right with confidence the loss, and every
    # gradient, is near 0. So trace the 16 hardest of the first 1000 test images (lowest probability
    # for the true class), labelled as the model's loss wants (indices, or one-hot rows);
    # gradient_maps then shows the one the loss asks most of.
    pool = np.arange(min(len(x), 1000))
    true_probability = model.predict(x[pool], verbose=0)[np.arange(len(pool)), y[pool]]
    hardest = pool[np.argsort(true_probability)[:16]]
    labels = y[hardest]
    if isinstance(model.loss, minicnn.losses.CategoricalCrossentropy) and \
            not isinstance(model.loss, minicnn.losses.SparseCategoricalCrossentropy):
        labels = np.eye(model.output_shape[-1], dtype=np.float32)[labels]
    save(viz.gradient_maps(model.trace(x[hardest], labels), features[-1]), "15_gradient_maps.png")
    last = model.get_layer(features[-1])
    centre = (last.output_shape[0] // 2, last.output_shape[1] // 2)
    save(viz.receptive_field(model, features[-1], centre, image=image), "16_receptive_field.png")
    # What the last feature layer's first channels look for: gradient ascent from grey.
    save(viz.maximized_inputs(model, features[-1], channels=8, steps=120, tv_weight=0.002, jitter=1,
                              value_range=(0.0, 1.0)), "17_activation_maximization.png")
    kernel = first.kernel.value[:, :, 0, 0]
    patch = viz.crop_on_detail(image.mean(axis=-1), 8)      # the 8x8 part with the most going on
    if not args.no_animation:
        written.append(str(viz.convolution_animation(patch, kernel, stride=1, padding="same",
                                                     path=os.path.join(args.out, "18_convolution.gif"))))
    save(viz.convolution_frame(patch, kernel, 27, padding="same"), "18_convolution_frame.png")
    print(f"{len(written)} figures written to {args.out}/")
    return written


if __name__ == "__main__":
    main()
