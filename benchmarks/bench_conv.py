"""Convolution kernels, one shape at a time: minicnn's implementations vs TensorFlow and PyTorch.

    python benchmarks/bench_conv.py                      # writes benchmarks/results/conv.*
    python benchmarks/bench_conv.py --quick --out /tmp/b # tiny shapes, seconds; what CI runs

For every convolution of the seed models (batch 32) and a few larger ones,
times the forward pass, the gradient with respect to the input and the
gradient with respect to the kernel, for every minicnn implementation
(``reference`` - plain Python loops - only on the small shapes), and for
TensorFlow (``tf.nn.conv2d`` and its two backprop ops) and PyTorch
(``F.conv2d``, ``torch.nn.grad``) when installed, in the same process.

Reported per operation: the *cold* first call (for Numba: compiling, or
loading the on-disk cache), the median of warm calls, GFLOP/s
(2 * N * OH * OW * KH * KW * C * O floating-point operations each), that
throughput as a fraction of NumPy's float32 matrix multiply measured in the
same run, and minicnn/peer time ratios (below 1: minicnn is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


from minicnn.bench import machine, peers  # noqa: E402
from minicnn.bench.conv import bench_shape  # noqa: E402
from minicnn import zoo  # noqa: E402
from minicnn.layers import Conv2D  # noqa: E402

LARGER = [("larger", (32, 32, 64), 128, 3, 1, "same"), ("larger", (28, 28, 128), 128, 3, 1, "same")]
SMALL = [("small", (8, 8, 3), 4, 3, 1, "same"), ("small", (9, 9, 4), 6, 2, 2, "valid")]


def seed_shapes() -> list[tuple]:
    """(model, input (H, W, C), filters, kernel, stride, padding) of every seed-model Conv2D."""
    shapes = []
    for label, build in (("kconv", zoo.mnist_cnn), ("cifar_cnn", zoo.cifar10_cnn)):
        for layer in build(seed=0).layers:
            if isinstance(layer, Conv2D):
                shapes.append((f"{label}/{layer.name}", layer.input_shape, layer.filters,
                               layer.kernel_size[0], layer.strides[0], layer.padding))
    return shapes


def matmul_gflops(n: int, repeats: int) -> float:
    return machine.sgemm_gflops(n, repeats)


def write_report(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "conv.json").write_text(json.dumps(results, indent=2))
    lines = [f"# Convolution kernels ({results['when']}, {results['cores']} cores)", "",
             f"Command: `{results['command']}`  ", f"Versions: {results['versions']}  ",
             f"NumPy float32 matrix multiply in this run: **{results['matmul_gflops']:.0f} GFLOP/s** "
             f"({results['matmul_n']}x{results['matmul_n']}). Warm medians of {results['repeats']} calls.", "",
             "| shape | op | engine | cold ms | warm ms | GFLOP/s | % of matmul | minicnn(im2col)/engine |",
             "|---|---|---|---|---|---|---|---|"]
    for row in results["rows"]:
        for op, by_engine in row["ops"].items():
            ours = by_engine["im2col"]["warm_ms"]
            for engine, m in by_engine.items():
                lines.append(f"| {row['shape']} | {op} | {engine} | {m['cold_ms']:.1f} | {m['warm_ms']:.2f} | "
                             f"{m['gflops']:.1f} | {100 * m['of_matmul']:.0f}% | {ours / m['warm_ms']:.2f} |")
    (out / "conv.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--peers", nargs="*", default=["tensorflow", "torch"], choices=["tensorflow", "torch"])
    parser.add_argument("--quick", action="store_true", help="only the small shapes, 2 repeats (for CI)")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    engines = [e for e in args.peers if (peers.keras_available() if e == "tensorflow" else peers.torch_available())]
    shapes = SMALL if args.quick else SMALL + seed_shapes() + LARGER
    repeats = 2 if args.quick else args.repeats
    n = 256 if args.quick else 2048
    peak = matmul_gflops(n, 3 if args.quick else 7)
    results = {"when": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(), "versions": peers.versions(),
               "command": "python benchmarks/bench_conv.py" + (" --quick" if args.quick else ""),
               "matmul_gflops": peak, "matmul_n": n, "repeats": repeats, "rows": []}
    for spec in shapes:
        row = bench_shape(spec, 2 if spec[0] == "small" else args.batch, repeats, engines, peak)
        results["rows"].append(row)
        summary = {op: {e: round(m["warm_ms"], 2) for e, m in v.items()} for op, v in row["ops"].items()}
        print(row["shape"], summary, flush=True)
    write_report(results, Path(args.out))
    return results


if __name__ == "__main__":
    main()
