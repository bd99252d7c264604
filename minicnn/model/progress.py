"""The Keras progress line printed by ``fit`` and ``evaluate``::

    1407/1407 [==============================] - 21s 14ms/step - loss: 0.4699 - accuracy: 0.8511

On a terminal (or in Jupyter) the line is redrawn in place (carriage return)
as batches finish; when output goes to a file or a CI log, only the finished
line is written, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

_BAR_WIDTH = 30


def format_time_per_step(seconds: float) -> str:
    """``0.014`` -> ``14ms/step``; ``0.0009`` -> ``939us/step``; ``2.3`` -> ``2s/step``."""
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def format_line(step: int, total: int, elapsed: float, metrics: dict[str, float],
                done: bool) -> str:
    """One progress line (see the module docstring)."""
    width = len(str(total))
    filled = int(_BAR_WIDTH * step / total) if total else _BAR_WIDTH
    if done:
        bar = "=" * _BAR_WIDTH
    else:
        bar = "=" * max(filled - 1, 0) + (">" if filled > 0 else "") + "." * (_BAR_WIDTH - filled)
    line = f"{step:>{width}}/{total} [{bar}]"
    if done:
        line += f" - {elapsed:.0f}s {format_time_per_step(elapsed / max(step, 1))}"
    else:
        eta = elapsed / max(step, 1) * (total - step)
        line += f" - ETA: {eta:.0f}s"
    for name, value in metrics.items():
        line += f" - {name}: {value:.4f}"
    return line


def in_notebook() -> bool:
    """True inside a Jupyter kernel, where "\\r" redraws the line as in a terminal.

    Asks the running IPython shell, not whether ipykernel was imported: a
    script (or a test) that merely imports ipykernel prints to a plain stream.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


class ProgressBar:
    """Prints the progress line of one epoch (``verbose=1``)."""

    def __init__(self, total: int, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stdout
        self.start = time.perf_counter()
        self.interval = interval
        self._last_draw = 0.0
        isatty = getattr(self.stream, "isatty", lambda: False)()
        self.dynamic = isatty or in_notebook()

    def update(self, step: int, metrics: dict[str, float]) -> None:
        now = time.perf_counter()
        if self.dynamic and now - self._last_draw >= self.interval and step < self.total:
            self._last_draw = now
            self.stream.write("\r" + format_line(step, self.total, now - self.start, metrics, False))
            self.stream.flush()

    def finish(self, metrics: dict[str, float]) -> None:
        elapsed = time.perf_counter() - self.start
        prefix = "\r" if self.dynamic else ""
        self.stream.write(prefix + format_line(self.total, self.total, elapsed, metrics, True) + "\n")
        self.stream.flush()
