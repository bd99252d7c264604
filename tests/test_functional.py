"""The functional API (``minicnn.Model``) and its layers: Add, Concatenate,
DepthwiseConv2D, Conv2DTranspose, ReLU6 - finite differences, equivalence
with ``Sequential``, Keras's layer order, saving, errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn
from minicnn import kernels
from minicnn import layers as L
from minicnn.errors import ConfigError, ShapeError
from minicnn.viz import probe
from tests.gradcheck import assert_gradients_ok, check_layer, numeric_gradient, relative_error


# ---------------------------------------------------------------- single layers, float64
@pytest.mark.parametrize("backend", ["reference", "numba", "im2col"])
@pytest.mark.parametrize("make, shape", [
    (lambda: L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, activation="tanh"), (2, 5, 6, 3)),
    (lambda: L.DepthwiseConv2D((2, 3), padding="valid"), (2, 5, 4, 2)),
    (lambda: L.DepthwiseConv2D(3, strides=(1, 2), padding="valid", depth_multiplier=3, use_bias=False), (1, 6, 7, 2)),
    (lambda: L.Conv2DTranspose(3, 3, strides=2, padding="same", activation="tanh"), (2, 3, 4, 2)),
    (lambda: L.Conv2DTranspose(2, (2, 3), strides=(3, 1), padding="valid"), (2, 3, 2, 2)),
    (lambda: L.Conv2DTranspose(4, 4, strides=2, padding="same", use_bias=False), (1, 3, 3, 3)),
    (lambda: L.Conv2DTranspose(2, 4, strides=2, padding="same", output_padding=1), (1, 3, 4, 2)),
    (lambda: L.Conv2DTranspose(3, (3, 2), strides=(3, 2), padding="valid", output_padding=(2, 0)), (2, 2, 3, 2)),
], ids=["dw-same-s2-m2", "dw-valid", "dw-valid-s12-m3", "tr-same-s2", "tr-valid-s31", "tr-k4-s2",
        "tr-k4-s2-op1", "tr-valid-op20"])
def test_new_conv_layers_gradcheck(float64, backend, make, shape, rng):
    with minicnn.config.using(backend=backend):
        layer = make()
        layer.build(shape[1:])
        assert_gradients_ok(check_layer(layer, rng.standard_normal(shape)))


def test_relu6_gradcheck(float64, rng):
    layer = L.ReLU(6.0)
    layer.build((4, 5))
    # Values away from the kinks at 0 and 6, where the derivative jumps.
    x = rng.choice([-1.0, 1.0], (3, 4, 5)) * rng.uniform(0.5, 2.5, (3, 4, 5)) + rng.choice([0.0, 6.0], (3, 4, 5))
    assert_gradients_ok(check_layer(layer, x))
    assert layer.apply(np.array([[-3.0, 2.0, 7.5, 6.0, 0.0]] * 1).reshape(1, 1, 5).repeat(4, 1), False).max() == 6.0


def test_transpose_is_the_input_gradient_of_conv(rng):
    """Conv2DTranspose(x) with kernel K equals Conv2D's dL/dx for dy = x (same K, stride, padding)."""
    conv = L.Conv2D(3, 3, strides=2, padding="same", use_bias=False)
    conv.build((8, 8, 3))
    tr = L.Conv2DTranspose(3, 3, strides=2, padding="same", use_bias=False)
    tr.build((4, 4, 3))
    x = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    tr.kernel.value[...] = conv.kernel.value
    dy = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    conv.apply(x)
    dx = conv.backward(dy)
    y = tr.apply(dy)
    assert y.shape == (2, 8, 8, 3)  # 'same' gives H*s
    np.testing.assert_allclose(y, dx, rtol=1e-5, atol=1e-5)


@given(st.integers(1, 3), st.integers(1, 7), st.integers(1, 7), st.integers(1, 4), st.integers(1, 3),
       st.integers(1, 3), st.integers(1, 2), st.sampled_from(["valid", "same"]), st.integers(0, 10**6))
