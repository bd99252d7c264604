"""The ``minicnn`` command line.

    minicnn --version
    minicnn summary kconv          print a seed model's summary (mlp, kconv, cifar_cnn)
    minicnn train --dataset mnist --model kconv [--epochs N --limit N --data-dir D --out D]
    minicnn bench conv --input 32x32x3 --filters 32 --kernel 3 --stride 1 --padding same --batch 32
    minicnn bench train --model cifar_cnn [--peers keras torch] [--rounds 5]
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
    train.add_argument("--model", choices=["mlp", "kconv", "cifar_cnn", "cifar_strong"], required=True)
    from .train import add_arguments
    add_arguments(train, default_out="out/train")
    bench = sub.add_parser("bench", help="time a convolution or a seed model beside Keras and PyTorch")
    _add_bench_arguments(bench)
    args = parser.parse_args(argv)
    if args.command == "bench":
        from .bench.cli import run
        return run(args, list(argv) if argv is not None else sys.argv[1:])
    if args.command == "train":
        from .errors import MiniCNNError
        from .train import run
        try:
            run(args.dataset, args.model, epochs=args.epochs, limit=args.limit, data_dir=args.data_dir,
                out=args.out, batch_size=args.batch_size, seed=args.seed,
                resume=args.resume, image_folder=args.image_folder)
        except MiniCNNError as exc:
            print(f"minicnn train: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "summary":
        zoo.SEED_MODELS[args.model]().summary()
        return 0
    parser.print_help()
    return 1


def _add_bench_arguments(bench: argparse.ArgumentParser) -> None:
    what = bench.add_subparsers(dest="what", required=True)
    conv = what.add_parser("conv", help="one convolution shape: minicnn's implementations and the installed peers")
    conv.add_argument("--input", default="32x32x3", help="H x W x C of one image (default 32x32x3)")
    conv.add_argument("--filters", type=int, default=32)
    conv.add_argument("--kernel", type=int, default=3)
    conv.add_argument("--stride", type=int, default=1)
    conv.add_argument("--padding", choices=["same", "valid"], default="same")
    conv.add_argument("--batch", type=int, default=32)
    conv.add_argument("--repeats", type=int, default=10)
    conv.add_argument("--reference", action="store_true", help="also time the plain-loop kernels (slow)")
    conv.add_argument("--peers", nargs="*", default=["tensorflow", "torch"], choices=["tensorflow", "torch"])
    conv.add_argument("--plot", metavar="PNG", help="also draw the GFLOP/s as a bar chart")
    train = what.add_parser("train", help="a seed model's training step and predict, each engine in its own process")
    train.add_argument("--model", choices=["kconv", "cifar_cnn"], default="cifar_cnn")
    train.add_argument("--peers", nargs="*", default=["keras", "torch"], choices=["keras", "torch"])
    train.add_argument("--batch", type=int, default=32)
    train.add_argument("--steps", type=int, default=20)
    train.add_argument("--rounds", type=int, default=5)
    for parser in (conv, train):
        parser.add_argument("--blas-as-found", action="store_true",
                            help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (see minicnn/bench/machine.py)")


if __name__ == "__main__":
    sys.exit(main())
