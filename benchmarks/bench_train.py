"""Training-step time, predict throughput and peak memory: minicnn vs Keras vs PyTorch.

    python benchmarks/bench_train.py                 # full run, writes benchmarks/results/train.*
    python benchmarks/bench_train.py --quick --out /tmp/bench    # seconds; what CI runs

For each seed model (``kconv`` for MNIST, ``cifar_cnn`` for CIFAR-10), batch 32:

* **train step**: ``train_on_batch`` (Keras), ``train_on_batch`` (minicnn), and
  zero_grad/forward/backward/step (PyTorch), each engine in a process of its
  own (``worker``), in *interleaved* rounds - each round times ``--steps``
  steps of every engine in turn, so that a slow moment of the machine hits
  all of them - after warm-up steps; the median over rounds is reported. The
  order rotates every round and each engine takes one untimed step first
  (see ``_rotated``).
* **predict**: images per second of ``predict`` on 1024 images, batch 128.
* **page faults**: minor page faults per training step (``ru_minflt``) of
  each engine in the same rounds - memory the OS had to map and zero afresh
  (see ``minicnn/_memory.py``).
* **peak memory**: each engine runs a 200-step ``fit`` in a fresh child
  process; the peak resident set (``ru_maxrss``) is reported, and the same
  figure before ``fit`` (imports and model), so the two can be told apart.
* **startup**: a fresh process, empty Numba cache (``NUMBA_CACHE_DIR`` set to
  a new folder): seconds to import minicnn and seconds of the first training
  step (JIT compilation); then the same with the cache warm.

The timed processes run without ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE``
(see ``machine.py``; ``--blas-as-found`` keeps them), and the result records
the CPU, its vector extensions, NumPy's BLAS kernel and its sgemm rate.

Peers run only when installed (``pip install ".[bench]"``; PyTorch's CPU
build with ``pip install torch==2.13.0``). Ratios are minicnn / peer: below
1 means minicnn is faster (for time) - for throughput the ratio is images/s
of minicnn over the peer's, above 1 meaning faster.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402


from minicnn.bench import machine, peers  # noqa: E402
from minicnn.bench.train import MODELS, build_minicnn, make_engines, measure, table  # noqa: E402


# ------------------------------------------------------------------ child processes
def peak_rss_mib() -> float:
    """Peak resident set of this process so far, MiB.

    Linux's ``VmHWM`` belongs to the process image, so it starts afresh at
    ``exec``; ``ru_maxrss`` does not (a child forked from a large parent
    reports the parent's peak), so it is only the fallback elsewhere.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_memory(engine: str, name: str, steps: int) -> None:
    """Run in a fresh process: peak RSS before and after a ``steps``-step fit."""
    shape = MODELS[name][0]
    rng = np.random.default_rng(0)
    x = rng.random((steps * 32,) + shape, dtype=np.float32)
    y = rng.integers(0, 10, len(x))
    if engine == "minicnn":
        model = build_minicnn(name)
        before = peak_rss_mib()
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    elif engine == "keras":
        model = peers.keras_model(build_minicnn(name))
        before = peak_rss_mib()
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    else:
        step = make_engines(name, [engine])[engine][0]
        before = peak_rss_mib()
        for i in range(steps):
            step(x[i * 32:(i + 1) * 32], y[i * 32:(i + 1) * 32])
    print(json.dumps({"before_mib": before, "peak_mib": peak_rss_mib()}))


STARTUP_SCRIPT = """
import json, time
start = time.perf_counter()
import numpy as np
import minicnn
from minicnn.bench.train import build_minicnn, MODELS
imported = time.perf_counter()
model = build_minicnn({name!r})
x = np.random.default_rng(0).random((32,) + MODELS[{name!r}][0], dtype=np.float32)
first = time.perf_counter()
model.train_on_batch(x, np.zeros(32, dtype=np.int64))
print(json.dumps({{"import_s": imported - start, "first_step_s": time.perf_counter() - first}}))
"""


def child_startup(name: str, env: dict) -> dict:
    """A fresh interpreter: seconds to import minicnn, and of the first training step (Numba compiles here)."""
    out = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT.format(name=name)], capture_output=True,
                         text=True, env=env, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"startup child failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_child(args: list[str], env: dict) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], capture_output=True,
                         text=True, env=env, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ report
