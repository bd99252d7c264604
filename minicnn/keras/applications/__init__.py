"""``keras.applications``: ``MobileNetV2`` and its ``mobilenet_v2`` module."""

from ...applications import MobileNetV2
from . import mobilenet_v2

__all__ = ["MobileNetV2", "mobilenet_v2"]