def test_depthwise_kernels_agree(n, h, w, c, k, s, m, padding, seed):
    if padding == "valid" and (h < k or w < k):
        return
    rng = np.random.default_rng(seed)
    geo = kernels.window_geometry(h, w, (k, k), (s, s), padding)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    kern = rng.standard_normal((k, k, c, m)).astype(np.float32)
    dy = rng.standard_normal((n, geo.out_h, geo.out_w, c * m)).astype(np.float32)
    ref, fast = kernels.IMPLEMENTATIONS["reference"], kernels.IMPLEMENTATIONS["numba"]
    args = (s, s, geo.pad_top, geo.pad_left)
    for name, call in [
        ("forward", lambda impl: impl.depthwise_conv2d_forward(x, kern, *args, geo.out_h, geo.out_w)),
        ("input", lambda impl: impl.depthwise_conv2d_backward_input(dy, kern, h, w, *args)),
        ("kernel", lambda impl: impl.depthwise_conv2d_backward_kernel(x, dy, k, k, *args)),
    ]:
        np.testing.assert_allclose(call(fast), call(ref), rtol=1e-5, atol=1e-5, err_msg=name)


def test_depthwise_is_a_conv2d_with_a_block_diagonal_kernel(rng):
    """Channel c*M + m of a depthwise conv = a full conv whose kernel is zero except from channel c."""
    dw = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False)
    dw.build((6, 5, 3))
    full = L.Conv2D(6, 3, padding="same", use_bias=False)
    full.build((6, 5, 3))
    full.kernel.value[...] = 0.0
    for c in range(3):
        for m in range(2):
            full.kernel.value[:, :, c, c * 2 + m] = dw.kernel.value[:, :, c, m]
    x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(dw.apply(x), full.apply(x), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- graphs
def _residual_graph(seed: int | None = 0):
    """x feeds a conv, and both feed Add (x is read twice); then a Concatenate."""
    inputs = L.Input((6, 6, 2))
    x = L.Conv2D(3, 3, padding="same", activation="tanh")(inputs)
    y = L.DepthwiseConv2D(3, padding="same", activation="tanh")(x)
    z = L.Add()([x, y, x])                          # x twice: three gradient paths into x
    t = L.Conv2DTranspose(2, 2, strides=2, padding="valid")(z)
    u = L.Conv2D(3, 2, strides=2)(t)
    c = L.Concatenate()([u, x])
    out = L.Dense(4, activation="softmax")(L.Flatten()(c))
    return minicnn.Model(inputs, out, seed=seed)


def test_model_gradients_match_finite_differences(float64, rng):
    model = _residual_graph()
    model.compile("sparse_categorical_crossentropy", "sgd")
    x = rng.standard_normal((3, 6, 6, 2))
    y = np.array([0, 3, 1])

    def loss() -> float:
        return float(model.loss.value(y, model.forward(x)[-1]))

    trace = model.trace(x, y)
    assert relative_error(trace.grads["input"], numeric_gradient(loss, x)) < 1e-6
    for layer in model._layers:
        for p, g in zip(layer.trainable_weights, trace.weight_grads[layer.name]):
            assert relative_error(g, numeric_gradient(loss, p.value)) < 1e-6, (layer.name, p.name)


def test_add_with_a_shared_input_accumulates(float64, rng):
    """y = x + x + x: dL/dx must be 3 * dL/dy (each path's gradient added)."""
    inputs = L.Input((4,))
    d = L.Dense(4, use_bias=False)
    x = d(inputs)
    model = minicnn.Model(inputs, L.Add()([x, x, x]))
    a = rng.standard_normal((2, 4))
    g = rng.standard_normal((2, 4))
    model.forward(a)
    dx = model.backward(g)
    np.testing.assert_allclose(d.kernel.grad, 3 * a.T @ g)
    np.testing.assert_allclose(dx, 3 * g @ d.kernel.value.T)


def test_concatenate_gradcheck(float64, rng):
    layer = L.Concatenate(axis=2)
    layer.build([(3, 2, 4), (3, 5, 4)])
    xs = [rng.standard_normal((2, 3, 2, 4)), rng.standard_normal((2, 3, 5, 4))]
    g = rng.standard_normal((2, 3, 7, 4))
    dxs = layer.backward(g) if layer.apply(xs) is not None else None
    for x, dx in zip(xs, dxs):
        numeric = numeric_gradient(lambda: float((layer.apply(xs) * g).sum()), x)
        assert relative_error(dx, numeric) < 1e-6
    assert layer.output_shape == (3, 7, 4)


def test_chain_as_model_equals_sequential(rng):
    """The same chain built both ways: same outputs, gradients and training steps."""
    def stack():
        return [L.Conv2D(4, 3, activation="relu"), L.BatchNormalization(), L.MaxPool2D(),
                L.Flatten(), L.Dense(3, activation="softmax")]
    seq = minicnn.Sequential([L.Input((8, 8, 1))] + stack())
    inputs = L.Input((8, 8, 1))
    x = inputs
    for layer in stack():
        x = layer(x)
    fun = minicnn.Model(inputs, x)
    fun.set_weights(seq.get_weights())
    for m in (seq, fun):
        m.compile("sparse_categorical_crossentropy", minicnn.optimizers.Adam(1e-2), ["accuracy"])
    xs = rng.standard_normal((16, 8, 8, 1)).astype(np.float32)
    ys = rng.integers(0, 3, 16)
    for _ in range(3):
        assert seq.train_on_batch(xs, ys) == fun.train_on_batch(xs, ys)
    for a, b in zip(seq.get_weights(), fun.get_weights()):
        np.testing.assert_array_equal(a, b)
    ts, tf_ = seq.trace(xs, ys), fun.trace(xs, ys)
    for name_s, name_f in zip(ts.outputs, tf_.outputs):
        np.testing.assert_array_equal(ts.outputs[name_s], tf_.outputs[name_f])
        np.testing.assert_array_equal(ts.grads[name_s], tf_.grads[name_f])


def test_keras_layer_order_and_names():
    """Layers listed by decreasing depth (longest path to the output), ties in
    the order a walk from the output meets them - checked live against Keras in
    test_functional_live.py; here the order that rule gives for this graph."""
    model = _residual_graph()
    assert [l.name for l in model.layers] == [
        "input_layer", "conv2d", "depthwise_conv2d", "add", "conv2d_transpose", "conv2d_1",
        "concatenate", "flatten", "dense"]
    assert model.layers[0] is model.input.layer
    assert model.get_layer("add").inbound[0] is model.get_layer("conv2d").output


def test_feature_extraction_model_as_in_the_seed(rng):
    """Model(base.input, [base.get_layer(n).output ...]): predict returns one array per output."""
    base = _residual_graph()
    names = ["conv2d", "add", "concatenate"]
    features = minicnn.Model(base.input, [base.get_layer(n).output for n in names])
    x = rng.standard_normal((5, 6, 6, 2)).astype(np.float32)
    maps = features.predict(x, batch_size=2, verbose=0)
    trace = base.trace(x)
    assert [m.shape for m in maps] == [trace.outputs[n].shape for n in names]
    for n, m in zip(names, maps):
        np.testing.assert_allclose(m, trace.outputs[n], rtol=1e-6)
    with pytest.raises(ConfigError, match="3 outputs"):
        features.compile("mse", "sgd")


def test_summary_has_connected_to():
    lines = []
    _residual_graph().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text
    add_row = text.index(" add (Add)")
    assert text[add_row:].split("\n")[0].rstrip().endswith("conv2d[0][0]")
    assert "depthwise_conv2d[0][0]" in text[add_row:text.index("conv2d_transpose (")]


def test_save_and_load_a_functional_model(tmp_path, rng):
    model = _residual_graph()
    model.compile("sparse_categorical_crossentropy", "adam", ["accuracy"])
    x = rng.standard_normal((8, 6, 6, 2)).astype(np.float32)
    y = rng.integers(0, 4, 8)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "g.minicnn")
    loaded = minicnn.load_model(tmp_path / "g.minicnn")
    assert isinstance(loaded, minicnn.Model)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # The optimizer state came along: the next step is the same step.
    assert loaded.train_on_batch(x, y) == model.train_on_batch(x, y)


