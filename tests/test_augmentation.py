"""Augmentation and preprocessing layers: Keras's numbers, exact backward passes, training only,
seeded and resumed bit-exactly, saved in model files."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import layers as L

from .gradcheck import assert_gradients_ok, check_layer

FILL_MODES = ["reflect", "wrap", "nearest", "constant"]
X = np.random.default_rng(0).uniform(0, 255, (3, 9, 11, 2))


def _built(layer, x=X):
    layer.build(x.shape[1:])
    return layer


# ------------------------------------------------------------------ against Keras
@pytest.mark.tf_live
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_translation_rotation_and_zoom_match_keras(fill_mode, interpolation):
    """With a range of one value the transform is fixed, so Keras's output is the reference."""
    keras = pytest.importorskip("keras")
    x = X.astype(np.float32)
    settings = dict(fill_mode=fill_mode, interpolation=interpolation, fill_value=7.0)
    for ours, theirs in [(L.RandomTranslation((0.23, 0.23), (-0.31, -0.31), **settings),
                          keras.layers.RandomTranslation((0.23, 0.23), (-0.31, -0.31), **settings)),
                         (L.RandomRotation((0.07, 0.07), **settings), keras.layers.RandomRotation((0.07, 0.07), **settings)),
                         (L.RandomZoom((0.3, 0.3), (-0.2, -0.2), **settings),
                          keras.layers.RandomZoom((0.3, 0.3), (-0.2, -0.2), **settings))]:
        expected = np.asarray(theirs(x, training=True))
        # float32 rounding of pixel values up to 255: 2e-4 is about 1 ulp
        np.testing.assert_allclose(_built(ours, x).forward(x, training=True), expected, rtol=0, atol=2e-4,
                                   err_msg=type(ours).__name__)


@pytest.mark.tf_live
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("crop", [False, True])
def test_resizing_matches_keras(interpolation, crop):
    keras = pytest.importorskip("keras")
    x = X.astype(np.float32)
    ours = _built(L.Resizing(5, 17, interpolation=interpolation, crop_to_aspect_ratio=crop), x)
    theirs = keras.layers.Resizing(5, 17, interpolation=interpolation, crop_to_aspect_ratio=crop)
    np.testing.assert_allclose(ours.forward(x), np.asarray(theirs(x)), rtol=0, atol=2e-4)


@pytest.mark.tf_live
def test_random_crop_of_a_small_image_resizes_as_keras():
    """An image smaller than the crop is resized to it (Keras's training path), and so is every
    image at inference in minicnn, after taking the largest centred window with the crop's
    aspect ratio, as Keras's docstring describes. (Keras 3.15 itself returns the image unchanged
    at inference, and when the aspect ratios differ, slices the crop's size rather than the
    window's; so the two are compared on an image with the crop's aspect ratio.)"""
    keras = pytest.importorskip("keras")
    x = X.astype(np.float32)                    # 9 x 11
    ours = _built(L.RandomCrop(18, 22), x)      # the same aspect ratio, twice the size
    expected = np.asarray(keras.layers.RandomCrop(18, 22)(x, training=True))
    np.testing.assert_allclose(ours.forward(x, training=True), expected, rtol=0, atol=2e-4)
    np.testing.assert_allclose(ours.forward(x, training=False), expected, rtol=0, atol=2e-4)


# ------------------------------------------------------------------ by hand
def test_flip_crop_contrast_and_rescaling_do_what_their_formulas_say():
    flip = _built(L.RandomFlip("horizontal", seed=3))
    y = flip.forward(X, training=True)
    flipped = flip._mirrored
    assert flipped.any() and not flipped.all()
    np.testing.assert_array_equal(y[flipped], X[flipped][:, :, ::-1])
    np.testing.assert_array_equal(y[~flipped], X[~flipped])

    crop = _built(L.RandomCrop(4, 5, seed=1))
    y = crop.forward(X, training=True)
    for n, (t, l) in enumerate(zip(crop._tops, crop._lefts)):
        np.testing.assert_array_equal(y[n], X[n, t:t + 4, l:l + 5])

    contrast = _built(L.RandomContrast((0.5, 0.5), seed=2))
    y = contrast.forward(X, training=True)
    f = contrast._f
    mean = X.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y, np.clip((X - mean) * f + mean, 0, 255))
    assert ((0.5 <= f) & (f <= 1.5)).all()

    rescale = _built(L.Rescaling(1 / 127.5, offset=-1))
    np.testing.assert_allclose(rescale.forward(np.array([[[[0.0, 127.5, 255.0]]]])), [[[[-1.0, 0.0, 1.0]]]])


@pytest.mark.parametrize("make", [lambda: L.RandomFlip(seed=0), lambda: L.RandomTranslation(0.2, 0.2, seed=0),
                                  lambda: L.RandomRotation(0.1, seed=0), lambda: L.RandomZoom(0.2, seed=0),
                                  lambda: L.RandomCrop(4, 5, seed=0), lambda: L.RandomContrast(0.3, seed=0)])
def test_random_layers_are_the_identity_at_inference(make):
    layer = _built(make())
    if isinstance(layer, L.RandomCrop):
        assert layer.forward(X[:, :4, :5]).shape == (3, 4, 5, 2)
        np.testing.assert_array_equal(layer.forward(X[:, :4, :5]), X[:, :4, :5])
    else:
        assert layer.forward(X, training=False) is X
        assert not np.array_equal(layer.forward(X, training=True), X)


