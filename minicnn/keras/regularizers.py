"""``keras.regularizers``: minicnn's weight penalties (``minicnn/regularizers.py``)."""

from ..regularizers import L1, L1L2, L2, Regularizer

l1, l2, l1_l2 = L1, L2, L1L2   # Keras's lower-case aliases

__all__ = ["L1", "L1L2", "L2", "Regularizer", "l1", "l1_l2", "l2"]
