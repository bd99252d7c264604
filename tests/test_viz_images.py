"""Every view drawn and compared with a committed picture, so that a figure cannot silently degrade.

The other viz tests check the numbers behind each figure (which array a panel shows, its colour
scale, its title); these check the picture as a whole: layout, colour maps, colorbars, overlays.

How the comparison is kept fair across machines:

* the models are untrained, with weights from minicnn's seeded initializers, and the images are
  drawn by NumPy from fixed seeds, so every machine draws the same values (up to BLAS's rounding,
  far below one colour step);
* all text is hidden before saving: fonts and their rendering differ between FreeType builds,
  and the words are checked by the other tests. Text takes no room in the layout then, so the
  picture is the same wherever it is drawn;
* ``matplotlib.testing.compare.compare_images`` measures the RMS difference of the two PNGs on
  the 0-255 scale; ``TOLERANCE`` lets antialiasing differences through, and
  ``test_the_comparison_sees_a_changed_figure`` shows that a changed colour map, a lost
  colorbar or a per-panel scale is far above it.

To redraw the baselines after an intended change of a view::

    MINICNN_WRITE_BASELINES=1 python -m pytest tests/test_viz_images.py

then look at each changed PNG in ``tests/baseline_images/`` before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import minicnn  # noqa: E402
from minicnn import layers, viz  # noqa: E402

from .test_viz_views import small_cnn  # noqa: E402

BASELINES = Path(__file__).parent / "baseline_images"
WRITE = os.environ.get("MINICNN_WRITE_BASELINES") == "1"
TOLERANCE = 2.0
"""RMS difference (0-255 scale) allowed. Measured: the same figure drawn twice differs by 0; the
changes in ``test_the_comparison_sees_a_changed_figure`` by 24 (another image), 49 (``jet``) and
69 (each panel on its own scale)."""


def _grey_model():
    return small_cnn((16, 16, 1), (8, 8), 12, 4, "pinned_grey", seed=7)


def _rgb_model():
    return minicnn.Sequential([
        layers.Input((16, 16, 3)),
        layers.Conv2D(6, 3, padding="same", name="conv1"),
        layers.BatchNormalization(name="bn1"),
        layers.ReLU(name="relu1"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(3, activation="softmax", name="predictions"),
    ], name="pinned_rgb", seed=11)


def _images(channels: int, count: int = 6) -> np.ndarray:
    """A bright square on noise, at a different place in each image."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 0.3, size=(count, 16, 16, channels)).astype("float32")
    for k in range(count):
        top, left = 2 + k, 9 - k
        x[k, top:top + 6, left:left + 5] += np.linspace(0.4, 0.7, channels, dtype="float32")
    return x


