"""minicnn.viz views: each runs headless and draws what its title says (panels, titles, numbers)."""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import minicnn  # noqa: E402
from minicnn import filters as hand  # noqa: E402
from minicnn import layers, viz, zoo  # noqa: E402
from minicnn.errors import ConfigError, ShapeError  # noqa: E402


def small_cnn(input_shape, filters: tuple[int, int], units: int, classes: int, name: str,
              seed: int) -> minicnn.Sequential:
    """Two conv + pool stages (conv1, pool1, conv2, pool2), then flatten, dense and predictions."""
    return minicnn.Sequential([
        layers.Input(input_shape),
        layers.Conv2D(filters[0], 3, padding="same", activation="relu", name="conv1"),
        layers.MaxPool2D(name="pool1"),
        layers.Conv2D(filters[1], 3, padding="same", activation="relu", name="conv2"),
        layers.MaxPool2D(name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(units, activation="relu", name="dense"),
        layers.Dense(classes, activation="softmax", name="predictions"),
    ], name=name, seed=seed)


@functools.lru_cache(maxsize=None)
def _trained():
    """A small CNN trained for 2 epochs on the shapes dataset (cached for the module)."""
    from minicnn.datasets import load_shapes, scale_images
    (x, y), (xt, yt) = load_shapes(n=1200, seed=0)
    model = small_cnn((28, 28, 1), (32, 16), 32, 10, "viz_model", seed=0)
    model.compile("sparse_categorical_crossentropy", minicnn.optimizers.Adam(0.003), metrics=["accuracy"])
    history = model.fit(scale_images(x), y, epochs=2, verbose=0, validation_split=0.1)
    return model, history, scale_images(xt), yt


@pytest.fixture
def trained():
    yield _trained()
    plt.close("all")


def _titles(fig: Figure) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def _panels(fig: Figure) -> list:
    """The figure's panels, without its colorbar."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_feature_maps_grid_of_32(trained):
    model, _, x, _ = trained
    fig = viz.feature_maps(model, x[0], "conv1")
    assert isinstance(fig, Figure)
    assert len(_panels(fig)) == 32 and len(fig.axes) == 33            # and one colorbar
    out = model.trace(x[:1]).outputs["conv1"][0]
    assert [ax.get_title() for ax in _panels(fig)] == [
        str(i) if out[:, :, i].any() else f"{i}: all 0" for i in range(32)]
    # one scale for every panel: a weak channel looks weak
    limits = {ax.images[0].get_clim() for ax in _panels(fig)}
    assert limits == {(float(out.min()), float(out.max()))}
    separate = viz.feature_maps(model, x[0], "conv1", per_panel_scale=True)
    assert len(separate.axes) == 32 and "each panel scaled on its own" in separate._suptitle.get_text()
    # 4 rows x 8 columns: the axes' grid positions
    spec = fig.axes[0].get_subplotspec().get_gridspec()
    assert (spec.nrows, spec.ncols) == (4, 8)
    assert "conv1" in fig._suptitle.get_text() and "28x28x32" in fig._suptitle.get_text()
    # the panels show the layer's real output
    out = model.trace(x[:1]).outputs["conv1"][0]
    np.testing.assert_allclose(fig.axes[5].images[0].get_array(), out[:, :, 5])


def test_feature_maps_limit_and_error(trained):
    model, _, x, _ = trained
    assert len(_panels(viz.feature_maps(model, x[0], "conv1", max_maps=10))) == 10
    with pytest.raises(ShapeError, match="dense"):
        viz.feature_maps(model, x[0], "dense")
    with pytest.raises(ConfigError, match="no layer 'nope'"):
        viz.feature_maps(model, x[0], "nope")


def test_filters_grey_and_rgb(trained):
    model, _, _, _ = trained
    fig = viz.filters(model, "conv1")
    assert len(_panels(fig)) == 32 and "3x3" in fig._suptitle.get_text()
    kernel = model.get_layer("conv1").kernel.value
    tile = _panels(fig)[0].images[0].get_array()
    np.testing.assert_array_equal(tile, kernel[:, :, 0, 0])              # the weights themselves
    largest = float(np.abs(kernel).max())
    assert _panels(fig)[0].images[0].get_clim() == (-largest, largest)   # one scale, centred at 0
    assert len(_panels(fig)[0].texts) == 9                               # a 3x3 kernel carries its numbers
    # a deep layer shows, for each filter, its input channel of largest norm
    deep = viz.filters(model, "conv2")
    w = model.get_layer("conv2").kernel.value[:, :, :, 0]
    strongest = int(np.argmax(np.sqrt((w ** 2).sum(axis=(0, 1)))))
    assert _panels(deep)[0].get_title() == f"0 (in {strongest})"
    np.testing.assert_array_equal(_panels(deep)[0].images[0].get_array(), w[:, :, strongest])
    # a constant kernel (a blur) is drawn at its value, not as a blank panel
    blur = minicnn.Sequential([minicnn.layers.Conv2D(2, 3, input_shape=(5, 5, 1), name="blur")])
    blur.get_layer("blur").kernel.value[...] = 1 / 9
    panel = _panels(viz.filters(blur, "blur"))[0].images[0]
    assert panel.get_clim() == pytest.approx((-1 / 9, 1 / 9))
    colours = panel.to_rgba(panel.get_array())[..., :3].reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) == 1 and colours[0, 0] > colours[0, 2]   # one colour, red (positive)
    cifar = zoo.cifar10_cnn(seed=0)
    rgb = viz.filters(cifar, "conv1")
    assert rgb.axes[0].images[0].get_array().shape == (3, 3, 3) and "RGB" in rgb._suptitle.get_text()
    with pytest.raises(ConfigError, match="no 4-D kernel"):
        viz.filters(model, "pool1")


def _colorbars(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def test_layer_progression_compare_and_heatmaps(trained):
    model, _, x, _ = trained
    fig = viz.layer_progression(model, x[0])
    assert [ax.get_title() for ax in _panels(fig)] == ["input\n28x28x1", "conv1\n28x28x32", "pool1\n14x14x32",
                                                      "conv2\n14x14x16", "pool2\n7x7x16"]
    outputs = model.trace(x[:1]).outputs
    mean_map = outputs["conv2"][0].mean(axis=-1)
    np.testing.assert_allclose(fig.axes[3].images[0].get_array(), mean_map, rtol=1e-6)
    # one scale for the four maps, shown by one colorbar
    means = [outputs[name][0].mean(axis=-1) for name in ("conv1", "pool1", "conv2", "pool2")]
    low, high = min(m.min() for m in means), max(m.max() for m in means)
    limits = [ax.images[0].get_clim() for ax in _panels(fig)[1:]]
    assert len(set(limits)) == 1 and limits[0] == (pytest.approx(low), pytest.approx(high))
    assert len(_colorbars(fig)) == 1
    assert len(_colorbars(viz.layer_progression(model, x[0], per_panel_scale=True))) == 0

    fig = viz.compare_images(model, x[:3], ["conv1", "conv2"], titles=["a", "b", "c"])
    panels = _panels(fig)
    assert len(panels) == 9 and panels[3].get_title() == "b" and len(_colorbars(fig)) == 2
    # a column (one layer) shares a scale over the images; the two columns differ
    conv2_maps = model.trace(x[:3]).outputs["conv2"].mean(axis=-1)
    assert {panels[k].images[0].get_clim() for k in (2, 5, 8)} == {(conv2_maps.min(), conv2_maps.max())}
    assert panels[1].images[0].get_clim() != panels[2].images[0].get_clim()
    separate = viz.compare_images(model, x[:3], ["conv1", "conv2"], per_panel_scale=True)
    assert len(_colorbars(separate)) == 0 and "each panel scaled on its own" in separate._suptitle.get_text()

    fig = viz.activation_heatmaps(model, x[0], ["conv1", "conv2"])
    panels = _panels(fig)
    assert len(panels) == 3 and len(_colorbars(fig)) == 1
    heat = panels[2].images[1]
    assert heat.get_array().shape == (28, 28)                     # upsampled to the input
    assert heat.get_cmap().name == "inferno"                      # perceptually uniform, no jet
    assert panels[1].images[1].get_clim() == heat.get_clim()      # one scale for the layers
    drawn = viz.draw.upsample(outputs["conv2"][0].max(axis=-1), 28, 28)    # the scale covers what is drawn
    assert heat.get_clim()[1] == pytest.approx(float(drawn.max()), rel=1e-6)


def test_value_scales():
    draw = viz.draw
    assert draw.value_scale(np.array([0.5, 2.0])) == {"vmin": 0.5, "vmax": 2.0}
    assert draw.value_scale(np.array([-0.5, 2.0]), signed=True) == {"vmin": -2.0, "vmax": 2.0}
    # constant arrays keep their value visible: the scale runs from 0 to it
    assert draw.value_scale(np.full(4, 0.25)) == {"vmin": 0.0, "vmax": 0.25}
    assert draw.value_scale(np.full(4, -3.0)) == {"vmin": -3.0, "vmax": 0.0}
    assert draw.value_scale(np.zeros(4)) == {"vmin": 0.0, "vmax": 1.0}
    assert draw.value_scale(np.zeros(4), signed=True) == {"vmin": -1.0, "vmax": 1.0}
    assert draw.map_style(np.array([0.0, 3.0])) == (draw.UNSIGNED_CMAP, {"vmin": 0.0, "vmax": 3.0})
    assert draw.map_style(np.array([-1.0, 3.0])) == (draw.SIGNED_CMAP, {"vmin": -3.0, "vmax": 3.0})
    assert draw.map_style(np.array([-1.0, 3.0]), "magma")[0] == "magma"


def test_no_view_uses_jet():
    import pathlib
    sources = pathlib.Path(viz.__file__).parent.glob("*.py")
    assert not [p.name for p in sources if '"jet"' in p.read_text() or "'jet'" in p.read_text()]


def test_dense_activations_and_class_probabilities(trained):
    model, _, x, y = trained
    fig = viz.dense_activations(model, x[0], "dense")
    out = model.trace(x[:1]).outputs["dense"][0]
    assert len(fig.axes[0].patches) == 32
    assert f"active (> 0.1) {int((out > 0.1).sum())}/32" in fig.axes[0].get_title()
    probs = model.predict(x, verbose=0)
    wrong = int(np.flatnonzero(probs.argmax(1) != y)[0])
    fig = viz.class_probabilities(model, x[wrong], true_label=y[wrong])
    colours = [bar.get_facecolor() for bar in fig.axes[0].patches]
    assert colours[probs[wrong].argmax()] == matplotlib.colors.to_rgba("tab:green")
    assert colours[y[wrong]] == matplotlib.colors.to_rgba("tab:red")
    # The view predicts the one image alone; BLAS may round a product of one image's
    # rows differently from the same rows inside a batch, so compare like with like.
    alone = model.predict(x[wrong:wrong + 1], verbose=0)[0]
    np.testing.assert_allclose([bar.get_height() for bar in fig.axes[0].patches], alone, rtol=1e-6)
    labels = [text.get_text() for text in fig.axes[0].texts]             # every bar carries its value
    assert len(labels) == 10 and labels[int(alone.argmax())] == f"{alone.max():.1%}"


def test_statistics_table_matches_numpy(trained):
    model, _, x, _ = trained
    table = viz.activation_statistics(model, x[:20], ["conv1", "dense"])
    out = model.trace(x[:20]).outputs["conv1"]
    row = table[0]
    assert row.shape == (28, 28, 32) and row.count == out.size
    np.testing.assert_allclose([row.mean, row.std, row.min, row.max, row.zeros],
                               [out.mean(), out.std(), out.min(), out.max(), 100 * np.mean(out == 0)], rtol=1e-5)
    text = str(table)
    assert "% zeros" in text and "conv1" in text and "dense" in text
    figure = table.figure()
    assert len(figure.axes) == 2
    # the std bars stop at the layer's min and max: no ReLU activation below 0
    lower_ends = [segment[0][1] for segment in figure.axes[0].collections[0].get_segments()]
    np.testing.assert_allclose(lower_ends, [max(r.mean - r.std, r.min) for r in table], rtol=1e-6)
    assert min(lower_ends) >= 0


def test_results_views(trained):
    model, history, x, y = trained
    assert [ax.get_title() for ax in viz.training_curves(history).axes] == ["loss", "accuracy"]
    fig = viz.confusion_matrix(model, x, y)
    predicted = model.predict(x, verbose=0).argmax(1)
    cm = viz.confusion_counts(y, predicted, 10)
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), cm)
    assert cm.sum() == len(x) and np.trace(cm) == (predicted == y).sum()
    fig = viz.misclassified(model, x, y, n=6)
    wrong = np.flatnonzero(predicted != y)
    assert len(fig.axes) == min(6, len(wrong))
    assert fig.axes[0].get_title() == f"pred: {predicted[wrong[0]]}, true: {y[wrong[0]]}"
    assert fig._suptitle.get_text().startswith(f"{len(wrong)} of {len(x)}")


def test_dead_filters_found(trained):
    model, _, x, _ = trained
    conv2 = model.get_layer("conv2")
    saved = conv2.bias.value.copy()
    before = viz.filter_activation_rates(model, x[:100], "conv2")
    out = model.trace(x[:100]).outputs["conv2"]
    np.testing.assert_allclose(before, (out > 0).mean(axis=(0, 1, 2)))
    alive = int(np.flatnonzero(before > 0.1)[0])
    try:
        conv2.bias.value[alive] = -1e3        # this filter can never fire now
        rates = viz.filter_activation_rates(model, x[:100], "conv2")
        assert rates[alive] == 0.0
        np.testing.assert_array_equal(np.delete(rates, alive), np.delete(before, alive))
        fig = viz.dead_filters(model, x[:100], "conv2")
        assert f"{int((rates == 0).sum())} dead" in fig.axes[0].get_title()
    finally:
        conv2.bias.value[...] = saved


def test_batchnorm_inspector_reports_batch_and_moving_statistics(rng):
    model = zoo.cifar10_cnn(seed=0)
    model.get_layer("bn1").moving_mean.value[...] = 0.25
    x = rng.uniform(size=(8, 32, 32, 3)).astype("float32")
    state = viz.batchnorm_state(model, x, "bn1")
    conv1 = model.trace(x).outputs["conv1"]
    np.testing.assert_allclose(state.batch_mean, conv1.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(state.batch_var, conv1.var(axis=(0, 1, 2)), rtol=1e-4)
    assert (state.moving_mean == 0.25).all()
    assert len(viz.batchnorm_inspector(model, x, "bn1").axes) == 3
    with pytest.raises(ConfigError, match="not a BatchNormalization"):
        viz.batchnorm_state(model, x, "conv1")
    plt.close("all")


def test_gradient_views(trained):
    model, _, x, y = trained
    trace = model.trace(x[:4], y[:4])
    grads = trace.grads["conv2"]
    largest = int(np.argmax([np.linalg.norm(g) for g in grads]))
    fig = viz.gradient_maps(trace, "conv2", max_maps=16)
    panels = _panels(fig)
    assert len(panels) == 32 and len(_colorbars(fig)) == 4           # each row its colorbar
    assert f"sample {largest}" in fig._suptitle.get_text()            # the image the loss asks most of
    assert panels[8].get_title() == "dL/dA[0]"
    np.testing.assert_allclose(panels[8].images[0].get_array(), grads[largest, :, :, 0])
    limit = float(np.abs(grads[largest, :, :, :16]).max())
    assert panels[8].images[0].get_clim() == (-limit, limit)          # signed: centred at 0
    active = trace.outputs["conv2"][largest]
    assert [ax.get_title() for ax in panels[:8]] == [
        f"A[{c}]" if active[:, :, c].any() else f"A[{c}]: all 0" for c in range(8)]
    assert "sample 2" in viz.gradient_maps(trace, "conv2", sample=2)._suptitle.get_text()
    # a near-zero loss is said, with what to do instead
    confident = np.flatnonzero(model.predict(x, verbose=0).max(axis=1) > 0.9999)
    if len(confident):
        calm = model.trace(x[confident[:1]], y[confident[:1]])
        assert calm.loss < 1e-3 and "viz.saliency" in viz.gradient_maps(calm, "conv2")._suptitle.get_text()
    fig = viz.weight_gradients(trace, "conv1")
    panels = _panels(fig)
    assert len(panels) == 33 and panels[-1].get_title() == "dL/dbias" and len(_colorbars(fig)) == 1
    dkernel = trace.weight_grads["conv1"][0]
    np.testing.assert_array_equal(panels[3].images[0].get_array(), dkernel[:, :, 0, 3])
    scale = float(np.abs(dkernel).max())
    assert panels[3].images[0].get_clim() == (-scale, scale)
    dead = [f for f in range(32) if not dkernel[..., f].any()]
    assert [panels[f].get_title() for f in dead] == [f"filter {f}: all 0" for f in dead]
    deep = viz.weight_gradients(trace, "conv2")
    w = trace.weight_grads["conv2"][0][:, :, :, 0]
    strongest = int(np.argmax((w ** 2).sum(axis=(0, 1))))
    assert _panels(deep)[0].get_title().startswith(f"0 (in {strongest})")
    with pytest.raises(ConfigError, match="no gradients"):
        viz.gradient_maps(model.trace(x[:2]), "conv2")


def test_gradient_flow_flags_a_vanishing_layer(rng):
    model = minicnn.Sequential([layers.Input((6,)), layers.Dense(8, activation="tanh", name="low"),
                                layers.Dense(8, activation="tanh", name="squeeze"),
                                layers.Dense(3, activation="softmax", name="out")], seed=0)
    model.get_layer("squeeze").kernel.value[...] *= 1e-7      # almost no signal flows back
    # A tiny learning rate keeps the squeeze in place for the two epochs.
    model.compile("sparse_categorical_crossentropy", minicnn.optimizers.SGD(1e-6))
    flow = viz.GradientFlow()
    x = rng.normal(size=(64, 6)).astype("float32")
    model.fit(x, rng.integers(0, 3, 64), epochs=2, batch_size=16, verbose=0, callbacks=[flow])
    assert set(flow.history) == {"low", "squeeze", "out"}
    assert len(flow.history["low"]["grad_norm"]) == 2
    assert flow.flags() == {"low": "vanishing"}
    assert all(r > 0 for r in flow.history["out"]["update_ratio"])
    fig = flow.plot()
    assert "low" in fig._suptitle.get_text()
    plt.close("all")


def test_hand_filters_apply_and_match(trained):
    step = np.zeros((6, 6))
    step[:, 3:] = 1.0                                    # a vertical edge between columns 2 and 3
    response = hand.apply(step, hand.sobel_x(), padding="valid")
    expected = np.array([[np.sum(step[i:i + 3, j:j + 3] * hand.sobel_x()) for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(response, expected)
    assert (response[:, 1:3] == 4).all() and (response[:, [0, 3]] == 0).all()
    assert hand.apply(np.ones((5, 5, 3)), hand.blur()).shape == (5, 5, 3)
    model = _trained()[0]
    conv1 = model.get_layer("conv1")
    saved = conv1.kernel.value.copy()
    try:
        conv1.kernel.value[:, :, 0, 7] = 3 * hand.sobel_x()
        match = {m.name: m for m in viz.closest_learned(model)}["sobel_x"]
        assert match.learned == 7 and match.cosine == pytest.approx(1.0)
        fig = viz.handcrafted_vs_learned(model, trained[2][0])
        assert len(fig.axes) == 4 * len(hand.BANK)
        assert fig.axes[1].get_title() == "learned #7, cos +1.00"
    finally:
        conv1.kernel.value[...] = saved


def test_overlay_handles_all_zero_and_small_maps(trained):
    image = trained[2][0]
    fig = viz.overlay(image, np.zeros((7, 7)))
    heat = fig.axes[0].images[1].get_array()
    assert heat.shape == (28, 28) and np.all(heat == 0)
    assert len(_colorbars(fig)) == 1


def test_overlay_scales_by_sign(trained):
    image = trained[2][0]
    positive = np.linspace(0, 3, 28 * 28).reshape(28, 28)
    fig = viz.overlay(image, positive, label="saliency")
    drawn = fig.axes[0].images[1]
    assert drawn.get_clim() == (0.0, 3.0) and drawn.get_cmap().name == viz.draw.HEAT_CMAP
    assert _colorbars(fig)[0].get_ylabel() == "saliency"
    signed = np.zeros((28, 28, 3))
    signed[3, 4] = [1.0, -0.5, 0.25]                          # (H, W, C): summed over channels
    signed[10, 10, 0] = -2.0
    drawn = viz.overlay(image, signed).axes[0].images[1]
    assert drawn.get_cmap().name == viz.draw.SIGNED_CMAP and drawn.get_clim() == (-2.0, 2.0)
    assert drawn.get_array()[3, 4] == pytest.approx(0.75) and drawn.get_array().sum() == pytest.approx(-1.25)


def test_handcrafted_kernels_show_their_values(trained):
    model = trained[0]
    fig = viz.handcrafted_vs_learned(model)
    rows = {ax.get_title(): ax for ax in fig.axes}
    blur = rows["blur"]
    assert [t.get_text() for t in blur.texts] == ["0.11"] * 9             # a constant kernel, with its value
    colours = blur.images[0].to_rgba(blur.images[0].get_array())[..., :3].reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) == 1 and colours[0, 0] > colours[0, 2]   # one colour: red
    sobel = rows["sobel_x"].images[0]
    assert sobel.get_clim() == (-2.0, 2.0) and sobel.get_cmap().name == viz.draw.SIGNED_CMAP


def test_maximized_inputs_flags_channels_stuck_at_zero(trained):
    model = trained[0]
    conv2 = model.get_layer("conv2")
    saved = conv2.bias.value.copy()
    try:
        conv2.bias.value[1] = -1e3                     # channel 1 can never turn on
        fig = viz.maximized_inputs(model, "conv2", channels=[0, 1], steps=5, value_range=(0.0, 1.0))
    finally:
        conv2.bias.value[...] = saved
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[1] == "channel 1: stuck at 0" and "->" in titles[0]
    assert "1 stuck at 0" in fig._suptitle.get_text()
    run = viz.activation_maximization(model, "conv2", 0, steps=5, value_range=(0.0, 1.0))
    assert titles[0] == f"channel 0: {run.activation[0]:.2f} -> {run.activation[-1]:.2f}"


def test_crop_on_detail_finds_the_object():
    image = np.zeros((28, 28))
    image[15:20, 3:9] = 1.0
    crop = viz.crop_on_detail(image, 8)
    assert crop.shape == (8, 8) and crop.sum() == 30 and 0 < crop.mean() < 1
    with pytest.raises(ShapeError):
        viz.crop_on_detail(np.zeros((4, 4, 3)))


def test_each_filter_is_shown_on_its_input_channel_of_largest_norm():
    from minicnn.viz import draw
    kernel = np.zeros((2, 2, 3, 2), np.float32)
    kernel[:, :, 1, 0] = [[1.0, -2.0], [0.0, 0.5]]      # filter 0: largest on channel 1
    kernel[:, :, 0, 0] = 1.0                            # norm 2 < norm of channel 1 (2.29)
    kernel[0, 0, 2, 1] = -3.0                           # filter 1: channel 2, a negative weight
    tiles, channels = draw.strongest_input_channel(kernel)
    assert channels.tolist() == [1, 2]
    assert np.array_equal(tiles[0], kernel[:, :, 1, 0]) and np.array_equal(tiles[1], kernel[:, :, 2, 1])
