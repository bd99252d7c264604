"""MobileNetV2 training steps at 96x96: minicnn beside Keras, each in a process of its own.

    python benchmarks/bench_mobilenet_train.py              # alpha 1.0, batch 16, writes results/mobilenet_train.*
    python benchmarks/bench_mobilenet_train.py --quick      # alpha 0.35, batch 2 (CI)

Both engines start from the same weights (minicnn's, written to a Keras
weights file that the Keras process loads) and run ``train_on_batch`` with
Adam on the same batch (10 classes). Each engine runs in a fresh process
without the machine's BLAS overrides (see ``minicnn/bench/machine.py``),
one after the other: warm-up steps, then ``--rounds`` rounds of ``--steps``
timed steps; the median round is reported.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import json, statistics, sys, time
import numpy as np
engine, weights, alpha, batch, steps, rounds = sys.argv[1], sys.argv[2], float(sys.argv[3]), *map(int, sys.argv[4:7])
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (batch, 96, 96, 3)).astype(np.float32)
y = rng.integers(0, 10, batch)
if engine == "minicnn":
    import minicnn
    from minicnn.applications import MobileNetV2
    from minicnn.io import load_keras_weights
    model = MobileNetV2(input_shape=(96, 96, 3), alpha=alpha, weights=None, classes=10)
    load_keras_weights(model, weights)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=minicnn.optimizers.Adam())
else:
    import keras
    model = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=alpha, weights=None, classes=10)
    model.load_weights(weights)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam())
for _ in range(3):
    model.train_on_batch(x, y)
times = []
for _ in range(rounds):
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    times.append((time.perf_counter() - start) / steps * 1000)
from minicnn.bench import machine
print(json.dumps({"engine": engine, "ms": statistics.median(times), "rounds_ms": times,
                  "machine": machine.describe() if engine == "minicnn" else None}))
"""


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    from minicnn.applications import MobileNetV2
    from minicnn.bench import machine, peers
    from minicnn.io import save_keras_weights
    alpha, batch, steps, rounds = (0.35, 2, 1, 1) if args.quick else (1.0, args.batch, args.steps, args.rounds)
    engines = ["minicnn"] + (["keras"] if peers.keras_available() else [])
    env = machine.clean_env()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "mobilenet.weights.h5"
        save_keras_weights(MobileNetV2(input_shape=(96, 96, 3), alpha=alpha, weights=None, classes=10, seed=0),
                           weights)
        for engine in engines:
            done = subprocess.run([sys.executable, "-c", CHILD, engine, str(weights), str(alpha), str(batch),
                                   str(steps), str(rounds)], capture_output=True, text=True, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"{engine} failed:\n{done.stderr[-3000:]}")
            runs[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    info = runs["minicnn"].pop("machine")      # described in the timed process: its BLAS, its env
    runs.get("keras", {}).pop("machine", None)
    results = {"when": time.strftime("%Y-%m-%d"), "machine": info, "alpha": alpha, "size": 96, "batch": batch,
               "steps": steps, "rounds": rounds, "versions": peers.versions(), "runs": runs,
               "command": "python benchmarks/bench_mobilenet_train.py" + (" --quick" if args.quick else "")}
    lines = [f"# MobileNetV2 training step, 96x96, alpha {alpha}, batch {batch} ({results['when']})", "",
             f"Machine: {machine.headline(info)}  ", f"Command: `{results['command']}`", "",
             "| engine | ms per step (median round) | rounds |", "|---|---|---|"]
    lines += [f"| {e} | {r['ms']:.1f} | {', '.join(f'{v:.0f}' for v in r['rounds_ms'])} |" for e, r in runs.items()]
    if "keras" in runs:
        lines += ["", f"minicnn / Keras: **{runs['minicnn']['ms'] / runs['keras']['ms']:.2f}** (lower is faster)"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mobilenet_train.json").write_text(json.dumps(results, indent=1))
    (out / "mobilenet_train.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
