"""The ``minicnn`` console script."""

from __future__ import annotations

import subprocess
import sys

import pytest

import minicnn
from minicnn.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"minicnn {minicnn.__version__}"


@pytest.mark.parametrize("name,total", [("mlp", "65,560"), ("kconv", "279,914"), ("cifar_cnn", "592,554")])
def test_summary_of_seed_models(capsys, name, total):
    assert main(["summary", name]) == 0
    assert f"Total params: {total}" in capsys.readouterr().out


def test_python_dash_m_runs():
    out = subprocess.run([sys.executable, "-m", "minicnn", "--version"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("minicnn ")


def test_unknown_model_is_an_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["summary", "resnet"])
    assert exit_info.value.code == 2
