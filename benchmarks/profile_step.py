"""Where a training step's time goes: per layer, per kernel, and how busy the cores are.

    python benchmarks/profile_step.py                  # CIFAR-10 CNN, batch 32, writes results/profile.*
    python benchmarks/profile_step.py --model kconv --steps 50

Three views of the same steps of ``train_on_batch`` on the fast plan:

* **per layer**: each plan step's forward and backward, and the optimizer,
  timed with ``perf_counter`` around the call (wall time, both cores);
* **per kernel**: cProfile's own time of each function (a NumPy matrix
  product counts in the function that calls it: ``conv2d_forward``'s and
  ``conv2d_backward_*``'s own time is their products; im2col and col2im are
  kernels of their own);
* **the cores**: CPU time of the process (all its threads) over wall time
  times the core count - the share of the machine the step keeps busy. The
  BLAS products run on every core; the Numba kernels on one.

Run with ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` unset (see ``minicnn/bench/machine.py``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

from minicnn.bench import machine  # noqa: E402

MODELS = {"kconv": (28, 28, 1), "cifar_cnn": (32, 32, 3)}


def build(name: str):
    import minicnn
    from minicnn import zoo
    model = {"kconv": zoo.mnist_cnn, "cifar_cnn": zoo.cifar10_cnn}[name](seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=minicnn.optimizers.Adam())
    return model


def per_layer(model, x, y, steps: int) -> dict[str, float]:
    """ms per step spent in each plan step's forward and backward, and in the optimizer."""
    from minicnn import fast
    plan = model._training_plan()
    spent: dict[str, float] = {}

    def timed(label, fn):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
        return run

    for step in plan.steps:
        kind = type(step).__name__
        step.forward = timed(f"{step.layer.name} ({kind}) forward", step.forward)
        step.backward = timed(f"{step.layer.name} ({kind}) backward", step.backward)
        step.backward_preactivation = timed(f"{step.layer.name} ({kind}) backward",
                                            step.backward_preactivation)
    original = fast.apply_optimizer
    fast.apply_optimizer = timed("optimizer (Adam)", original)
    try:
        for _ in range(steps):
            model.train_on_batch(x, y)
    finally:
        fast.apply_optimizer = original
        for step in plan.steps:
            for attr in ("forward", "backward", "backward_preactivation"):
                del step.__dict__[attr]
    return {label: 1000 * t / steps for label, t in spent.items()}


def per_kernel(model, x, y, steps: int, top: int) -> list[tuple[str, float]]:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(steps):
        model.train_on_batch(x, y)
    profile.disable()
    stats = pstats.Stats(profile).stats
    rows = []
    for (path, line, function), (_, _, own, _, _) in stats.items():
        where = Path(path).name if path != "~" else ""
        rows.append((f"{where}:{function}" if where else function, 1000 * own / steps))
    return sorted(rows, key=lambda r: -r[1])[:top]


def cores_busy(model, x, y, steps: int) -> dict[str, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.train_on_batch(x, y)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    cores = os.cpu_count() or 1
    return {"step_ms": 1000 * wall / steps, "cpu_ms_per_step": 1000 * cpu / steps,
            "busy_share": cpu / (wall * cores), "cores": cores}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="cifar_cnn", choices=list(MODELS))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--top", type=int, default=16)
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((args.batch,) + MODELS[args.model], dtype=np.float32)
    y = rng.integers(0, 10, args.batch)
    model = build(args.model)
    for _ in range(5):
        model.train_on_batch(x, y)
    result = {"when": time.strftime("%Y-%m-%d"), "model": args.model, "batch": args.batch, "steps": args.steps,
              "command": "python benchmarks/profile_step.py " + " ".join(argv or sys.argv[1:]),
              "machine": machine.describe(),
              "cores": cores_busy(model, x, y, args.steps),
              "per_layer_ms": per_layer(model, x, y, args.steps),
              "per_kernel_ms": per_kernel(model, x, y, args.steps, args.top)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"profile_{args.model}.json").write_text(json.dumps(result, indent=1))
    c = result["cores"]
    lines = [f"# Profile of a training step: {args.model}, batch {args.batch} ({result['when']})", "",
             f"Machine: {machine.headline(result['machine'])}  ", f"Command: `{result['command']}`", "",
             f"Step: {c['step_ms']:.1f} ms wall, {c['cpu_ms_per_step']:.1f} ms of CPU time over {c['cores']} "
             f"cores: the cores are busy {100 * c['busy_share']:.0f}% of the step.", "",
             "| layer step | ms per step |", "|---|---|"]
    total = sum(result["per_layer_ms"].values())
    lines += [f"| {label} | {ms:.2f} |" for label, ms in result["per_layer_ms"].items()]
    lines += [f"| **total (timed inside the steps)** | **{total:.2f}** |", "",
              "| function (own time; a matrix product counts in its caller) | ms per step |", "|---|---|"]
    lines += [f"| `{name}` | {ms:.2f} |" for name, ms in result["per_kernel_ms"]]
    (out / f"profile_{args.model}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main()
