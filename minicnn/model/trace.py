"""``Trace``: every tensor of one forward (and backward) pass, by layer name.

Returned by ``model.trace(x, y)``. Keys are layer names in layer order, with
``"input"`` first::

    trace.outputs["conv1"]        the output of layer conv1         (N, H, W, C)
    trace.grads["conv1"]          dLoss/d(output of conv1)          same shape
    trace.grads["input"]          dLoss/d(image)                    same as x
    trace.weight_grads["conv1"]   [dL/dkernel, dL/dbias], aligned with
                                  the layer's trainable weights

``grads`` and ``weight_grads`` are empty when no ``y`` was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trace:
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    weight_grads: dict[str, list[np.ndarray]] = field(default_factory=dict)
    loss: float | None = None

    @property
    def layer_names(self) -> list[str]:
        return list(self.outputs)

    def __repr__(self) -> str:
        rows = [f"Trace(loss={self.loss})"]
        for name, out in self.outputs.items():
            grad = self.grads.get(name)
            g = f"  grad norm {np.linalg.norm(grad):.3g}" if grad is not None else ""
            rows.append(f"  {name:<24} {str(out.shape):<20}{g}")
        return "\n".join(rows)
