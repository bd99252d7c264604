"""Comparing minicnn's results with Keras's, in full or through a digest."""

from __future__ import annotations

import numpy as np

from . import cases

# Single layers, losses, optimizers: float32 agreement (the tolerance).
LAYER_TOL = dict(rtol=1e-5, atol=1e-5)
# Whole models, including after 5 training steps.
MODEL_TOL = dict(rtol=1e-4, atol=1e-4)


def assert_close(ours, theirs, what: str, tol: dict) -> None:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != Keras {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, err_msg=f"{what} differs from Keras", **tol)


def assert_matches_digest(ours, stored: dict, what: str, tol: dict) -> None:
    """Compare an array with a stored ``cases.digest`` of Keras's array."""
    ours = np.asarray(ours)
    assert tuple(ours.shape) == tuple(stored["shape"]), \
        f"{what}: shape {ours.shape} != Keras {tuple(stored['shape'])}"
    mine = cases.digest(ours)
    np.testing.assert_allclose(mine["sample"], stored["sample"], err_msg=f"{what} differs from Keras", **tol)
    # Whole-array checks, with the bound that per-element tolerances imply for a sum.
    size = ours.size
    assert abs(mine["sum"] - stored["sum"]) <= tol["atol"] * size + tol["rtol"] * np.abs(ours).sum(), \
        f"{what}: sum {mine['sum']} != Keras {stored['sum']}"
    assert np.sqrt(mine["sumsq"]) == np.float64(np.sqrt(stored["sumsq"])) or \
        abs(np.sqrt(mine["sumsq"]) - np.sqrt(stored["sumsq"])) <= \
        tol["atol"] * np.sqrt(size) + tol["rtol"] * np.sqrt(stored["sumsq"]), \
        f"{what}: norm {np.sqrt(mine['sumsq'])} != Keras {np.sqrt(stored['sumsq'])}"
