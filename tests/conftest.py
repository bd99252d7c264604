"""Shared fixtures: float64 mode for gradient checks, fresh layer names, hypothesis profiles."""

from __future__ import annotations

import os

# Compare against TensorFlow's reference CPU kernels, not its oneDNN ones: with
# oneDNN on (TF 2.21 here), tf.nn.conv2d on a 2x2 input with kernel (1, 2),
# strides (1, 3), 'valid' returns 0 for the second output row; the correct
# value (and TF's own result with oneDNN off) is nonzero. Found by the live
# tier; pinned in test_tf_live.py::test_stride_larger_than_input. This must be
# set before anything imports TensorFlow.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import minicnn  # noqa: E402

# "ci" is deterministic so that a red build can be reproduced; "dev" explores more.
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _fresh_session():
    """Every test starts with fresh names (conv2d, conv2d_1...) and default settings."""
    minicnn.clear_session()
    minicnn.set_seed(1234)
    with minicnn.config.using(backend="im2col", floatx="float32"):
        yield


@pytest.fixture
def float64():
    """Build weights in float64 (for finite-difference checks)."""
    with minicnn.config.using(floatx="float64"):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------------------
# CI must really run the live TensorFlow tier (tests marked tf_live): with
# MINICNN_REQUIRE_TF=1 (set by .ci/run) a session in which TensorFlow cannot be
# imported, or in which any tf_live test was skipped, fails.
_REQUIRE_TF = os.environ.get("MINICNN_REQUIRE_TF") == "1"
_live_counts = {"passed": 0, "skipped": 0}


def pytest_sessionstart(session):
    if _REQUIRE_TF:
        try:
            import tensorflow  # noqa: F401
        except Exception as exc:  # pragma: no cover - only when CI is broken
            pytest.exit(f"MINICNN_REQUIRE_TF=1 but TensorFlow cannot be imported: {exc}", returncode=3)


def pytest_runtest_logreport(report):
    if "tf_live" in report.keywords and report.when in ("setup", "call"):
        if report.skipped:
            _live_counts["skipped"] += 1
        elif report.when == "call" and report.passed:
            _live_counts["passed"] += 1


def pytest_collectreport(report):
    # pytest.importorskip at module level skips the whole file at collection.
    if report.skipped and "tf_live" in str(report.nodeid):
        _live_counts["skipped"] += 1


def pytest_sessionfinish(session, exitstatus):
    if _REQUIRE_TF and (_live_counts["skipped"] or (not _live_counts["passed"]
                                                     and session.testscollected)):
        print(f"\nMINICNN_REQUIRE_TF=1: the live TensorFlow tier did not run "
              f"({_live_counts['passed']} passed, {_live_counts['skipped']} skipped)")
        session.exitstatus = 1
