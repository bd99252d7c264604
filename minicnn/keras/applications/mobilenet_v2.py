"""``keras.applications.mobilenet_v2``: the model, ``preprocess_input`` and ``decode_predictions``."""

from ...applications import MobileNetV2, decode_predictions, preprocess_input

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]
