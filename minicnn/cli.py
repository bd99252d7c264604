"""The ``minicnn`` command line.

    minicnn --version
    minicnn summary kconv          print a seed model's summary (mlp, kconv, cifar_cnn)
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
    args = parser.parse_args(argv)
    if args.command == "summary":
        zoo.SEED_MODELS[args.model]().summary()
        return 0
    parser.print_help()
    return 1


if __name__ == "__main__":
    sys.exit(main())
