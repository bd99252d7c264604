"""load_image_folder: class folders (a tree or a zip) to arrays, Keras's label order, clear errors."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minicnn.datasets import load_image_folder
from minicnn.errors import DatasetError

SHARED_CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpeg" / "cifar10-jpeg.zip"


def _write_tree(root: Path, counts: dict[str, int], size=(6, 5), fmt="PNG") -> dict[str, list[np.ndarray]]:
    """class folders of random images (lossless PNG by default); returns the pixels written."""
    rng = np.random.default_rng(0)
    written = {}
    for name, n in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        written[name] = []
        for i in range(n):
            pixels = rng.integers(0, 256, size + (3,), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:03d}.{fmt.lower()}", fmt)
            written[name].append(pixels)
    return written


def _zip(tree: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for f in sorted(tree.rglob("*")):
            archive.write(f, f.relative_to(tree).as_posix())
    return target


@pytest.mark.parametrize("as_zip", [False, True])
def test_labels_follow_the_sorted_class_names_and_pixels_survive(tmp_path, as_zip):
    written = _write_tree(tmp_path / "data" / "train", {"dog": 3, "cat": 2, "10_bird": 1})
    path = _zip(tmp_path / "data", tmp_path / "data.zip") if as_zip else tmp_path / "data"
    x, y, names = load_image_folder(path, folder="train", shuffle=False, verbose=False)
    assert names == ["10_bird", "cat", "dog"]                      # alphanumeric, as Keras
    assert x.shape == (6, 6, 5, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    assert y.tolist() == [0, 1, 1, 2, 2, 2]
    expected = written["10_bird"] + written["cat"] + written["dog"]
    for got, want in zip(x, expected):
        np.testing.assert_array_equal(got, want)


def test_shuffle_is_seeded_and_keeps_pairs(tmp_path):
    written = _write_tree(tmp_path, {"a": 4, "b": 4})
    x0, y0, _ = load_image_folder(tmp_path, shuffle=False, verbose=False)
    x1, y1, _ = load_image_folder(tmp_path, seed=3, verbose=False)
    x2, y2, _ = load_image_folder(tmp_path, seed=3, verbose=False)
    np.testing.assert_array_equal(x1, x2)
    assert not np.array_equal(y0, y1)
    for image, label in zip(x1, y1):       # every image still carries its own label
        index = next(i for i, ref in enumerate(x0) if np.array_equal(ref, image))
        assert y0[index] == label
    assert len(written["a"]) == 4


def test_resize_and_color_modes(tmp_path):
    _write_tree(tmp_path / "a", {"one": 1}, size=(8, 8))
    _write_tree(tmp_path / "a", {"two": 1}, size=(4, 6))
    x, _, _ = load_image_folder(tmp_path / "a", image_size=(5, 7), color_mode="grayscale", verbose=False)
    assert x.shape == (2, 5, 7, 1)
    x, _, _ = load_image_folder(tmp_path / "a", image_size=(3, 3), color_mode="rgba", verbose=False)
    assert x.shape == (2, 3, 3, 4) and (x[..., 3] == 255).all()


def test_errors_name_the_problem(tmp_path):
    _write_tree(tmp_path / "mixed", {"one": 1}, size=(8, 8))
    _write_tree(tmp_path / "mixed", {"two": 1}, size=(4, 6))
    with pytest.raises(DatasetError, match=r"000.png is 4x6, the first was 8x8; pass image_size"):
        load_image_folder(tmp_path / "mixed", verbose=False)
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    _write_tree(tmp_path / "empty", {"full": 1})
    with pytest.raises(DatasetError, match=r"\['cls'\] hold no images"):
        load_image_folder(tmp_path / "empty", verbose=False)
    _write_tree(tmp_path / "bad", {"a": 1})
    (tmp_path / "bad" / "a" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match=r"cannot decode image .*broken.jpg"):
        load_image_folder(tmp_path / "bad", verbose=False)
    with pytest.raises(DatasetError, match="no such folder or zip"):
        load_image_folder(tmp_path / "missing", verbose=False)
    with pytest.raises(DatasetError, match="no folder 'train'"):
        load_image_folder(tmp_path / "bad", folder="train", verbose=False)
    (tmp_path / "flat").mkdir()
    with pytest.raises(DatasetError, match="no class folders"):
        load_image_folder(tmp_path / "flat", verbose=False)
    (tmp_path / "junk.zip").write_bytes(b"PK junk")
    with pytest.raises(DatasetError, match="not a folder or a readable zip"):
        load_image_folder(tmp_path / "junk.zip", verbose=False)
    with pytest.raises(DatasetError, match="color_mode"):
        load_image_folder(tmp_path / "bad", color_mode="cmyk", verbose=False)
    with pytest.raises(DatasetError, match="image_size"):
        load_image_folder(tmp_path / "bad", image_size=(0, 3), verbose=False)


def test_a_zip_member_that_claims_too_much_is_refused_before_reading(tmp_path, monkeypatch):
    import minicnn.datasets.image_folder as module
    _write_tree(tmp_path / "d", {"a": 2})
    archive = _zip(tmp_path / "d", tmp_path / "d.zip")
    monkeypatch.setattr(module, "MAX_IMAGE_BYTES", 10)
    with pytest.raises(DatasetError, match="declares .* bytes, more than an image may hold"):
        load_image_folder(archive, verbose=False)


@pytest.mark.skipif(not SHARED_CIFAR.exists(), reason="the shared CIFAR-10 JPEG copy is not beside the project")
def test_the_shared_cifar10_copy_loads_as_the_real_split():
    start = time.perf_counter()
    x, y, names = load_image_folder(SHARED_CIFAR, folder="train", seed=0, verbose=False)
    x_test, y_test, test_names = load_image_folder(SHARED_CIFAR, folder="test", seed=0, verbose=False)
    took = time.perf_counter() - start
    assert names == test_names == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                   "ship", "truck"]
    assert x.shape == (50000, 32, 32, 3) and x_test.shape == (10000, 32, 32, 3) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [5000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    assert len(set(y[-5000:].tolist())) == 10          # shuffled: the last 10% is not one class
    assert took < 60
