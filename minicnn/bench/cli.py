"""``minicnn bench conv`` and ``minicnn bench train``: one readable table, with the machine named."""

from __future__ import annotations

import os
import subprocess
import sys

from ..errors import ConfigError


def _shape(text: str) -> tuple[int, int, int]:
    try:
        h, w, c = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"conv: --input must be HxWxC, like 32x32x3; got {text!r}") from None
    if min(h, w, c) <= 0:
        raise ConfigError(f"conv: --input sizes must be positive, got {text!r}")
    return h, w, c


def run(args, argv: list[str]) -> int:
    """Run the chosen benchmark (``argv``: the command line after ``minicnn``). The timed work
    runs without the machine's BLAS overrides (unless ``--blas-as-found``), as on a user's
    machine: if they are set here, the command runs again in a child process without them."""
    from . import machine
    if os.environ.get("MINICNN_BENCH_CHILD") != "1" and not args.blas_as_found and \
            any(name in os.environ for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
        env = {**machine.clean_env(), "MINICNN_BENCH_CHILD": "1"}
        return subprocess.call([sys.executable, "-m", "minicnn", *argv], env=env)
    try:
        return _conv(args) if args.what == "conv" else _train(args)
    except ConfigError as exc:
        print(f"minicnn bench: {exc}", file=sys.stderr)
        return 1


def _conv(args) -> int:
    from . import machine, peers
    from .conv import bench_shape, plot, table
    h, w, c = _shape(args.input)
    for name in ("filters", "kernel", "stride", "batch", "repeats"):
        if getattr(args, name) <= 0:
            raise ConfigError(f"conv: --{name} must be positive, got {getattr(args, name)}")
    info = machine.describe()
    engines = [e for e in args.peers if (peers.keras_available() if e == "tensorflow" else peers.torch_available())]
    row = bench_shape(("conv", (h, w, c), args.filters, args.kernel, args.stride, args.padding), args.batch,
                      args.repeats, engines, info["sgemm_gflops"], with_reference=args.reference)
    print(f"Machine: {machine.headline(info)}\n")
    print("\n".join(table(row)))
    missing = [e for e in args.peers if e not in engines]
    if missing:
        print(f"\n(not installed here: {', '.join(missing)}; pip install \"minicnn[bench]\" adds them)")
    if args.plot:
        plot(row, args.plot)
        print(f"\nchart: {args.plot}")
    return 0


def _train(args) -> int:
    from . import machine
    from .train import measure, table
    for name in ("batch", "steps", "rounds"):
        if getattr(args, name) <= 0:
            raise ConfigError(f"train: --{name} must be positive, got {getattr(args, name)}")
    results = measure([args.model], args.peers, batch=args.batch, steps=args.steps, rounds=args.rounds,
                      warmup=3, blas_as_found=args.blas_as_found)
    print(f"Machine: {machine.headline(results['machine'])}")
    print(f"Batch {args.batch}; each engine in its own process; medians of {args.rounds} rounds "
          f"of {args.steps} steps. Ratios below 1 (time) or above 1 (images/s): minicnn is faster.\n")
    print("\n".join(table(results)))
    return 0
