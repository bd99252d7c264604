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
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import machine  # noqa: E402
import peers  # noqa: E402

MODELS = {"kconv": ((28, 28, 1), "MNIST kconv"), "cifar_cnn": ((32, 32, 3), "CIFAR-10 CNN_Classifier")}


def build_minicnn(name: str):
    import minicnn
    from minicnn import zoo
    model = {"kconv": zoo.mnist_cnn, "cifar_cnn": zoo.cifar10_cnn}[name](seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=minicnn.optimizers.Adam())
    return model


def make_engines(name: str, wanted: list[str]) -> dict:
    """``{engine: (train_step(x, y), predict(x))}`` for every available engine."""
    model = build_minicnn(name)
    engines = {"minicnn": (lambda x, y: model.train_on_batch(x, y),
                           lambda x: model.predict(x, batch_size=128, verbose=0))}
    if "keras" in wanted and peers.keras_available():
        peer = peers.keras_model(model)
        engines["keras"] = (lambda x, y: peer.train_on_batch(x, y),
                            lambda x: peer.predict(x, batch_size=128, verbose=0))
    if "torch" in wanted and peers.torch_available():
        import torch
        net, make_optimizer = peers.torch_model(model)
        optimizer, criterion = make_optimizer(), torch.nn.CrossEntropyLoss()

        def torch_step(x, y):
            net.train()
            optimizer.zero_grad()
            loss = criterion(net(torch.from_numpy(peers.to_nchw(x))), torch.from_numpy(y))
            loss.backward()
            optimizer.step()
            return float(loss)

        def torch_predict(x):
            net.eval()
            with torch.no_grad():
                return np.concatenate([net(torch.from_numpy(peers.to_nchw(x[i:i + 128]))).numpy()
                                       for i in range(0, len(x), 128)])
        engines["torch"] = (torch_step, torch_predict)
    return engines


def _rotated(names: list[str], r: int) -> list[str]:
    """The engines in round r's order: rotated every round, so that no engine
    always runs right after the same one.

    An engine's thread pool can keep spinning on the cores after its last
    step (measured on the MNIST model, first step after 5 steps of another
    engine, then the second: minicnn after PyTorch 24.6 ms, then 16.9; Keras
    after PyTorch 19.5, then 15.2). So each engine also takes one untimed
    step after the switch, and no engine always pays for the same neighbour.
    """
    k = r % len(names)
    return names[k:] + names[:k]


PREDICT_BATCH = 128


def worker(engine: str, name: str, batch: int, images: int, quick: bool) -> None:
    """One engine in a process of its own, timed on request: one JSON line per command.

    Commands on stdin: ``warm N`` (N untimed steps), ``train N`` (one untimed
    step, then N timed ones: ms per step and minor page faults per step),
    ``predict`` (one untimed batch, then ``images`` images: images/s), ``quit``.
    Engines share no process: a TensorFlow timed in the same process as
    another engine was measured 30 ms a step instead of 22 ms (thread pools fighting).
    """
    import machine
    shape = MODELS[name][0]
    step, predict = make_engines(name, [engine])[engine]
    rng = np.random.default_rng(0)
    x, y = rng.random((batch,) + shape, dtype=np.float32), rng.integers(0, 10, batch)
    pictures = np.random.default_rng(1).random((images,) + shape, dtype=np.float32)
    print(json.dumps({"ready": engine, "machine": machine.describe(quick) if engine == "minicnn" else None}),
          flush=True)
    for line in sys.stdin:
        command, *arg = line.split()
        reply: dict = {}
        if command == "warm":
            for _ in range(int(arg[0])):
                step(x, y)
        elif command == "train":
            step(x, y)  # untimed: the previous engine's threads may still be spinning on the cores
            steps = int(arg[0])
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            for _ in range(steps):
                step(x, y)
            reply = {"ms": (time.perf_counter() - start) / steps * 1000,
                     "faults": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before) / steps}
        elif command == "predict":
            predict(pictures[:PREDICT_BATCH])   # untimed, as in train
            start = time.perf_counter()
            predict(pictures)
            reply = {"ips": images / (time.perf_counter() - start)}
        elif command == "quit":
            break
        print(json.dumps(reply), flush=True)


class Worker:
    """The parent's handle on one engine's process."""

    def __init__(self, engine: str, name: str, batch: int, images: int, quick: bool, env: dict) -> None:
        if engine != "minicnn":
            env = {**env, "MINICNN_MALLOC": "default"}   # minicnn's malloc settings stay out of the peers
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", engine, name, str(batch), str(images)]
            + (["--quick"] if quick else []), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.hello = self._read()

    def _read(self) -> dict:
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"engine process {self.process.args} ended (exit code {self.process.wait()})")

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)