def test_viz_works_on_a_graph(float64, rng):
    """The class-score gradient through the graph matches finite differences,
    and the views run on a functional model."""
    from minicnn import viz
    model = _residual_graph()
    x = rng.standard_normal((1, 6, 6, 2))
    _, dx = probe.score_gradient(model, x, 2)
    numeric = numeric_gradient(lambda: float(probe.class_scores(model, x)[0, 2]), x)
    assert relative_error(dx, numeric) < 1e-6
    assert len(viz.feature_maps(model, x[0], "add").axes) >= 3
    cam = viz.grad_cam(model, x[0], layer="add", class_index=2)
    assert cam.shape == (6, 6) and np.isfinite(cam).all()


def test_errors_name_the_problem():
    inputs = L.Input((4, 4, 2))
    conv = L.Conv2D(2, 1)
    conv(inputs)
    with pytest.raises(ConfigError, match="already been called"):
        conv(inputs)
    with pytest.raises(ShapeError, match="adds tensors of one shape"):
        L.Add()([inputs, L.Conv2D(3, 1)(inputs)])
    with pytest.raises(ShapeError, match="match except along axis"):
        L.Concatenate(axis=1)([inputs, L.Conv2D(3, 1)(inputs)])
    other = L.Input((4, 4, 2))
    with pytest.raises(ConfigError, match="disconnected"):
        minicnn.Model(inputs, L.Add()([inputs, other]))
    with pytest.raises(ConfigError, match="has no .output"):
        L.Dense(2).output
    with pytest.raises(ConfigError, match="output is the input"):
        minicnn.Model(inputs, inputs)
    with pytest.raises(ConfigError, match="takes one input"):
        L.Dense(2)([inputs, inputs])


