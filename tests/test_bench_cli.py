"""``minicnn bench conv`` and ``minicnn bench train`` from an installed minicnn: readable tables, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from minicnn import cli


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minicnn", "bench", *args], capture_output=True, text=True,
                          timeout=600)


def test_bench_conv_prints_every_implementation_with_the_machine(tmp_path):
    chart = tmp_path / "conv.png"
    done = _run("conv", "--input", "6x6x2", "--filters", "3", "--kernel", "3", "--batch", "2",
                "--repeats", "1", "--reference", "--peers", "--plot", str(chart))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Machine: ") and "GFLOP/s" in out and "sgemm" in out
    assert "conv: 2x6x6x2 -> 3, k3 s1 same" in out
    for op in ("forward", "grad_input", "grad_kernel"):
        for engine in ("im2col", "numba", "reference"):
            assert any(line.split()[:2] == [op, engine] for line in out.splitlines()), (op, engine)
    assert chart.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, message", [
    (["conv", "--input", "3x3"], "--input must be HxWxC"),
    (["conv", "--input", "0x3x3"], "sizes must be positive"),
    (["conv", "--filters", "0"], "--filters must be positive"),
    (["train", "--rounds", "0"], "--rounds must be positive"),
])
def test_bench_arguments_are_checked(args, message, capsys):
    assert cli.main(["bench", *args, "--blas-as-found"]) == 1
    assert message in capsys.readouterr().err


def test_bench_train_times_a_seed_model_in_a_process_of_its_own():
    done = _run("train", "--model", "kconv", "--peers", "--rounds", "1", "--steps", "1")
    assert done.returncode == 0, done.stderr
    assert "| MNIST kconv | train step (ms) |" in done.stdout
    assert "| MNIST kconv | predict, 32 images a call (images/s) |" in done.stdout