def _views():
    """name -> a function drawing the view (built lazily: each test draws one)."""
    grey, rgb = _grey_model(), _rgb_model()
    x, x_rgb = _images(1), _images(3)
    labels = np.array([0, 1, 2, 3, 0, 1])
    grey.compile("sparse_categorical_crossentropy", "adam")
    history = {"loss": [1.2, 0.8, 0.6], "val_loss": [1.3, 1.0, 0.9],
               "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.45, 0.6, 0.7]}
    return {
        "feature_maps": lambda: viz.feature_maps(grey, x[0], "conv1"),
        "feature_maps_rgb_model": lambda: viz.feature_maps(rgb, x_rgb[0], "relu1"),
        "filters": lambda: viz.filters(grey, "conv2"),
        "filters_rgb": lambda: viz.filters(rgb, "conv1"),
        "layer_progression": lambda: viz.layer_progression(grey, x[0]),
        "compare_images": lambda: viz.compare_images(grey, x[:3], ["conv1", "conv2"]),
        "activation_heatmaps": lambda: viz.activation_heatmaps(grey, x[0], ["conv1", "conv2"]),
        "dense_activations": lambda: viz.dense_activations(grey, x[0], "dense"),
        "class_probabilities": lambda: viz.class_probabilities(grey, x[0], true_label=2),
        "activation_statistics": lambda: viz.activation_statistics(grey, x, ["conv1", "conv2", "dense"]).figure(),
        "gradient_maps": lambda: viz.gradient_maps(grey.trace(x, labels), "conv2"),
        "weight_gradients": lambda: viz.weight_gradients(grey.trace(x, labels), "conv1"),
        "saliency": lambda: viz.overlay(x[0], viz.saliency(grey, x[0]), label="|d score / d pixel|"),
        "integrated_gradients": lambda: viz.overlay(x_rgb[0], viz.integrated_gradients(rgb, x_rgb[0],
                                                                                       steps=8).attributions),
        "grad_cam": lambda: viz.overlay(x[0], viz.grad_cam(grey, x[0], "conv2")),
        "occlusion": lambda: viz.overlay(x[0], viz.occlusion(grey, x[0], patch=4, stride=4)),
        "handcrafted_vs_learned": lambda: viz.handcrafted_vs_learned(grey, x[0]),
        "receptive_field": lambda: viz.receptive_field(grey, "conv2", (4, 4), image=x[0]),
        "maximized_inputs": lambda: viz.maximized_inputs(grey, "conv2", channels=4, steps=3,
                                                         value_range=(0.0, 1.0)),
        "dead_filters": lambda: viz.dead_filters(grey, x, "conv2"),
        "batchnorm_inspector": lambda: viz.batchnorm_inspector(rgb, x_rgb, "bn1"),
        "training_curves": lambda: viz.training_curves(history),
        "confusion_matrix": lambda: viz.confusion_matrix(grey, x, labels),
        "misclassified": lambda: viz.misclassified(grey, x, labels, n=4),
        "convolution_frame": lambda: viz.convolution_frame(x[0, 4:10, 4:10, 0], np.array(
            [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]), 20, padding="same"),
    }


VIEWS = list(_views())


def _save_without_text(fig, path: Path) -> None:
    for text in fig.findobj(Text):
        text.set_visible(False)
    fig.savefig(path, dpi=40)
    plt.close(fig)


def _difference(fig, name: str, tmp_path: Path) -> float:
    """RMS difference between ``fig`` and the baseline ``name``."""
    actual = tmp_path / f"{name}.png"
    _save_without_text(fig, actual)
    result = compare_images(str(BASELINES / f"{name}.png"), str(actual), tol=0, in_decorator=True)
    return 0.0 if result is None else float(result["rms"])


@pytest.mark.parametrize("name", VIEWS)
def test_view_matches_its_baseline(name, tmp_path):
    fig = _views()[name]()
    if WRITE:
        BASELINES.mkdir(exist_ok=True)
        _save_without_text(fig, BASELINES / f"{name}.png")
        pytest.skip(f"baseline written: {BASELINES / name}.png")
    assert (BASELINES / f"{name}.png").exists(), f"no baseline for {name}: see this module's docstring"
    rms = _difference(fig, name, tmp_path)
    assert rms <= TOLERANCE, f"{name} differs from its baseline by RMS {rms:.2f} (> {TOLERANCE})"


def test_every_view_is_pinned():
    """The list above covers every public view of minicnn.viz that returns a figure."""
    drawn = {"feature_maps", "filters", "layer_progression", "compare_images", "activation_heatmaps",
             "dense_activations", "class_probabilities", "gradient_maps", "weight_gradients", "overlay",
             "handcrafted_vs_learned", "receptive_field", "maximized_inputs", "dead_filters",
             "batchnorm_inspector", "training_curves", "confusion_matrix", "misclassified", "convolution_frame"}
    views = {name for name in viz.__all__ if callable(getattr(viz, name))
             and getattr(getattr(viz, name), "__annotations__", {}).get("return") in ("Figure", "'Figure'")}
    assert views <= drawn, f"views without a pinned picture: {sorted(views - drawn)}"
    assert set(VIEWS) >= drawn - {"overlay"}


@pytest.mark.skipif(WRITE, reason="baselines are being written")
def test_the_comparison_sees_a_changed_figure(tmp_path):
    """A changed colour map, a lost colorbar or a per-panel scale is far above the tolerance."""
    grey = _grey_model()
    x = _images(1)
    changed = {
        "jet": viz.feature_maps(grey, x[0], "conv1", cmap="jet"),
        "per panel": viz.feature_maps(grey, x[0], "conv1", per_panel_scale=True),
        "another image": viz.feature_maps(grey, x[3], "conv1"),
    }
    for what, fig in changed.items():
        rms = _difference(fig, "feature_maps", tmp_path)
        assert rms > 4 * TOLERANCE, f"{what}: RMS {rms:.2f} is too close to the tolerance"
    same = _difference(viz.feature_maps(grey, x[0], "conv1"), "feature_maps", tmp_path)
    assert same <= TOLERANCE
