"""One convolution shape on minicnn's three implementations and on TensorFlow and PyTorch.

For the forward pass, the gradient with respect to the input and the
gradient with respect to the kernel: the *cold* first call (for Numba:
compiling, or loading the on-disk cache), the median of warm calls, GFLOP/s
(2 * N * OH * OW * KH * KW * C * O floating-point operations each) and that
rate as a share of NumPy's float32 matrix multiply on the same machine.
Used by ``minicnn bench conv`` and ``benchmarks/bench_conv.py``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from .. import kernels


def median_time(fn, repeats: int) -> tuple[float, float]:
    """(cold first call, median of ``repeats`` warm calls), in seconds."""
    start = time.perf_counter()
    fn()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm)


def minicnn_ops(impl, x, k, stride, geo):
    n, h, w, _ = x.shape
    kh, kw = k.shape[:2]
    dy = np.ones((n, geo.out_h, geo.out_w, k.shape[3]), dtype=x.dtype)
    return {
        "forward": lambda: impl.conv2d_forward(x, k, stride, stride, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w),
        "grad_input": lambda: impl.conv2d_backward_input(dy, k, h, w, stride, stride, geo.pad_top, geo.pad_left),
        "grad_kernel": lambda: impl.conv2d_backward_kernel(x, dy, kh, kw, stride, stride, geo.pad_top, geo.pad_left),
    }


def tf_ops(x, k, stride, padding, geo):
    import tensorflow as tf
    xt, kt = tf.constant(x), tf.constant(k)
    dy = tf.ones((x.shape[0], geo.out_h, geo.out_w, k.shape[3]), dtype=tf.float32)
    strides, pad = [1, stride, stride, 1], padding.upper()
    return {
        "forward": lambda: tf.nn.conv2d(xt, kt, strides, pad).numpy(),
        "grad_input": lambda: tf.raw_ops.Conv2DBackpropInput(input_sizes=list(x.shape), filter=kt, out_backprop=dy,
                                                             strides=strides, padding=pad).numpy(),
        "grad_kernel": lambda: tf.raw_ops.Conv2DBackpropFilter(input=xt, filter_sizes=list(k.shape), out_backprop=dy,
                                                               strides=strides, padding=pad).numpy(),
    }


def torch_ops(x, k, stride, geo):
    import torch
    import torch.nn.functional as F
    # TensorFlow's 'same' may pad one more pixel at the bottom/right: pad explicitly, convolve unpadded.
    xp = torch.from_numpy(np.ascontiguousarray(np.pad(
        x, ((0, 0), (geo.pad_top, geo.pad_bottom), (geo.pad_left, geo.pad_right), (0, 0))).transpose(0, 3, 1, 2)))
    kt = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
    dy = torch.ones((x.shape[0], k.shape[3], geo.out_h, geo.out_w))
    return {
        "forward": lambda: F.conv2d(xp, kt, stride=stride),
        "grad_input": lambda: torch.nn.grad.conv2d_input(xp.shape, kt, dy, stride=stride),
        "grad_kernel": lambda: torch.nn.grad.conv2d_weight(xp, kt.shape, dy, stride=stride),
    }


def bench_shape(spec, batch: int, repeats: int, engines: list[str], peak: float,
                with_reference: bool | None = None) -> dict:
    """Time one shape. ``spec``: (label, (H, W, C), filters, kernel, stride, padding); ``peak``:
    the sgemm GFLOP/s each result is compared with; the plain-loop ``reference`` runs on
    shapes labelled "small" unless ``with_reference`` says otherwise."""
    label, (h, w, c), filters, ksize, stride, padding = spec
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, h, w, c), dtype=np.float32)
    k = rng.standard_normal((ksize, ksize, c, filters), dtype=np.float32)
    geo = kernels.window_geometry(h, w, (ksize, ksize), (stride, stride), padding)
    flops = 2.0 * batch * geo.out_h * geo.out_w * ksize * ksize * c * filters
    row = {"shape": f"{label}: {batch}x{h}x{w}x{c} -> {filters}, k{ksize} s{stride} {padding}", "gflop": flops / 1e9,
           "ops": {}}
    suites = {}
    for name in ("im2col", "numba", "reference"):
        if name == "reference" and not (label == "small" if with_reference is None else with_reference):
            continue    # plain Python loops: slow on real shapes
        suites[name] = minicnn_ops(kernels.IMPLEMENTATIONS[name], x, k, stride, geo)
    if "tensorflow" in engines:
        suites["tensorflow"] = tf_ops(x, k, stride, padding, geo)
    if "torch" in engines:
        suites["torch"] = torch_ops(x, k, stride, geo)
    for engine, ops in suites.items():
        for op, fn in ops.items():
            cold, warm = median_time(fn, 1 if engine == "reference" else repeats)
            row["ops"].setdefault(op, {})[engine] = {
                "cold_ms": cold * 1e3, "warm_ms": warm * 1e3, "gflops": flops / warm / 1e9,
                "of_matmul": flops / warm / 1e9 / peak}
    return row


def table(row: dict) -> list[str]:
    """A readable table of one ``bench_shape`` row."""
    lines = [f"{row['shape']}  ({row['gflop']:.3f} GFLOP per call)",
             "im2col/it: minicnn's im2col time over this engine's (below 1: minicnn is faster)", "",
             f"{'op':<12} {'engine':<11} {'cold ms':>9} {'warm ms':>9} {'GFLOP/s':>9} {'of sgemm':>9} {'im2col/it':>10}"]
    for op, by_engine in row["ops"].items():
        ours = by_engine["im2col"]["warm_ms"]
        for engine, m in by_engine.items():
            lines.append(f"{op:<12} {engine:<11} {m['cold_ms']:>9.1f} {m['warm_ms']:>9.2f} {m['gflops']:>9.1f} "
                         f"{100 * m['of_matmul']:>8.0f}% {ours / m['warm_ms']:>10.2f}")
    return lines


def plot(row: dict, path: str) -> None:
    """A bar chart of the warm GFLOP/s of each engine and operation."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ops = list(row["ops"])
    engines = list(dict.fromkeys(e for by in row["ops"].values() for e in by))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(engines)
    for k, engine in enumerate(engines):
        values = [row["ops"][op].get(engine, {}).get("gflops", 0) for op in ops]
        bars = ax.bar(np.arange(len(ops)) + k * width, values, width, label=engine)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(np.arange(len(ops)) + 0.4 - width / 2, ops)
    ax.set_ylabel("GFLOP/s (higher is better)")
    ax.set_title(row["shape"], fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
