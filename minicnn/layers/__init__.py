"""All minicnn layers. Each module holds one concept, its math in the docstring."""

from .activation_layers import Activation, LeakyReLU, ReLU, Softmax
from .augmentation import RandomContrast, RandomCrop, RandomFlip
from .base import Layer, Parameter
from .batch_norm import BatchNormalization
from .conv2d import Conv2D
from .conv2d_transpose import Conv2DTranspose
from .depthwise_conv2d import DepthwiseConv2D
from .dense import Dense
from .dropout import Dropout
from .image_preprocessing import Rescaling, Resizing
from .global_pooling import GlobalAveragePooling2D, GlobalAvgPool2D, GlobalMaxPool2D, GlobalMaxPooling2D
from .input_layer import Input, InputLayer
from .merge import Add, Concatenate
from .normalization import Normalization
from .pooling import AveragePooling2D, AvgPool2D, MaxPool2D, MaxPooling2D
from .random_affine import RandomRotation, RandomTranslation, RandomZoom
from .reshaping import Flatten, Reshape
from .zero_padding import ZeroPadding2D

__all__ = [
    "Activation", "Add", "AveragePooling2D", "AvgPool2D", "BatchNormalization", "Concatenate", "Conv2D", "Conv2DTranspose",
    "DepthwiseConv2D", "Dense",
    "Dropout", "Flatten", "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D",
    "GlobalMaxPooling2D", "Input", "InputLayer",
    "Layer", "LeakyReLU", "MaxPool2D", "MaxPooling2D", "Normalization", "Parameter", "RandomContrast",
    "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "ReLU", "Rescaling",
    "Reshape", "Resizing", "Softmax", "ZeroPadding2D",
]
