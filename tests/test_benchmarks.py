"""The benchmark scripts run (tiny shapes, two repetitions) so that they never rot.

No timing is asserted: speed lives in the benchmarks' own output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, out: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_bench_conv_quick(tmp_path):
    run("bench_conv.py", tmp_path)
    results = json.loads((tmp_path / "conv.json").read_text())
    assert results["matmul_gflops"] > 0
    row = results["rows"][0]
    for op in ("forward", "grad_input", "grad_kernel"):
        assert {"im2col", "numba", "reference"} <= set(row["ops"][op])
    assert "| forward | im2col |" in (tmp_path / "conv.md").read_text()


def test_bench_train_quick(tmp_path):
    run("bench_train.py", tmp_path)
    results = json.loads((tmp_path / "train.json").read_text())
    for name in ("kconv", "cifar_cnn"):
        assert results["models"][name]["train_ms"]["minicnn"] > 0
        assert results["models"][name]["predict_ips"]["minicnn"] > 0
    table = (tmp_path / "train.md").read_text()
    assert "| MNIST kconv | train step (ms) |" in table
    assert (tmp_path / "train.png").read_bytes()[:4] == b"\x89PNG"


def test_bench_mobilenet_quick(tmp_path):
    done = run("bench_mobilenet.py", tmp_path)
    results = json.loads((tmp_path / "mobilenet.json").read_text())
    assert results["median_ms"]["minicnn"] > 0
    assert "| minicnn |" in (tmp_path / "mobilenet.md").read_text()
    if "keras" in results["median_ms"]:
        agree = float(done.stdout.split("max |Keras - minicnn| = ")[1].split()[0])
        assert agree < 1e-4


def test_bench_scaling_quick(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_scaling.py"), "--quick", "--peers",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "scaling.json").read_text())
    assert set(results["batch"]) == {"1", "4"} and results["batch"]["4"]["minicnn"] > 0
    assert results["machine"]["sgemm_gflops"] > 0
    assert (tmp_path / "scaling.png").read_bytes()[:4] == b"\x89PNG"


def test_bench_fit_on_a_small_image_folder(tmp_path):
    """The real-image fit benchmark on a tiny CIFAR-shaped folder the test writes."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("test", 2)):
        for c in range(10):
            folder = tmp_path / "images" / split / f"class{c}"
            folder.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_fit.py"), "--images",
                           str(tmp_path / "images"), "--engines", "minicnn", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "fit.json").read_text())
    assert results["runs"]["minicnn"]["train_images"] == 40 and results["runs"]["minicnn"]["fit_s"] > 0
    assert "| minicnn | 40 (10% held out) |" in (tmp_path / "out" / "fit.md").read_text()


def test_bench_mobilenet_train_quick(tmp_path):
    run("bench_mobilenet_train.py", tmp_path)
    results = json.loads((tmp_path / "mobilenet_train.json").read_text())
    assert results["runs"]["minicnn"]["ms"] > 0
