"""Automatic layer and model names, the Keras way.

Keras names the first ``Conv2D`` of a session ``conv2d``, the next one
``conv2d_1``, then ``conv2d_2``... The counter is per base name and global to
the Python session; :func:`clear_session` resets it (as
``keras.backend.clear_session`` does), which makes names predictable in tests.
"""

from __future__ import annotations

import re
from collections import defaultdict

_COUNTS: defaultdict[str, int] = defaultdict(int)


def snake_case(class_name: str) -> str:
    """``MaxPooling2D`` -> ``max_pooling2d``, ``LeakyReLU`` -> ``leaky_re_lu``.

    The same rule Keras uses: an underscore before every capital that follows a
    lower-case letter or digit, or that starts a new word after an acronym.
    """
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s)
    return s.lower()


def unique_name(base: str) -> str:
    """Return ``base`` the first time, then ``base_1``, ``base_2``, ..."""
    n = _COUNTS[base]
    _COUNTS[base] += 1
    return base if n == 0 else f"{base}_{n}"


def clear_session() -> None:
    """Reset the automatic name counters (``conv2d`` starts again)."""
    _COUNTS.clear()