def test_receptive_field_on_a_functional_chain_and_a_branching_graph():
    from minicnn import viz
    from minicnn.viz.receptive_field import theoretical_field
    inputs = L.Input((9, 9, 1))
    x = L.ZeroPadding2D(((1, 0), (1, 0)))(inputs)
    x = L.DepthwiseConv2D(3, strides=2)(x)
    x = L.Conv2D(2, 3, padding="same")(x)
    chain = minicnn.Model(inputs, x)
    # Worked by hand: the conv's 3x3 window at (1, 1) covers rows 0..2 of the depthwise
    # output, whose 3x3 stride-2 windows cover padded rows 0..6 = input rows -1..5.
    box, size, jump = theoretical_field(chain, "conv2d", (1, 1))
    assert box == (0, 0, 5, 5) and size == (7, 7) and jump == (2, 2)
    with pytest.raises(ConfigError, match="branching graphs are not supported"):
        viz.receptive_field(_residual_graph(), "add", (1, 1))


def test_conv2d_transpose_output_padding_shapes_and_errors():
    """Keras's rule: OH = (H - 1)*s + k - 2*(k//2 if 'same' else 0) + output_padding."""
    def out(layer, shape):
        layer.build(shape, np.random.default_rng(0))
        return layer.output_shape
    assert out(L.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1), (4, 5, 3)) == (8, 10, 2)
    assert out(L.Conv2DTranspose(2, 4, strides=2, padding="same", output_padding=1), (4, 5, 3)) == (7, 9, 2)
    assert out(L.Conv2DTranspose(2, 2, strides=3, padding="valid", output_padding=2), (4, 5, 3)) == (13, 16, 2)
    assert out(L.Conv2DTranspose(2, 3, padding="same", output_padding=0), (4, 5, 3)) == (4, 5, 2)
    with pytest.raises(ShapeError, match="output_padding must be at least 1"):
        out(L.Conv2DTranspose(2, 4, strides=2, padding="same", output_padding=0), (4, 5, 3))
    with pytest.raises(ConfigError, match="smaller than the strides"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ConfigError, match="at least 0"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=-1)
    layer = L.Conv2DTranspose(2, 3, strides=(2, 3), output_padding=(1, 2))
    assert layer.get_config()["output_padding"] == [1, 2]
    assert L.Conv2DTranspose(**layer.get_config()).output_padding == (1, 2)
