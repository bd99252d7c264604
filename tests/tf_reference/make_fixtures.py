"""Regenerate the TensorFlow reference fixtures in ``tests/fixtures/``.

    python -m tests.tf_reference.make_fixtures          (from the repository root)

Needs TensorFlow (``pip install ".[test]"``). Every case of ``cases.py`` is
run through Keras; the inputs and Keras's results are saved as ``.npz``
files, with the TensorFlow and Keras versions inside. Never edit the fixtures
by hand: change the cases and run this again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import cases, keras_side, minicnn_side

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _save(name: str, arrays: dict[str, np.ndarray]) -> None:
    arrays["meta"] = np.array(json.dumps(keras_side.VERSIONS))
    path = FIXTURES / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    print(f"wrote {path.relative_to(FIXTURES.parents[1])} ({path.stat().st_size / 1024:.0f} KB)")


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    arrays = {}
    for case in cases.LAYER_CASES:
        specs, out_shape = minicnn_side.layer_specs(case)
        data = cases.layer_data(case, specs, out_shape)
        for key in ("x", "g", "adapt"):
            if key in data:
                arrays[f"{case['name']}__in_{key}"] = data[key]
        for i, w in enumerate(data["weights"]):
            arrays[f"{case['name']}__in_w{i}"] = w
        for key, value in keras_side.run_layer(case, data).items():
            arrays[f"{case['name']}__{key}"] = value
    _save("layers", arrays)

    arrays = {}
    for case in cases.LOSS_CASES:
        data = cases.loss_data(case)
        for key, value in {**data, **keras_side.run_loss(case, data)}.items():
            arrays[f"{case['name']}__{key}"] = np.asarray(value)
    _save("losses", arrays)

    arrays = {}
    for case in cases.OPTIMIZER_CASES:
        data = cases.optimizer_data(case)
        for i, w in enumerate(data["w0"]):
            arrays[f"{case['name']}__w0_{i}"] = w
        for s, step in enumerate(data["grads"]):
            for i, g in enumerate(step):
                arrays[f"{case['name']}__g{s}_{i}"] = g
        for key, value in keras_side.run_optimizer(case, data).items():
            arrays[f"{case['name']}__{key}"] = value
    _save("optimizers", arrays)

    for case in cases.MODEL_CASES:
        weights = cases.model_weights(minicnn_side.model_specs(case), case["seed"])
        data = cases.model_data(case)
        arrays = {}
        for i, w in enumerate(weights):  # detects a change in NumPy's random stream
            for k, v in cases.digest(w).items():
                arrays[f"init{i}__{k}"] = v
        for key, value in keras_side.run_model(case, data, weights).items():
            if key in ("predict", "train_losses"):
                arrays[key] = value
            else:
                for k, v in cases.digest(value).items():
                    arrays[f"{key}__{k}"] = v
        _save(f"model_{case['name']}", arrays)


if __name__ == "__main__":
    main()
