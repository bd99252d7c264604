"""Exception types raised by minicnn.

Every error a user can trigger derives from :class:`MiniCNNError`, so a caller
can catch "anything minicnn refused" in one place. Each one also derives from
the built-in exception a Python user would expect (``ValueError`` for a bad
value, ``RuntimeError`` for a call made in the wrong order), so existing
``except ValueError`` code keeps working.
"""

from __future__ import annotations


class MiniCNNError(Exception):
    """Base class of every error minicnn raises on purpose."""


class ShapeError(MiniCNNError, ValueError):
    """An array has the wrong rank or shape for the layer or loss it met."""


class InputError(MiniCNNError, ValueError):
    """An input array has the wrong dtype or holds NaN/Inf values."""


class ConfigError(MiniCNNError, ValueError):
    """A constructor argument or a name (loss, activation, ...) is not valid."""


class NotCompiledError(MiniCNNError, RuntimeError):
    """A model was trained or evaluated before ``compile`` was called."""


class NotBuiltError(MiniCNNError, RuntimeError):
    """A layer or model was used before its input shape was known."""


class DatasetError(MiniCNNError, OSError):
    """A dataset file is missing, corrupt, truncated, fails its checksum, or is unsafe."""


class ModelFileError(MiniCNNError, OSError):
    """A model file is truncated, tampered with, of another version, or does not fit."""


class KerasWeightsError(ModelFileError):
    """A Keras weights file (``.weights.h5``, legacy ``.h5``, ``.keras``) cannot be read into the model."""


class NonFiniteError(MiniCNNError, FloatingPointError):
    """A NaN or Inf appeared in training; the message names the first layer
    (forward or backward) that produced one, and ``.trace`` holds the step's tensors."""

    trace = None
