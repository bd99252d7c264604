"""Make the gallery page (docs/gallery.md): every view of minicnn.viz, on MNIST and on CIFAR-10.

Train the two seed models on the real data, then draw the gallery from them::

    python examples/mnist_cnn.py --data-dir DATA --out out/mnist_cnn
    python examples/cifar10_cnn.py --image-folder DATA/cifar10-jpeg/cifar10-jpeg.zip --out out/cifar10_cnn
    python examples/gallery.py --mnist-model out/mnist_cnn/model.minicnn --data-dir DATA \\
        --cifar10-model out/cifar10_cnn/model.minicnn

``DATA`` holds ``mnist/`` (the official IDX files) and the CIFAR-10 image folder. Each model
file records what it was trained on, so the views find its test images (MNIST's need
``--data-dir``). The figures go to ``docs/images/gallery/<dataset>/`` (the convolution as one frame of its
GIF) and the page is written anew around them.

It also runs the learner's notebook ``examples/look_inside.ipynb`` top to bottom and stores it
with its outputs, so that its figures show wherever the notebook is browsed (``--skip-notebook``
leaves it as it is; ``--notebook-only`` does only that, with no models needed). The notebook's
metadata keeps a digest of the code its outputs came from, so a test can tell stale outputs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

import visualize_layers
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

# What each figure shows, and what a learner should look for in it (by the number of its file).
CAPTIONS = {
    "03": ("The test image", "The image every view below looks at, its true class and the model's answer."),
    "04": ("Feature maps", "Every channel of a layer, on one colour scale: a weak channel looks weak. "
           "After a ReLU (MNIST) the scale runs from 0; after a LeakyReLU (CIFAR-10) outputs can be "
           "negative and the scale is diverging, white = 0. Channels that are 0 everywhere on this image "
           "are marked \"all 0\"."),
    "05": ("Filters", "The learned kernels on a diverging scale (blue < 0, white = 0, red > 0) with their "
           "numbers; a first RGB layer in colour (grey = 0); a deep layer through each filter's input "
           "channel of largest norm."),
    "06": ("Layer by layer", "The channel mean of each feature layer on one scale: the maps shrink and "
           "get coarser with depth."),
    "07": ("Dense units", "The hidden Dense layer's units as bars, with the count of active ones."),
    "08": ("Class probabilities", "The softmax output, every bar labelled (predicted green, true red "
           "when different)."),
    "09": ("Images compared", "Five test images through the same layers; each column (layer) has one "
           "scale, so the images compare down the column."),
    "10": ("Activation statistics", "Mean +- std of each layer's output over 200 test images (bars cut at "
           "the layer's min and max) and the share of exact zeros."),
    "11": ("Activation heatmaps", "Where each layer responds: its channel max, upsampled and laid over "
           "the image, on one scale for all layers."),
    "12": ("Saliency", "|d class score / d pixel|: the pixels whose change would move the score most."),
    "13": ("Grad-CAM", "The last feature layer's channels weighted by their mean gradient: where the "
           "evidence for the class sits."),
    "14": ("Hand-designed vs learned", "Sobel, blur and others beside the closest learned filter (cosine "
           "similarity), and what each makes of the image."),
    "15": ("Gradient maps", "Activations above dLoss/dActivation for the traced image the loss asks most "
           "of; a diverging scale centred at 0, one colorbar per row."),
    "16": ("Receptive field", "The theoretical field of one unit (green) and its effective field, "
           "|d unit / d pixel|."),
    "17": ("Activation maximization", "Inputs painted by gradient ascent to excite each channel; titles "
           "give its mean activation at the start and the end, channels stuck at 0 are flagged."),
    "18": ("Convolution, one window", "A frame of the convolution GIF: the numbers in the window and in "
           "the kernel, and the output so far (grey: not computed yet)."),
}
DATASETS = {"mnist": "MNIST (seed CNN \"kconv\")", "cifar10": "CIFAR-10 (seed CNN_Classifier, real images)"}


def draw(model: str, dataset: str, out: Path, data_dir: str | None, image_index: int) -> list[Path]:
    """Run visualize_layers on ``model`` and keep its PNGs in ``out`` (emptied first)."""
    with tempfile.TemporaryDirectory() as scratch:
        args = ["--model", model, "--out", scratch, "--image-index", str(image_index), "--no-animation"]
        if data_dir:
            args += ["--data-dir", data_dir]
        written = visualize_layers.main(args)
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        kept = []
        for name in sorted(Path(path).name for path in written):
            (out / name).write_bytes(small_png((Path(scratch) / name).read_bytes()))
            kept.append(out / name)
    print(f"{dataset}: {len(kept)} figures in {out}")
    return kept


def trained_on(model: str) -> str:
    """What the ``results.json`` beside a model file says of its training, if it is there."""
    results = Path(model).with_name("results.json")
    if not results.exists():
        return ""
    record = json.loads(results.read_text())
    return (f": {record.get('epochs')} epochs on the {record.get('train_samples')} training images, "
            f"test accuracy {record.get('test_accuracy', 0):.2%} on {record.get('test_samples')}")


def page(figures: dict[str, list[Path]], page_path: Path, models: dict[str, str]) -> str:
    """The gallery page: one section per figure number, each dataset's pictures in turn."""
    lines = ["# Gallery: every view, on MNIST and on CIFAR-10", "",
             "What `python examples/visualize_layers.py` draws for two trained models:", ""]
    lines += [f"* {DATASETS[dataset]}{trained_on(model)}" for dataset, model in models.items()]
    lines += ["", "`python examples/gallery.py` makes this page from the two model files; its docstring has",
              "the commands that train them. Every view is one function of `minicnn.viz` (the README's",
              "\"Look inside\" shows how to call them).", ""]
    for number, (title, caption) in CAPTIONS.items():
        shown = {dataset: [p for p in paths if p.name.startswith(number + "_")] for dataset, paths in figures.items()}
        if not any(shown.values()):
            continue
        lines += [f"## {title}", "", caption, ""]
        for dataset, paths in shown.items():
            for path in paths:
                link = path.relative_to(page_path.parent).as_posix()
                lines += [f"**{DATASETS[dataset]}**: `{path.name}`", "", f"![{title}, {dataset}]({link})", ""]
    return "\n".join(lines).rstrip() + "\n"


