"""``keras.preprocessing.image``: one image file to an array and back, with Pillow."""

from __future__ import annotations

import numpy as np

from ...errors import DatasetError


def load_img(path, color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest"):
    """A PIL image of the file, converted to ``color_mode`` and resized to ``target_size`` (h, w)."""
    from PIL import Image, UnidentifiedImageError
    modes = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}
    if color_mode not in modes:
        raise DatasetError(f"load_img: color_mode must be one of {sorted(modes)}, got {color_mode!r}")
    try:
        image = Image.open(path)
        image.load()
    except (OSError, UnidentifiedImageError) as exc:
        raise DatasetError(f"load_img: cannot read image {path} ({exc})") from None
    image = image.convert(modes[color_mode])
    if target_size is not None:
        filters = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
        if interpolation not in filters:
            raise DatasetError(f"load_img: interpolation must be one of {sorted(filters)}, got {interpolation!r}")
        image = image.resize((target_size[1], target_size[0]), filters[interpolation])
    return image


def img_to_array(img, dtype="float32") -> np.ndarray:
    """(H, W, C) array of a PIL image, as Keras (float32 by default, values 0-255)."""
    array = np.asarray(img, dtype=dtype)
    return array[..., None] if array.ndim == 2 else array


def array_to_img(x, scale: bool = True):
    """A PIL image of an (H, W, C) array; ``scale`` maps its range onto 0-255 first."""
    from PIL import Image
    x = np.asarray(x, dtype=np.float64)
    if scale:
        x = x - x.min()
        top = x.max()
        x = x / top * 255 if top > 0 else x
    x = np.clip(x, 0, 255).astype(np.uint8)
    if x.ndim == 3 and x.shape[-1] == 1:
        return Image.fromarray(x[..., 0], "L")
    return Image.fromarray(x)
