"""Datasets: ``load_shapes`` (built in, offline) and helpers."""

from .shapes import CLASS_NAMES as SHAPES_CLASSES
from .shapes import load_shapes
from .utils import scale_images, to_one_hot, train_test_split

__all__ = ["SHAPES_CLASSES", "load_shapes", "scale_images", "to_one_hot", "train_test_split"]