def small_png(data: bytes) -> bytes:
    """A PNG in 256 colours: plenty for a figure, and 2.5x smaller."""
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256).save(out, "PNG", optimize=True)
    return out.getvalue()


def code_digest(notebook) -> str:
    """SHA-256 of the notebook's code cells, in order: what its stored outputs came from."""
    sources = [cell["source"] for cell in notebook["cells"] if cell["cell_type"] == "code"]
    # in the file a source is a list of lines; nbformat's objects hold one string
    code = "\n\0".join("".join(source) if isinstance(source, list) else source for source in sources)
    return hashlib.sha256(code.encode()).hexdigest()


def render_notebook(path: Path) -> int:
    """Execute the notebook at ``path`` (in a scratch folder) and store it with its outputs;
    return its size in bytes. Needs the test extra (nbclient, ipykernel)."""
    import nbclient
    import nbformat
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as scratch:
        nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": scratch}}).execute()
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                data["image/png"] = base64.b64encode(small_png(base64.b64decode(data["image/png"]))).decode()
    notebook.metadata["minicnn_outputs_from"] = code_digest(notebook)
    nbformat.write(notebook, path)
    return path.stat().st_size


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist-model", help="a .minicnn model trained on MNIST")
    parser.add_argument("--cifar10-model", help="a .minicnn model trained on CIFAR-10")
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/ (for the MNIST test images)")
    parser.add_argument("--docs", default=str(ROOT / "docs"), help="the docs folder to write into")
    parser.add_argument("--mnist-index", type=int, default=0, help="which MNIST test image to look at")
    parser.add_argument("--cifar10-index", type=int, default=1000, help="which CIFAR-10 test image")
    parser.add_argument("--skip-notebook", action="store_true", help="do not run and store the notebook")
    parser.add_argument("--notebook-only", action="store_true", help="only run and store the notebook")
    args = parser.parse_args(argv)
    notebook = Path(__file__).with_name("look_inside.ipynb")
    if args.notebook_only:
        print(f"ran {notebook} and stored its outputs: {render_notebook(notebook) / 1e6:.1f} MB")
        return notebook
    if not (args.mnist_model and args.cifar10_model):
        parser.error("--mnist-model and --cifar10-model are needed (or --notebook-only)")
    for path in (args.mnist_model, args.cifar10_model):
        if not Path(path).exists():
            sys.exit(f"No model at {path}: train it first (see the commands at the top of {__file__})")
    docs = Path(args.docs)
    images = docs / "images" / "gallery"
    figures = {"mnist": draw(args.mnist_model, "mnist", images / "mnist", args.data_dir, args.mnist_index),
               "cifar10": draw(args.cifar10_model, "cifar10", images / "cifar10", args.data_dir,
                               args.cifar10_index)}
    page_path = docs / "gallery.md"
    page_path.write_text(page(figures, page_path, {"mnist": args.mnist_model, "cifar10": args.cifar10_model}))
    print(f"wrote {page_path}")
    if not args.skip_notebook:
        print(f"ran {notebook} and stored its outputs: {render_notebook(notebook) / 1e6:.1f} MB")
    return page_path


if __name__ == "__main__":
    main()
