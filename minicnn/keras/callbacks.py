"""``keras.callbacks``: minicnn's callbacks (see ``minicnn/callbacks.py``)."""

from ..callbacks import Callback, CSVLogger, EarlyStopping, History, ModelCheckpoint, TerminateOnNaN

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "History", "ModelCheckpoint", "TerminateOnNaN"]