def time_engines(workers: dict[str, Worker], steps: int, rounds: int, warmup: int) -> dict:
    """Interleaved rounds over the engines' processes: medians of train ms, faults and predict images/s."""
    for w in workers.values():
        w.ask(f"warm {warmup}")
    per_step = {name: [] for name in workers}
    faults = {name: [] for name in workers}
    rates = {name: [] for name in workers}
    for r in range(rounds):
        for name in _rotated(list(workers), r):
            reply = workers[name].ask(f"train {steps}")
            per_step[name].append(reply["ms"])
            faults[name].append(reply["faults"])
    for r in range(max(rounds // 2, 1)):
        for name in _rotated(list(workers), r):
            rates[name].append(workers[name].ask("predict")["ips"])
    median = lambda table: {name: statistics.median(v) for name, v in table.items()}  # noqa: E731
    return {"train_ms": median(per_step), "faults_per_step": median(faults), "train_ms_rounds": per_step,
            "predict_ips": median(rates)}


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


def child_startup(name: str) -> None:
    """Run in a fresh process: import time and first-step time (Numba compiles here)."""
    start = time.perf_counter()
    import minicnn  # noqa: F401
    imported = time.perf_counter()
    model = build_minicnn(name)
    shape = MODELS[name][0]
    x = np.random.default_rng(0).random((32,) + shape, dtype=np.float32)
    y = np.zeros(32, dtype=np.int64)
    first = time.perf_counter()
    model.train_on_batch(x, y)
    done = time.perf_counter()
    print(json.dumps({"import_s": imported - start, "first_step_s": done - first}))


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
    engines = [e for e in ("minicnn", "keras", "torch") if any(e in r["train_ms"] for r in results["models"].values())]
    lines += ["| model | metric | " + " | ".join(engines) + " | minicnn/keras | minicnn/torch |",
              "|---|---|" + "---|" * len(engines) + "---|---|"]
    for name, r in results["models"].items():
        for metric, key, fmt in (("train step (ms)", "train_ms", "{:.1f}"), ("predict (images/s)", "predict_ips", "{:.0f}"),
                                 ("page faults per train step", "faults_per_step", "{:.0f}"),
                                 ("peak RSS of a 200-step fit (MiB)", "peak_mib", "{:.0f}"),
                                 ("RSS before that fit (MiB)", "before_fit_mib", "{:.0f}")):
            row = r.get(key, {})
            if not row:
                continue
            # a ratio of page-fault counts near 0 says nothing; the counts are shown as they are
            ratio = lambda peer: f"{row['minicnn'] / row[peer]:.2f}" if peer in row and key != "faults_per_step" \
                else "-"  # noqa: E731
            lines.append(f"| {MODELS[name][1]} | {metric} | " + " | ".join(
                fmt.format(row[e]) if e in row else "-" for e in engines) + f" | {ratio('keras')} | {ratio('torch')} |")
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
    parser.add_argument("--worker", nargs=4, metavar=("ENGINE", "MODEL", "BATCH", "IMAGES"), help=argparse.SUPPRESS)
    parser.add_argument("--child-memory", nargs=3, metavar=("ENGINE", "MODEL", "STEPS"), help=argparse.SUPPRESS)
    parser.add_argument("--child-startup", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], args.worker[1], int(args.worker[2]), int(args.worker[3]), args.quick)
    if args.child_memory:
        return child_memory(args.child_memory[0], args.child_memory[1], int(args.child_memory[2]))
    if args.child_startup:
        return child_startup(args.child_startup)
    if args.quick:
        args.steps, args.rounds, args.warmup, args.no_memory, args.no_startup = 2, 1, 1, True, True
        args.images = 256

    env = machine.clean_env(keep_blas_overrides=args.blas_as_found)
    results = {"when": time.strftime("%Y-%m-%d"),
               "command": "python benchmarks/bench_train.py" + (" --quick" if args.quick else ""),
               "versions": peers.versions(), "batch": args.batch, "steps": args.steps, "rounds": args.rounds,
               "predict": {"images": args.images, "batch": PREDICT_BATCH}, "models": {}}
    engines = ["minicnn"] + [p for p in args.peers
                             if (p == "keras" and peers.keras_available()) or (p == "torch" and peers.torch_available())]
    for name in args.models:
        workers = {engine: Worker(engine, name, args.batch, args.images, args.quick, env) for engine in engines}
        try:
            results.setdefault("machine", workers["minicnn"].hello["machine"])
            record = time_engines(workers, args.steps, args.rounds, args.warmup)
        finally:
            for w in workers.values():
                w.close()
        if not args.no_memory:
            memory = {engine: run_child(["--child-memory", engine, name, "200"], env) for engine in engines}
            record["peak_mib"] = {engine: m["peak_mib"] for engine, m in memory.items()}
            record["before_fit_mib"] = {engine: m["before_mib"] for engine, m in memory.items()}
        results["models"][name] = record
        print(name, json.dumps(record, indent=1), flush=True)
    if not args.no_startup:
        with tempfile.TemporaryDirectory() as cache:
            cold = run_child(["--child-startup", "cifar_cnn"], {**env, "NUMBA_CACHE_DIR": cache})
            warm = run_child(["--child-startup", "cifar_cnn"], {**env, "NUMBA_CACHE_DIR": cache})
        results["startup"] = {"cold": cold, "warm": warm}
        print("startup", results["startup"])
    write_report(results, Path(args.out))
    print((Path(args.out) / "train.md").read_text())
    return results


if __name__ == "__main__":
    main()
