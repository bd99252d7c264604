"""Training-step time and predict throughput of the seed models: minicnn beside Keras and PyTorch.

Each engine runs in a process of its own (``worker``) and is timed on
request by the parent in interleaved, rotated rounds, so that a slow moment
of the machine hits every engine and no engine shares its cores' thread
pools with another. Used by ``minicnn bench train`` and
``benchmarks/bench_train.py``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

from . import machine, peers

MODELS = {"kconv": ((28, 28, 1), "MNIST kconv"), "cifar_cnn": ((32, 32, 3), "CIFAR-10 CNN_Classifier")}


def shape_and_label(name: str) -> tuple[tuple[int, int, int], str]:
    """``"cifar_cnn"`` -> its input shape and label; ``"cifar_cnn@64"``: the same layers on 64x64 images."""
    base, _, size = name.partition("@")
    shape, label = MODELS[base]
    if size:
        shape = (int(size), int(size), shape[2])
        label = f"{label} at {size}x{size}"
    return shape, label


def build_minicnn(name: str):
    import minicnn
    from minicnn import zoo
    shape, _ = shape_and_label(name)
    model = {"kconv": zoo.mnist_cnn, "cifar_cnn": zoo.cifar10_cnn}[name.partition("@")[0]](
        input_shape=shape, seed=0)
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
            return loss.item()

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
    ``predict`` (one untimed batch, then ``images`` images: images/s),
    ``predict_small N`` (N calls of ``predict`` on ``batch`` images: images/s), ``quit``.
    Engines share no process: a TensorFlow timed in the same process as
    another engine was measured 30 ms a step instead of 22 ms (thread pools fighting).
    """
    shape, _ = shape_and_label(name)
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
        elif command == "predict_small":      # one call of `batch` images, as an application would
            calls = int(arg[0])
            predict(pictures[:batch])
            start = time.perf_counter()
            for _ in range(calls):
                predict(pictures[:batch])
            reply = {"ips": calls * batch / (time.perf_counter() - start)}
        elif command == "quit":
            break
        print(json.dumps(reply), flush=True)


class Worker:
    """The parent's handle on one engine's process."""

    def __init__(self, engine: str, name: str, batch: int, images: int, quick: bool, env: dict) -> None:
        if engine != "minicnn":
            env = {**env, "MINICNN_MALLOC": "default"}   # minicnn's malloc settings stay out of the peers
        self.process = subprocess.Popen(
            [sys.executable, "-m", "minicnn.bench.train", "--worker", engine, name, str(batch), str(images)]
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


def time_engines(workers: dict[str, Worker], steps: int, rounds: int, warmup: int, predict: bool = True) -> dict:
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
    small = {name: [] for name in workers}
    for r in range(max(rounds // 2, 1) if predict else 0):
        for name in _rotated(list(workers), r):
            rates[name].append(workers[name].ask("predict")["ips"])
            small[name].append(workers[name].ask(f"predict_small {max(steps, 2)}")["ips"])
    median = lambda table: {name: statistics.median(v) for name, v in table.items() if v}  # noqa: E731
    return {"train_ms": median(per_step), "faults_per_step": median(faults), "train_ms_rounds": per_step,
            "predict_ips": median(rates), "predict_small_ips": median(small)}


def measure(models: list[str], wanted_peers: list[str], batch: int = 32, steps: int = 20, rounds: int = 7,
            warmup: int = 5, images: int = 1024, quick: bool = False, blas_as_found: bool = False,
            threads: int | None = None, predict: bool = True) -> dict:
    """Time the seed models on minicnn and the installed peers, each engine in its own process
    (``threads``: the thread count every engine's pools get; default: theirs)."""
    env = machine.clean_env(keep_blas_overrides=blas_as_found)
    if threads is not None:
        env.update({name: str(threads) for name in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS",
                                                     "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                                                     "TF_NUM_INTEROP_THREADS")})
    results = {"when": time.strftime("%Y-%m-%d"), "versions": peers.versions(), "batch": batch, "steps": steps,
               "rounds": rounds, "predict": {"images": images, "batch": PREDICT_BATCH}, "models": {}}
    engines = ["minicnn"] + [p for p in wanted_peers
                             if (p == "keras" and peers.keras_available()) or (p == "torch" and peers.torch_available())]
    for name in models:
        workers = {engine: Worker(engine, name, batch, images, quick, env) for engine in engines}
        try:
            results.setdefault("machine", workers["minicnn"].hello["machine"])
            results["models"][name] = time_engines(workers, steps, rounds, warmup, predict)
        finally:
            for w in workers.values():
                w.close()
    return results


def table(results: dict) -> list[str]:
    """The Markdown table of a ``measure`` result (and of memory figures, when present)."""
    engines = [e for e in ("minicnn", "keras", "torch") if any(e in r["train_ms"] for r in results["models"].values())]
    lines = ["| model | metric | " + " | ".join(engines) + " | minicnn/keras | minicnn/torch |",
             "|---|---|" + "---|" * len(engines) + "---|---|"]
    for name, r in results["models"].items():
        for metric, key, fmt in (("train step (ms)", "train_ms", "{:.1f}"),
                                 (f"predict, {results['predict']['images']} images (images/s)", "predict_ips", "{:.0f}"),
                                 (f"predict, {results['batch']} images a call (images/s)", "predict_small_ips", "{:.0f}"),
                                 ("page faults per train step", "faults_per_step", "{:.0f}"),
                                 ("peak RSS of a 200-step fit (MiB)", "peak_mib", "{:.0f}"),
                                 ("RSS before that fit (MiB)", "before_fit_mib", "{:.0f}")):
            row = r.get(key, {})
            if not row:
                continue
            # a ratio of page-fault counts near 0 says nothing; the counts are shown as they are
            ratio = lambda peer: f"{row['minicnn'] / row[peer]:.2f}" if peer in row and key != "faults_per_step" \
                else "-"  # noqa: E731
            lines.append(f"| {shape_and_label(name)[1]} | {metric} | " + " | ".join(
                fmt.format(row[e]) if e in row else "-" for e in engines) + f" | {ratio('keras')} | {ratio('torch')} |")
    return lines


def main(argv=None) -> None:
    """``python -m minicnn.bench.train --worker ENGINE MODEL BATCH IMAGES``: one engine's process."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=4, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    worker(args.worker[0], args.worker[1], int(args.worker[2]), int(args.worker[3]), args.quick)


if __name__ == "__main__":
    main()
