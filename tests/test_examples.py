"""Every example script runs end to end with tiny settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_runs(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), "--epochs", "1",
                          "--limit", "256", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Test accuracy:" in out.stdout and "Confusion matrix" in out.stdout
    for name in ("weights.npz", "training_curves.png", "conv1_filters.png", "conv1_feature_maps.png"):
        assert (tmp_path / name).stat().st_size > 0