def write_report(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.json").write_text(json.dumps(results, indent=2))
    lines = [f"# Training benchmark ({results['when']})", "",
             f"Machine: {machine.headline(results['machine'])}  ",
             f"Command: `{results['command']}`  ", f"Versions: {results['versions']}  ",
             f"Batch {results['batch']}, each engine in its own process, {results['rounds']} interleaved "
             f"rounds of {results['steps']} steps, medians; predict: {results['predict']['images']} images "
             f"in batches of {results['predict']['batch']}.", ""]
    lines += table(results)
    lines += ["", "Train step per round (ms, fastest - slowest of the rounds; the machine's noise):", ""]
    for name, r in results["models"].items():
        spread = ", ".join(f"{e} {min(v):.1f} - {max(v):.1f}" for e, v in r.get("train_ms_rounds", {}).items())
        lines.append(f"* {MODELS[name][1]}: {spread}")
    if results.get("startup"):
        s = results["startup"]
        lines += ["", "Startup (fresh process, CIFAR model): import "
                  f"{s['cold']['import_s']:.1f} s; first training step {s['cold']['first_step_s']:.1f} s with an empty "
                  f"Numba cache, {s['warm']['first_step_s']:.2f} s with a warm one."]
    (out / "train.md").write_text("\n".join(lines) + "\n")
    engines = [e for e in ("minicnn", "keras", "torch") if any(e in r["train_ms"] for r in results["models"].values())]
    _chart(results, out / "train.png", engines)


def _chart(results: dict, path: Path, engines: list[str]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(results["models"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, key, title in zip(axes, ("train_ms", "predict_ips"), ("train step, ms (lower is better)",
                                                                  "predict, images/s (higher is better)")):
        width = 0.8 / len(engines)
        for k, engine in enumerate(engines):
            values = [results["models"][n][key].get(engine, 0) for n in names]
            bars = ax.bar(np.arange(len(names)) + k * width, values, width, label=engine)
            ax.bar_label(bars, fmt="%.0f", fontsize=7)
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, [MODELS[n][1] for n in names], fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--peers", nargs="*", default=["keras", "torch"], choices=["keras", "torch"])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per engine per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--no-memory", action="store_true", help="skip the 200-step fit children")
    parser.add_argument("--no-startup", action="store_true", help="skip the cold/warm first-step children")
    parser.add_argument("--quick", action="store_true", help="tiny run for CI: 2 steps, 1 round, no children")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--images", type=int, default=1024, help="images per timed predict")
    parser.add_argument("--blas-as-found", action="store_true",
                        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in the timed processes (see machine.py)")
    parser.add_argument("--child-memory", nargs=3, metavar=("ENGINE", "MODEL", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_memory:
        return child_memory(args.child_memory[0], args.child_memory[1], int(args.child_memory[2]))
    if args.quick:
        args.steps, args.rounds, args.warmup, args.no_memory, args.no_startup = 2, 1, 1, True, True
        args.images = 256

    env = machine.clean_env(keep_blas_overrides=args.blas_as_found)
    results = measure(args.models, args.peers, args.batch, args.steps, args.rounds, args.warmup, args.images,
                      args.quick, args.blas_as_found)
    results["command"] = "python benchmarks/bench_train.py" + (" --quick" if args.quick else "")
    engines = list(next(iter(results["models"].values()))["train_ms"])
    for name, record in results["models"].items():
        if not args.no_memory:
            memory = {engine: run_child(["--child-memory", engine, name, "200"], env) for engine in engines}
            record["peak_mib"] = {engine: m["peak_mib"] for engine, m in memory.items()}
            record["before_fit_mib"] = {engine: m["before_mib"] for engine, m in memory.items()}
        print(name, json.dumps(record, indent=1), flush=True)
    if not args.no_startup:
        with tempfile.TemporaryDirectory() as cache:
            cold = child_startup("cifar_cnn", {**env, "NUMBA_CACHE_DIR": cache})
            warm = child_startup("cifar_cnn", {**env, "NUMBA_CACHE_DIR": cache})
        results["startup"] = {"cold": cold, "warm": warm}
        print("startup", results["startup"])
    write_report(results, Path(args.out))
    print((Path(args.out) / "train.md").read_text())
    return results


if __name__ == "__main__":
    main()
