"""The ``minicnn`` command line.

    minicnn --version
    minicnn summary kconv          print a seed model's summary (mlp, kconv, cifar_cnn)
    minicnn train --dataset mnist --model kconv [--epochs N --limit N --data-dir D --out D]
"""

from __future__ import annotations

import argparse
import sys

from . import __version__, zoo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="minicnn", description=__doc__.split("\n")[1])
    parser.add_argument("--version", action="version", version=f"minicnn {__version__}")
    sub = parser.add_subparsers(dest="command")
    summary = sub.add_parser("summary", help="print the summary of a built-in seed model")
    summary.add_argument("model", choices=sorted(zoo.SEED_MODELS), help="which seed model")
    train = sub.add_parser("train", help="train a seed model on a dataset (as the examples do)")
    train.add_argument("--dataset", choices=["mnist", "fashion_mnist", "cifar10", "shapes"], required=True)
    train.add_argument("--model", choices=["mlp", "kconv", "cifar_cnn"], required=True)
    from .train import add_arguments
    add_arguments(train, default_out="out/train")
    args = parser.parse_args(argv)
    if args.command == "train":
        from .errors import MiniCNNError
        from .train import run
        try:
            run(args.dataset, args.model, epochs=args.epochs, limit=args.limit, data_dir=args.data_dir,
                out=args.out, batch_size=args.batch_size, seed=args.seed, resume=args.resume)
        except MiniCNNError as exc:
            print(f"minicnn train: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "summary":
        zoo.SEED_MODELS[args.model]().summary()
        return 0
    parser.print_help()
    return 1


if __name__ == "__main__":
    sys.exit(main())
