"""``keras.optimizers.schedules``: minicnn's learning-rate schedules (``minicnn/schedules.py``)."""

from ...schedules import CosineDecay, ExponentialDecay, LearningRateSchedule, PiecewiseConstantDecay

__all__ = ["CosineDecay", "ExponentialDecay", "LearningRateSchedule", "PiecewiseConstantDecay"]
