"""Shared fixtures: float64 mode for gradient checks, fresh layer names, hypothesis profiles."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import minicnn

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
    with minicnn.config.using(backend="numba", floatx="float32"):
        yield


@pytest.fixture
def float64():
    """Build weights in float64 (for finite-difference checks)."""
    with minicnn.config.using(floatx="float64"):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
