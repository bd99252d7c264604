"""How a training step's cost grows with the batch, the image size and the threads: minicnn beside the peers.

    python benchmarks/bench_scaling.py              # writes benchmarks/results/scaling.{json,md,png}
    python benchmarks/bench_scaling.py --quick --out /tmp/s

The seed CIFAR-10 model (``zoo.cifar10_cnn``; at 64 and 128 pixels the same
layers on larger images), one training step, each engine in its own process
(``minicnn.bench.train``), medians of interleaved rounds:

* batch 1, 32, 128, 512 (32x32 images, the machine's threads);
* images 32, 64, 128 pixels (batch 32);
* 1 and 2 threads for every engine's pools (batch 32, 32x32).

Reported per image (ms per step / batch), so that a flat line means linear cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

from minicnn.bench import machine  # noqa: E402
from minicnn.bench.train import measure  # noqa: E402


def run(args) -> dict:
    quick = args.quick
    batches = [1, 4] if quick else [1, 32, 128, 512]
    sizes = [32] if quick else [32, 64, 128]
    threads = [1] if quick else [1, 2]
    rounds, steps = (1, 1) if quick else (args.rounds, args.steps)

    def one(**kw) -> dict:
        batch = kw.pop("batch", 32)
        # PyTorch refuses a training step of one image through BatchNorm1d (it needs more than one
        # value per channel for the batch statistics); minicnn and Keras take it (variance 0).
        wanted = [p for p in args.peers if not (batch == 1 and p == "torch")]
        result = measure([kw.pop("model", "cifar_cnn")], wanted, batch=batch, rounds=rounds,
                         steps=max(1, steps * 32 // max(batch, 32)) if batch > 32 else steps,
                         warmup=1 if quick else 3, quick=quick, predict=False, **kw)
        return result

    results = {"when": time.strftime("%Y-%m-%d"), "command": "python benchmarks/bench_scaling.py" +
               (" --quick" if quick else ""), "batch": {}, "image": {}, "threads": {}}
    for b in batches:
        r = one(batch=b)
        results.setdefault("machine", r["machine"])
        results["batch"][b] = {e: ms / b for e, ms in r["models"]["cifar_cnn"]["train_ms"].items()}
        print("batch", b, results["batch"][b], flush=True)
    for size in sizes:
        r = one(model=f"cifar_cnn@{size}")
        results["image"][size] = {e: ms / 32 for e, ms in next(iter(r["models"].values()))["train_ms"].items()}
        print("image", size, results["image"][size], flush=True)
    for t in threads:
        r = one(threads=t)
        results["threads"][t] = {e: ms / 32 for e, ms in r["models"]["cifar_cnn"]["train_ms"].items()}
        print("threads", t, results["threads"][t], flush=True)
    return results


def report(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(results, indent=1))
    lines = [f"# How the training step scales ({results['when']})", "",
             f"Machine: {machine.headline(results['machine'])}  ", f"Command: `{results['command']}`", "",
             "Milliseconds per image of one training step of the seed CIFAR-10 model (lower is better).", ""]
    for key, title in (("batch", "batch size (32x32 images)"), ("image", "image size in pixels (batch 32)"),
                       ("threads", "threads per engine (batch 32, 32x32)")):
        engines = list(dict.fromkeys(e for v in results[key].values() for e in v))
        lines += [f"| {title} | " + " | ".join(engines) + " |", "|---|" + "---|" * len(engines)]
        lines += [f"| {k} | " + " | ".join(f"{v[e]:.3f}" if e in v else "-" for e in engines) + " |"
                  for k, v in results[key].items()]
        lines.append("")
    lines.append("PyTorch is missing at batch 1: it refuses a training step of one image through "
                 "BatchNorm1d (the batch statistics need more than one value per channel).")
    (out / "scaling.md").write_text("\n".join(lines) + "\n")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, (key, xlabel) in zip(axes, (("batch", "batch size"), ("image", "image side (pixels)"),
                                        ("threads", "threads"))):
        xs = [int(k) for k in results[key]]
        for engine in dict.fromkeys(e for v in results[key].values() for e in v):
            points = [(x, results[key][k][engine]) for x, k in zip(xs, results[key]) if engine in results[key][k]]
            ax.plot(*zip(*points), marker="o", label=engine)
        ax.set_xscale("log", base=2) if key != "threads" else ax.set_xticks(xs)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("ms per image (train step)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Seed CIFAR-10 model, one training step - {results['machine']['model']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "scaling.png", dpi=90)
    plt.close(fig)
    print("\n".join(lines))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peers", nargs="*", default=["keras", "torch"], choices=["keras", "torch"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="tiny run for CI")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    results = run(args)
    report(results, Path(args.out))
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
