"""``load_image_folder``: your own images, one folder per class, as arrays.

    path/                       or   path.zip, holding the same tree
        cat/   a.jpg b.png ...
        dog/   c.jpg ...

Like Keras's ``image_dataset_from_directory`` and torchvision's
``ImageFolder``: the class names are the folder names sorted alphanumerically,
and an image's label is the index of its folder in that list. ``folder``
picks a sub-folder first (``folder="train"`` for ``path/train/<class>/...``).

Everything is checked before anything large is allocated: the folder tree,
the file count, each zip member's declared size; then the images are decoded
with Pillow (installed with matplotlib) straight into one preallocated uint8
array (N, H, W, C). Without ``image_size`` every image must have the size of
the first; with it, each is resized (bilinear, as Keras). A file that cannot
be decoded is named in the error.

``shuffle=True`` (the default) shuffles the samples with ``seed``: a class-
sorted folder would otherwise hand ``validation_split`` (which takes the last
samples, as in Keras) a single class.
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
_CHANNELS = {"rgb": 3, "grayscale": 1, "rgba": 4}
_PIL_MODES = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}
#: the most one image file may hold (declared size of a zip member, or a file's size)
MAX_IMAGE_BYTES = 64 * 2**20
# the largest image decoded (16.8 megapixels: 50 MB as RGB); a header claiming more is refused unread
MAX_IMAGE_PIXELS = 4096 * 4096


class _Source:
    """The image files of a folder tree or a zip, read the same way."""

    def __init__(self, path: Path, folder: str | None) -> None:
        self.path, self.zip = path, None
        prefix = "" if folder is None else folder.strip("/") + "/"
        files: list[tuple[str, str]] = []       # (class name, name to read)
        if path.is_dir():
            root = path / folder if folder else path
            if not root.is_dir():
                raise DatasetError(f"{path}: no folder {folder!r} in it")
            for class_dir in root.iterdir():
                if class_dir.is_dir():
                    files += [(class_dir.name, str(f)) for f in class_dir.iterdir()
                              if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
            self.classes = sorted(d.name for d in root.iterdir() if d.is_dir())
        elif path.is_file():
            archive_size = path.stat().st_size
            try:
                self.zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
                # NotImplementedError: zipfile's word for a member needing a newer zip version
                raise DatasetError(f"{path}: not a folder or a readable zip file ({exc})") from None
            classes = set()
            for info in self.zip.infolist():
                if not info.filename.startswith(prefix):
                    continue
                parts = info.filename[len(prefix):].split("/")
                if len(parts) == 2 and parts[0]:
                    classes.add(parts[0])
                    if not info.is_dir() and Path(parts[1]).suffix.lower() in IMAGE_SUFFIXES:
                        if info.file_size > MAX_IMAGE_BYTES:
                            raise DatasetError(f"{path}: {info.filename} declares {info.file_size} bytes, more "
                                               f"than an image may hold here ({MAX_IMAGE_BYTES})")
                        if info.compress_size > archive_size:
                            # zipfile would try to read (and allocate) the claimed size
                            raise DatasetError(f"{path}: {info.filename} claims {info.compress_size} stored "
                                               f"bytes in a zip of {archive_size}; the zip is damaged")
                        files.append((parts[0], info.filename))
            if not classes and prefix and not any(n.startswith(prefix) for n in self.zip.namelist()):
                raise DatasetError(f"{path}: no folder {folder!r} in the zip")
            self.classes = sorted(classes)
        else:
            raise DatasetError(f"{path}: no such folder or zip file")
        if not self.classes:
            raise DatasetError(f"{path}{'/' + folder if folder else ''}: no class folders (expected "
                               "<class>/<image> inside)")
        counts = {c: 0 for c in self.classes}
        for c, _ in files:
            counts[c] += 1
        empty = [c for c, n in counts.items() if n == 0]
        if empty:
            raise DatasetError(f"{path}: class folder(s) {empty} hold no images "
                               f"({', '.join(IMAGE_SUFFIXES)})")
        self.files = sorted(files, key=lambda item: (self.classes.index(item[0]), item[1]))

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            try:
                return self.zip.read(name)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError,
                    ValueError) as exc:
                # damaged data (CRC, deflate stream, offsets, cut file), or a method/encryption zipfile cannot read
                raise DatasetError(f"{self.path}: cannot read {name} from the zip "
                                   f"({type(exc).__name__}: {exc})") from None
        if os.path.getsize(name) > MAX_IMAGE_BYTES:
            raise DatasetError(f"{name}: more than an image may hold here ({MAX_IMAGE_BYTES} bytes)")
        return Path(name).read_bytes()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _decode(source: _Source, name: str, mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """One image's pixels, (H, W, C) uint8.

    The header's size is checked against ``MAX_IMAGE_PIXELS`` before a pixel
    is decoded. Every failure of the decoder is reported as the file's
    ``DatasetError``: Pillow's decoders meet untrusted bytes here and signal
    damage with many exception types (``OSError``, ``SyntaxError``,
    ``struct.error``, ``EOFError``...), none of which means more than
    "this file is not a readable image".
    """
    from PIL import Image
    data = source.read(name)
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise DatasetError(f"{source.path}: image {name} declares {width}x{height} pixels, more than "
                                   f"an image may hold here ({MAX_IMAGE_PIXELS})")
            image = image.convert(mode)
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.BILINEAR)
            pixels = np.asarray(image)
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise DatasetError(f"{source.path}: cannot decode image {name} ({type(exc).__name__}: {exc})") from None
    return pixels.reshape(pixels.shape[0], pixels.shape[1], -1)


def load_image_folder(path, folder: str | None = None, image_size: tuple[int, int] | None = None,
                      color_mode: str = "rgb", shuffle: bool = True, seed: int | None = None,
                      verbose: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images in class folders (a folder or a zip) -> ``(x, y, class_names)``.

    x: uint8 (N, H, W, C), C = 3 for ``"rgb"``, 1 for ``"grayscale"``, 4 for
    ``"rgba"``; y: int64 labels, the index in ``class_names`` (sorted folder
    names). See the module docstring for the rest.
    """
    if color_mode not in _CHANNELS:
        raise DatasetError(f"load_image_folder: color_mode must be one of {sorted(_CHANNELS)}, got {color_mode!r}")
    if image_size is not None:
        if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2
                or not all(isinstance(v, (int, np.integer)) and v > 0 for v in image_size)):
            raise DatasetError(f"load_image_folder: image_size must be (height, width), got {image_size!r}")
        image_size = (int(image_size[0]), int(image_size[1]))
    source = _Source(Path(path), folder)
    try:
        n = len(source.files)
        mode, channels = _PIL_MODES[color_mode], _CHANNELS[color_mode]
        first = _decode(source, source.files[0][1], mode, image_size)
        height, width = first.shape[:2]
        if verbose:
            print(f"Found {n} files belonging to {len(source.classes)} classes.", file=sys.stderr)
        x = np.empty((n, height, width, channels), dtype=np.uint8)
        y = np.empty(n, dtype=np.int64)
        label_of = {c: i for i, c in enumerate(source.classes)}
        step = max(n // 20, 1)
        for i, (class_name, name) in enumerate(source.files):
            pixels = first if i == 0 else _decode(source, name, mode, image_size)
            if pixels.shape[:2] != (height, width):
                raise DatasetError(f"{source.path}: image {name} is {pixels.shape[0]}x{pixels.shape[1]}, the "
                                   f"first was {height}x{width}; pass image_size=(h, w) to resize them all")
            x[i] = pixels
            y[i] = label_of[class_name]
            if verbose and n >= 5000 and (i + 1) % step == 0:
                print(f"\r{i + 1}/{n} images", end="", file=sys.stderr, flush=True)
        if verbose and n >= 5000:
            print(file=sys.stderr)
    finally:
        source.close()
    if shuffle:
        order = np.random.default_rng(seed).permutation(n)
        x, y = x[order], y[order]
    return x, y, list(source.classes)
