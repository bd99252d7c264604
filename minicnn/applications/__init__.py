"""Well-known architectures, written out layer by layer with minicnn's layers.

* :func:`MobileNetV2` - the same graph and layer names as
  ``keras.applications.MobileNetV2``, so Keras weight files load into it.
* :func:`preprocess_input`, :func:`decode_predictions` - the ImageNet helpers
  that go with it.
"""

from .imagenet import decode_predictions, preprocess_input
from .mobilenet_v2 import MobileNetV2

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]
