"""The seed CNN "kconv" on MNIST, then a gallery of the digits it gets wrong.

    python examples/mnist_cnn.py --data-dir ../shared/data

Five 2x2 'same' Conv2D layers with three max-poolings, two Dense layers with
dropout, Adam with Keras's defaults, 5 epochs on the 60000 training digits.
Writes into --out the model, the training curves, results.json and
misclassified.png ("pred: p, true: t" for up to 24 test digits).
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from minicnn.train import add_arguments, run  # noqa: E402


def misclassified_gallery(x, y_true, y_pred, path, n=24, cols=6) -> int:
    wrong = np.flatnonzero(y_pred != y_true)[:n]
    rows = max(-(-len(wrong) // cols), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.8, rows * 2.0), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong):
        ax.imshow(x[i].squeeze(), cmap="gray")
        ax.set_title(f"pred: {y_pred[i]}, true: {y_true[i]}", fontsize=9)
    fig.suptitle(f"{int((y_pred != y_true).sum())} of {len(y_true)} test digits misclassified")
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return len(wrong)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser, default_out="out/mnist_cnn")
    args = parser.parse_args(argv)
    results = run("mnist", "kconv", epochs=args.epochs, limit=args.limit, data_dir=args.data_dir,
                  out=args.out, batch_size=args.batch_size, seed=args.seed)
    misclassified_gallery(results["x_test"], results["y_test"], results["predicted"],
                          Path(args.out) / "misclassified.png")
    return results


if __name__ == "__main__":
    main()
