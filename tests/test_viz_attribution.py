"""Attribution, activation maximization, receptive fields and the convolution animation are
checked against the mathematics, not only drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import minicnn  # noqa: E402
from minicnn import kernels, layers, viz, zoo  # noqa: E402
from minicnn.viz import probe  # noqa: E402


def _linear(head: str, rng, shape=(5, 4, 2)) -> minicnn.Sequential:
    """Flatten -> Dense(4), with the softmax fused, as a layer, or absent."""
    stack = [layers.Input(shape), layers.Flatten()]
    if head == "fused":
        stack.append(layers.Dense(4, activation="softmax"))
    else:
        stack.append(layers.Dense(4))
        if head == "layer":
            stack.append(layers.Softmax())
    model = minicnn.Sequential(stack, seed=0)
    dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)][0]
    dense.bias.value[...] = rng.normal(size=4)
    return model


@pytest.mark.parametrize("head", ["fused", "layer", "none"])
def test_saliency_of_a_linear_model_is_abs_weight(head, rng, float64):
    model = _linear(head, rng)
    kernel = [layer for layer in model.layers if isinstance(layer, layers.Dense)][0].kernel.value
    image = rng.normal(size=(5, 4, 2))
    for c in range(4):
        expected = np.abs(kernel[:, c].reshape(5, 4, 2)).max(axis=-1)   # flatten is row-major
        np.testing.assert_allclose(viz.saliency(model, image, c), expected, rtol=1e-12)


def _small_cnn(activation="tanh") -> minicnn.Sequential:
    return minicnn.Sequential([
        layers.Input((7, 6, 2)),
        layers.Conv2D(3, 3, padding="same", activation=activation),
        layers.MaxPool2D(),
        layers.Conv2D(4, 2, strides=2, padding="same", activation=activation),
        layers.Flatten(),
        layers.Dense(5, activation="softmax"),
    ], seed=3)


def test_saliency_agrees_with_finite_differences(rng, float64):
    model = _small_cnn()
    image = rng.normal(size=(7, 6, 2))
    _, grad = probe.score_gradient(model, image[None], 2)
    h = 1e-6
    numeric = np.zeros_like(image)
    for idx in np.ndindex(image.shape):
        up, down = image.copy(), image.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (probe.class_scores(model, up[None])[0, 2]
                        - probe.class_scores(model, down[None])[0, 2]) / (2 * h)
    np.testing.assert_allclose(grad[0], numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(viz.saliency(model, image, 2), np.abs(numeric).max(axis=-1), rtol=1e-6, atol=1e-9)


def test_grad_cam_on_gap_dense_is_class_activation_map_over_positions(rng, float64):
    model = minicnn.Sequential([
        layers.Input((6, 5, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu", name="features"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3, activation="softmax", name="classes"),
    ], seed=1)
    image = rng.normal(size=(6, 5, 1))
    a = model.trace(image[None]).outputs["features"][0]               # (6, 5, 4)
    w = model.get_layer("classes").kernel.value                        # (4, 3)
    for c in range(3):
        cam = (a * w[:, c]).sum(axis=-1)                               # Zhou et al.'s CAM
        np.testing.assert_allclose(viz.grad_cam(model, image, "features", c),
                                   np.maximum(cam, 0) / (6 * 5), rtol=1e-10, atol=1e-14)


def test_grad_cam_all_zero_map_is_safe(float64):
    model = minicnn.Sequential([layers.Input((4, 4, 1)), layers.Conv2D(2, 3, activation="relu", name="c"),
                                layers.Flatten(), layers.Dense(2)], seed=0)
    model.get_layer("c").bias.value[...] = -100.0                    # every activation is 0
    cam = viz.grad_cam(model, np.ones((4, 4, 1)), "c", 0)
    assert cam.shape == (2, 2) and np.all(cam == 0) and np.all(np.isfinite(cam))
    fig = viz.overlay(np.ones((4, 4, 1)), cam)
    assert np.all(fig.axes[0].images[1].get_array() == 0)


def test_integrated_gradients_completeness(rng, float64):
    model = _small_cnn()
    image = rng.normal(size=(7, 6, 2))
    result = viz.integrated_gradients(model, image, 1, steps=300)
    assert abs(result.delta) < 0.01 * abs(result.score - result.baseline_score)
    assert result.attributions.shape == image.shape
    coarse = viz.integrated_gradients(model, image, 1, steps=2)
    assert abs(coarse.delta) > abs(result.delta)                     # more steps, closer to the integral


def test_integrated_gradients_of_linear_model_is_gradient_times_input(rng, float64):
    model = _linear("fused", rng)
    image = rng.normal(size=(5, 4, 2))
    _, grad = probe.score_gradient(model, image[None], 3)
    result = viz.integrated_gradients(model, image, 3, baseline=0.0, steps=3)
    np.testing.assert_allclose(result.attributions, grad[0] * image, rtol=1e-12)
    assert abs(result.delta) < 1e-10


def test_smoothgrad_with_zero_noise_is_saliency(rng, float64):
    model = _small_cnn()
    image = rng.normal(size=(7, 6, 2))
    np.testing.assert_allclose(viz.smoothgrad(model, image, 4, samples=5, sigma=0.0),
                               viz.saliency(model, image, 4), rtol=1e-12)
    noisy = viz.smoothgrad(model, image, 4, samples=5, sigma=0.3, seed=1)
    assert not np.allclose(noisy, viz.saliency(model, image, 4))


def test_occlusion_only_where_the_model_looks(rng, float64):
    model = _linear("fused", rng, shape=(8, 8, 1))
    kernel = model.layers[-1].kernel.value
    mask = np.zeros((8, 8), bool)
    mask[:3, :3] = True                                               # the model only reads this corner
    kernel[~mask.ravel()] = 0.0
    heat = viz.occlusion(model, rng.uniform(size=(8, 8, 1)) + 1, 0, patch=2, stride=2)
    # Far from the corner nothing changes but the rounding of a differently sized BLAS call.
    assert np.abs(heat[4:, :]).max() < 1e-12 and np.abs(heat[:, 4:]).max() < 1e-12
    assert np.abs(heat[:4, :4]).max() > 1e-3


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a.ravel())), np.argsort(np.argsort(b.ravel()))
    return float(np.corrcoef(ra, rb)[0, 1])


def test_model_randomization_decorrelates_saliency_and_grad_cam():
    """Adebayo et al. 2018: maps that survive weight randomization explain nothing."""
    from tests.test_viz_views import _trained
    model, _, x, _ = _trained()
    images = x[:6]
    originals = [(viz.saliency(model, im), viz.grad_cam(model, im, "conv2")) for im in images]
    saved = model.get_weights()
    try:
        # Small perturbation: the statistic itself is stable when nothing is randomized.
        rng = np.random.default_rng(5)
        for layer in model.layers:
            for p in layer.trainable_weights:
                p.value += 1e-3 * p.value.std() * rng.normal(size=p.value.shape).astype(p.value.dtype)
        stable = [_spearman(s, viz.saliency(model, im)) for (s, _), im in zip(originals, images)]
        model.set_weights(saved)
        # Cascading randomization, top layer first, down to the first convolution.
        for layer in reversed(model.layers):
            for p in layer.trainable_weights:
                p.value[...] = rng.normal(0, p.value.std() + 1e-3, size=p.value.shape)
        random_sal = [_spearman(s, viz.saliency(model, im)) for (s, _), im in zip(originals, images)]
        random_cam = [_spearman(c, viz.grad_cam(model, im, "conv2")) for (_, c), im in zip(originals, images)]
    finally:
        model.set_weights(saved)
    assert np.mean(stable) > 0.95
    assert np.mean(random_sal) < 0.5 and np.mean(random_cam) < 0.5


@pytest.mark.parametrize("kind", ["conv", "dense"])
def test_activation_maximization_of_a_linear_unit_finds_the_filter(kind, rng):
    if kind == "conv":   # kernel as large as the input: one position, a(x) = w . x + b
        model = minicnn.Sequential([layers.Input((5, 5, 1)), layers.Conv2D(3, 5, name="unit")], seed=2)
        direction = model.get_layer("unit").kernel.value[:, :, :, 1]
    else:
        model = minicnn.Sequential([layers.Input((5, 5, 1)), layers.Flatten(), layers.Dense(3, name="unit")], seed=2)
        direction = model.get_layer("unit").kernel.value[:, 1].reshape(5, 5, 1)
    result = viz.activation_maximization(model, "unit", 1, steps=60, learning_rate=0.1, max_norm=1.0)
    cosine = float(np.sum(result.image * direction) / (np.linalg.norm(result.image) * np.linalg.norm(direction)))
    assert cosine > 0.9
    assert result.history[-1] > result.history[0]
    assert len(result.history) == 61


def test_activation_maximization_regularizers_increase_the_objective(rng):
    model = zoo.mnist_cnn(seed=0)
    result = viz.activation_maximization(model, "conv2d_1", 5, steps=30, tv_weight=0.05, l2_weight=0.01,
                                         jitter=2, value_range=(0, 1))
    assert result.history[-1] > result.history[0]
    assert result.image.shape == (28, 28, 1) and result.image.min() >= 0 and result.image.max() <= 1


def test_total_variation_gradient_by_finite_differences(rng, float64):
    from minicnn.viz.maximize import total_variation
    x = rng.normal(size=(4, 5, 2))
    _, grad = total_variation(x)
    h, numeric = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (total_variation(up)[0] - total_variation(down)[0]) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("layer, position, box", [
    # conv4 of the seed CIFAR model, worked by hand from the module's formula:
    # conv4 (k3 s2, pad_top 0): rows 8..10 of conv3; conv3 (k3 s1, pad 1): 7..11;
    # conv2 (k3 s2, pad_top 0): 14..24; conv1 (k3 s1, pad 1): 13..25.
    ("conv4", (4, 4), (13, 13, 25, 25)),
    ("conv4", (0, 7), (0, 25, 9, 31)),       # rows -3..9, cols 25..37: clipped at the border
    ("conv2", (3, 10), (5, 19, 9, 23)),
    ("leaky_relu3", (15, 0), (27, 0, 31, 5)),  # rows 27..35, cols -3..5: clipped
])
def test_receptive_field_of_seed_cifar_model(layer, position, box):
    model = zoo.cifar10_cnn(seed=0)
    field = viz.compute_receptive_field(model, layer, position)
    assert field.theoretical == box
    assert field.effective_box == box          # LeakyReLU and BatchNorm pass every gradient
    expected_size = {"conv2": (5, 5), "conv4": (13, 13), "leaky_relu3": (9, 9)}[layer]
    assert field.size == expected_size
    assert field.jump == {"conv2": (2, 2), "conv4": (4, 4), "leaky_relu3": (2, 2)}[layer]


def test_receptive_field_errors_and_figure():
    model = zoo.cifar10_cnn(seed=0)
    with pytest.raises(minicnn.errors.ShapeError, match="outside"):
        viz.compute_receptive_field(model, "conv4", (8, 0))
    with pytest.raises(minicnn.errors.ShapeError, match="dense1"):
        viz.compute_receptive_field(model, "dense1", (0, 0))
    fig = viz.receptive_field(model, "conv3", (5, 5))
    assert "13" not in fig.axes[0].get_title() and "9x9" in fig.axes[0].get_title()


@given(h=st.integers(3, 7), w=st.integers(3, 7), k=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]))
def test_animation_frames_compute_the_convolution(h, w, k, stride, padding):
    rng = np.random.default_rng(h * 100 + w * 10 + k)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(k, k))
    geo = kernels.window_geometry(h, w, (k, k), (stride, stride), padding)
    frames = list(viz.forward_frames(image, kernel, stride, padding))
    assert len(frames) == geo.out_h * geo.out_w
    ref = kernels.IMPLEMENTATIONS["reference"]
    y = ref.conv2d_forward(image[None, :, :, None], kernel[:, :, None, None], stride, stride,
                           geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)[0, :, :, 0]
    np.testing.assert_allclose(frames[-1].result, y, rtol=1e-10, atol=1e-12)
    dy = rng.normal(size=(geo.out_h, geo.out_w))
    back = list(viz.backward_frames((h, w), kernel, dy, stride, padding))
    dx = ref.conv2d_backward_input(dy[None, :, :, None], kernel[:, :, None, None], h, w,
                                   stride, stride, geo.pad_top, geo.pad_left)[0, :, :, 0]
    np.testing.assert_allclose(back[-1].result, dx, rtol=1e-10, atol=1e-12)


def test_convolution_animation_writes_a_gif(tmp_path):
    from PIL import Image
    path = viz.convolution_animation(np.arange(25.0).reshape(5, 5), np.eye(3), stride=2, padding="same",
                                     path=tmp_path / "conv.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 9 + 25          # 3x3 output positions, then 5x5 input pixels
