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

from minicnn import viz  # noqa: E402
from minicnn.train import add_arguments, run  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser, default_out="out/mnist_cnn")
    args = parser.parse_args(argv)
    results = run("mnist", "kconv", epochs=args.epochs, limit=args.limit, data_dir=args.data_dir,
                  out=args.out, batch_size=args.batch_size, seed=args.seed,
                  resume=args.resume, image_folder=args.image_folder)
    fig = viz.misclassified(results["model"], results["x_test"], results["y_test"],
                            results["class_names"], n=24, cols=6, predicted=results["predicted"])
    fig.savefig(Path(args.out) / "misclassified.png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return results


if __name__ == "__main__":
    main()