# ------------------------------------------------------------------ backward
def _fixed(layer):
    """Re-seed before every forward, so that the finite differences see one fixed transform."""
    return lambda: setattr(layer, "_rng", np.random.default_rng(5))


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_backward_is_the_transpose_of_the_sampling(float64, fill_mode, interpolation):
    x = np.random.default_rng(1).standard_normal((2, 5, 6, 2))
    for layer in (L.RandomTranslation(0.3, 0.3, fill_mode=fill_mode, interpolation=interpolation, fill_value=2.0),
                  L.RandomRotation(0.2, fill_mode=fill_mode, interpolation=interpolation),
                  L.RandomZoom(0.4, fill_mode=fill_mode, interpolation=interpolation)):
        _built(layer, x)
        assert_gradients_ok(check_layer(layer, x, training=True, before_forward=_fixed(layer)))


@pytest.mark.parametrize("make", [lambda: L.RandomFlip(), lambda: L.RandomCrop(3, 4),
                                  lambda: L.RandomContrast((0.4, 0.6), value_range=(-1.5, 1.5)),
                                  lambda: L.Rescaling(0.5, 0.25), lambda: L.Resizing(7, 3),
                                  lambda: L.Resizing(3, 3, crop_to_aspect_ratio=True)])
@pytest.mark.parametrize("training", [True, False])
def test_backward_of_the_other_layers(float64, make, training):
    # values inside RandomContrast's range, mostly: the clipped ones have no gradient (and are tested so)
    x = np.random.default_rng(2).standard_normal((2, 5, 6, 2))
    layer = _built(make(), x)
    assert_gradients_ok(check_layer(layer, x, training=training, before_forward=_fixed(layer)))


# ------------------------------------------------------------------ in models
def _augmented_model(seed=0):
    return minicnn.Sequential([
        L.Rescaling(1 / 255, input_shape=(12, 12, 3)), L.RandomFlip("horizontal"), L.RandomTranslation(0.1, 0.1),
        L.RandomRotation(0.05), L.RandomZoom(0.1), L.RandomContrast(0.2, value_range=(0, 1)),
        L.RandomCrop(10, 10), L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(3, activation="softmax")],
        seed=seed)


def _data():
    rng = np.random.default_rng(3)
    return rng.uniform(0, 255, (24, 12, 12, 3)).astype(np.float32), rng.integers(0, 3, 24)


def test_a_model_with_augmentation_trains_the_same_on_the_plan_and_the_plain_layers():
    x, y = _data()
    weights = []
    for jit in (True, False):
        model = _augmented_model()
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", jit_compile=jit)
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_augmentation_is_listed_saved_and_resumed_bit_exactly(tmp_path, capsys):
    x, y = _data()
    straight = _augmented_model()
    straight.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    straight.fit(x, y, epochs=2, batch_size=8, verbose=0)

    halted = _augmented_model()
    halted.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    halted.fit(x, y, epochs=1, batch_size=8, verbose=0)
    halted.save(tmp_path / "m.minicnn")
    resumed = minicnn.load_model(tmp_path / "m.minicnn")
    resumed.fit(x, y, epochs=2, initial_epoch=1, batch_size=8, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        assert a.tobytes() == b.tobytes()
    assert [type(layer).__name__ for layer in resumed.layers] == [type(layer).__name__ for layer in straight.layers]
    resumed.summary()
    listing = capsys.readouterr().out
    assert "(RandomFlip)" in listing and "(Rescaling)" in listing
    assert listing.count("(None, ") == len(resumed.layers)      # a row each (Keras wraps the long names)
    # inference ignores the random layers: the same image, the same answer
    np.testing.assert_array_equal(resumed.predict(x[:4], verbose=0), resumed.predict(x[:4], verbose=0))


@pytest.mark.parametrize("bad", [lambda: L.RandomFlip("diagonal"), lambda: L.RandomTranslation(1.5, 0.1),
                                 lambda: L.RandomRotation((0.2, 0.1)), lambda: L.RandomZoom(0.1, fill_mode="mirror"),
                                 lambda: L.RandomCrop(0, 4), lambda: L.RandomContrast(2.0),
                                 lambda: L.Rescaling("1/255"), lambda: L.Resizing(4, 4, interpolation="cubic")])
def test_bad_arguments_are_named(bad):
    with pytest.raises(minicnn.ConfigError):
        bad()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_jitted_sampling_gives_the_reference_numbers(dtype):
    from minicnn.kernels import resample, resample_numba
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 7, 9, 3)).astype(dtype)
    transforms = np.concatenate([rng.uniform(0.6, 1.4, (4, 1)), rng.uniform(-0.5, 0.5, (4, 1)),
                                 rng.uniform(-6, 6, (4, 1)), rng.uniform(-0.5, 0.5, (4, 1)),
                                 rng.uniform(0.6, 1.4, (4, 1)), rng.uniform(-6, 6, (4, 1))], axis=1)
    for fill_mode in FILL_MODES:
        for interpolation in ("bilinear", "nearest"):
            expected = resample.affine_sample(x, transforms, fill_mode, interpolation, 0.5)
            got = resample_numba.affine_sample(x, transforms, fill_mode, interpolation, 0.5)
            np.testing.assert_array_equal(got, expected, err_msg=f"{fill_mode} {interpolation}")
