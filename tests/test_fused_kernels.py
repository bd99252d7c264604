"""The fused kernels (activations with their bias, BatchNorm statistics, im2col's groups, Adam) agree with plain NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn.fast import batchnorm, elementwise, first_layer
from minicnn.kernels import IMPLEMENTATIONS, conv_im2col, window_geometry

TOL = dict(rtol=1e-5, atol=1e-5)


@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=4), slope=st.sampled_from([0.0, 0.2, 0.3, 1.0]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_leaky_relu_kernels_match_reference(shape, slope, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    y = elementwise.leaky_relu_forward(x, slope)
    np.testing.assert_array_equal(y, elementwise.leaky_relu_forward_reference(x, slope))
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_array_equal(elementwise.leaky_relu_backward(dy, y, slope),
                                  elementwise.leaky_relu_backward_reference(dy, y, slope))


@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=4),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_relu_kernels_match_reference(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[0] = 0.0                                     # the kink: output 0, gradient 0
    dy = rng.standard_normal(shape).astype(dtype)
    y = elementwise.relu_forward(x)
    np.testing.assert_array_equal(y, elementwise.relu_forward_reference(x))
    assert y.dtype == dtype and not np.signbit(y).any()  # no -0.0
    np.testing.assert_array_equal(elementwise.relu_backward(dy, y),
                                  elementwise.relu_backward_reference(dy, y))


def test_relu_lets_nan_through_with_zero_gradient():
    x = np.array([np.nan, -1.0, 2.0], np.float32)
    y = elementwise.relu_forward(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))      # NaN stays NaN, as in NumPy
    np.testing.assert_array_equal(elementwise.relu_backward(np.ones(3, np.float32), y), [0, 0, 1])


def test_leaky_relu_backward_from_output_equals_backward_from_input(rng):
    # The kernel decides on y > 0; the textbook on x > 0. Same set for every slope >= 0.
    x = np.array([-2.0, -0.0, 0.0, 1e-30, 3.0], dtype=np.float32)
    for slope in (0.0, 0.3):
        y = elementwise.leaky_relu_forward(x, slope)
        dx = elementwise.leaky_relu_backward(np.ones_like(x), y, slope)
        np.testing.assert_array_equal(dx, np.where(x > 0, 1.0, slope).astype(np.float32))


@given(m=st.integers(1, 300), c=st.integers(1, 9), offset=st.sampled_from([0.0, 100.0]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_batchnorm_kernels_match_reference(m, c, offset, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((m, c)) * 3 + offset).astype(dtype)
    dy = rng.standard_normal((m, c)).astype(dtype)
    gamma, beta = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    fast, ref = batchnorm.forward(x, gamma, beta, 1e-3), batchnorm.forward_reference(x, gamma, beta, 1e-3)
    for ours, theirs in zip(fast, ref):
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, theirs, **tol)
    # The backward kernels on the same inputs: the batch statistics of one forward
    # (each forward's own would differ by the reference's float32 rounding of the
    # mean, which an offset of 100 makes visible in dgamma).
    fast_b = batchnorm.backward(dy, x, fast[1], gamma, fast[3])
    ref_b = batchnorm.backward_reference(dy, x, fast[1], gamma, fast[3])
    for ours, theirs in zip(fast_b, ref_b):
        np.testing.assert_allclose(ours, theirs, **tol)
    # over=True: the same bits, written over dy
    dy_over = dy.copy()
    over_b = batchnorm.backward(dy_over, x, fast[1], gamma, fast[3], over=True)
    assert over_b[0] is dy_over
    for ours, theirs in zip(over_b, fast_b):
        np.testing.assert_array_equal(ours, theirs)


def test_kernel_gradient_unrolls_x_as_it_is_now(rng):
    """The kernel gradient unrolls x itself (nothing is kept from the forward):
    an x changed in place after its forward gives the new x's gradient, as the
    reference does."""
    x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
    k = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    geo = window_geometry(6, 5, (3, 3), (1, 1), "same")
    args = (1, 1, geo.pad_top, geo.pad_left)
    dy = rng.standard_normal((2, geo.out_h, geo.out_w, 4)).astype(np.float32)
    ref = IMPLEMENTATIONS["reference"]
    for _ in range(2):
        y = conv_im2col.conv2d_forward(x, k, *args, geo.out_h, geo.out_w)
        np.testing.assert_allclose(y, ref.conv2d_forward(x, k, *args, geo.out_h, geo.out_w), **TOL)
        x[0, 2, 2, 1] += 5.0            # in place: same object, new values
        dk = conv_im2col.conv2d_backward_kernel(x, dy, 3, 3, *args)
        np.testing.assert_allclose(dk, ref.conv2d_backward_kernel(x, dy, 3, 3, *args), **TOL)


@pytest.mark.parametrize("budget", [1, 700])
@given(case=st.integers(0, 2**16))
def test_grouped_batches_give_the_same_results(budget, case):
    """With a tiny cols budget, the batch is cut into groups (one image each at
    budget 1; a few images at 700 bytes), all unrolled into one reused buffer:
    every pass must still match the reference."""
    rng = np.random.default_rng(case)
    n, h, w = rng.integers(1, 6), rng.integers(2, 8), rng.integers(2, 8)
    c, o = rng.integers(1, 4), rng.integers(1, 40)            # o > KH*KW*C too: the per-image products
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    k = rng.standard_normal((2, 3, c, o)).astype(np.float32)
    geo = window_geometry(h, w, (2, 3), (1, 2), "same")
    args = (1, 2, geo.pad_top, geo.pad_left)
    dy = rng.standard_normal((n, geo.out_h, geo.out_w, o)).astype(np.float32)
    ref = IMPLEMENTATIONS["reference"]
    saved = conv_im2col._CHUNK_BYTES, conv_im2col._KGRAD_BYTES
    conv_im2col._CHUNK_BYTES = conv_im2col._KGRAD_BYTES = budget
    try:
        groups = conv_im2col._groups(n, geo.out_h * geo.out_w * 6 * c * 4)
        assert sum(g.stop - g.start for g in groups) == n and (budget > 1 or len(groups) == n)
        y = conv_im2col.conv2d_forward(x, k, *args, geo.out_h, geo.out_w)
        np.testing.assert_allclose(y, ref.conv2d_forward(x, k, *args, geo.out_h, geo.out_w), **TOL)
        np.testing.assert_allclose(conv_im2col.conv2d_backward_kernel(x, dy, 2, 3, *args),
                                   ref.conv2d_backward_kernel(x, dy, 2, 3, *args), **TOL)
        np.testing.assert_allclose(conv_im2col.conv2d_backward_input(dy, k, h, w, *args),
                                   ref.conv2d_backward_input(dy, k, h, w, *args), **TOL)
    finally:
        conv_im2col._CHUNK_BYTES, conv_im2col._KGRAD_BYTES = saved


@pytest.mark.parametrize("backend", ["numba", "im2col"])
def test_seed_cifar_model_trains_the_same_on_every_backend(backend, rng):
    import minicnn
    from minicnn import zoo
    x = rng.random((4, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, 4)
    results = []
    for name in ("reference", backend):
        with minicnn.config.using(backend=name):
            model = zoo.cifar10_cnn(seed=0, dropout=0.0)
            model.compile("sparse_categorical_crossentropy", minicnn.optimizers.SGD(0.01))
            model.train_on_batch(x, y)
            results.append(model.get_weights())
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


@given(shape=st.lists(st.integers(1, 9), min_size=2, max_size=4), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**16))
def test_channel_sums_is_the_sum_over_every_axis_but_the_last(shape, dtype, seed):
    from minicnn.fast.elementwise import channel_sums
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    sums = channel_sums(a)
    assert sums.shape == (shape[-1],) and sums.dtype == dtype
    np.testing.assert_allclose(sums, a.reshape(-1, shape[-1]).astype(np.float64).sum(axis=0), **TOL)
    # a strided view (every other channel) is summed as it reads, not as its base
    np.testing.assert_allclose(channel_sums(a[..., ::2]), a[..., ::2].reshape(-1, len(range(0, shape[-1], 2)))
                               .astype(np.float64).sum(axis=0), **TOL)


@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=4), dtype=st.sampled_from([np.float32, np.float64]),
       step=st.integers(1, 1000), seed=st.integers(0, 2**16))
def test_adam_kernel_matches_reference(shape, dtype, step, seed):
    from minicnn.fast import adam
    rng = np.random.default_rng(seed)
    w, g, m = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
    v = rng.random(shape).astype(dtype)
    f = np.dtype(dtype).type
    alpha = f(1e-3) * np.sqrt(1 - f(0.999) ** f(step)) / (1 - f(0.9) ** f(step))
    args = (alpha, 1 - f(0.9), 1 - f(0.999), f(1e-7))
    ref = [a.copy() for a in (w, g, m, v)]
    adam.adam_step_reference(ref[0], ref[1], ref[2], ref[3], *args)
    adam.adam_step(w, g, m, v, *args)
    for got, want in zip((w, m, v), (ref[0], ref[2], ref[3])):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=0)


def test_adam_kernel_updates_a_strided_view_in_place():
    from minicnn.fast import adam
    base = np.ones((4, 6), np.float32)
    w = base[:, ::2]                       # not contiguous: the kernel must still write into base
    g = np.full(w.shape, 0.5, np.float32)
    m, v = np.zeros_like(w), np.zeros_like(w)
    adam.adam_step(w, g, m, v, np.float32(0.1), np.float32(0.1), np.float32(0.001), np.float32(1e-7))
    assert np.all(base[:, ::2] < 1) and np.all(base[:, 1::2] == 1)


@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=4), slope=st.sampled_from([None, 0.0, 0.2, 0.3]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16), strided=st.booleans())
def test_bias_activation_kernels_match_reference(shape, slope, dtype, seed, strided):
    """f(z + bias), fused and written over z (a strided view too): the reference's values."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(shape[:-1] + [2 * shape[-1]]).astype(dtype)
    z = base[..., ::2] if strided else base[..., :shape[-1]].copy()
    z.flat[0] = np.nan                                # NaN goes through ReLU (and LeakyReLU) as NaN
    bias = rng.standard_normal(shape[-1]).astype(dtype)
    z_ref, z_before = z.copy(), z.copy()
    if slope is None:
        y, y_ref = elementwise.bias_relu_forward(z, bias), elementwise.bias_relu_forward_reference(z_ref, bias)
        want = np.maximum(z_before + bias, 0)
    else:
        y = elementwise.bias_leaky_relu_forward(z, bias, slope)
        y_ref = elementwise.bias_leaky_relu_forward_reference(z_ref, bias, slope)
        pre = z_before + bias
        want = np.where(pre > 0, pre, slope * pre)
    assert y is z and y_ref is z_ref                  # written over z, in both
    assert y.dtype == dtype and y.shape == z_before.shape
    np.testing.assert_array_equal(y, y_ref)           # the same additions, in the same dtype
    np.testing.assert_allclose(y, want.astype(dtype), rtol=1e-6)
    if strided:
        np.testing.assert_array_equal(base[..., ::2], y_ref)   # the view's base was updated
    if slope is None:
        assert not np.signbit(y[y == 0]).any()        # ReLU gives 0, never -0.0


def test_conv_step_output_is_bias_then_activation(rng):
    """The fused step gives what the plain layer gives; it keeps z unless y was written over it."""
    import minicnn
    from minicnn.fast.steps import ConvStep
    for act in ("relu", "leaky_relu", "linear", "tanh", "softmax"):
        layer = minicnn.layers.Conv2D(4, 3, padding="same", activation=act)
        layer.build((6, 6, 2), rng)
        layer.bias.value[...] = rng.standard_normal(4)   # not the zeros it starts with
        x = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)
        step = ConvStep(layer)
        y = step.forward(x, training=True)
        np.testing.assert_array_equal(y, layer.forward(x))
        z = IMPLEMENTATIONS["reference"].conv2d_forward(x, layer.kernel.value, 1, 1, 1, 1, 6, 6) + layer.bias.value
        np.testing.assert_allclose(y, minicnn.activations.get(act, "test").forward(z), **TOL)
        if act in ("relu", "leaky_relu"):
            assert step.preactivation is None         # y was written over z
        else:
            np.testing.assert_array_equal(step.preactivation, layer.preactivation)


@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=4), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**16), strided=st.booleans())
def test_add_bias_matches_reference(shape, dtype, seed, strided):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(shape[:-1] + [2 * shape[-1]]).astype(dtype)
    z = base[..., ::2] if strided else base[..., :shape[-1]].copy()   # in place on a view too
    bias = rng.standard_normal(shape[-1]).astype(dtype)
    want = z.copy()
    elementwise.add_bias_reference(want, bias)
    elementwise.add_bias(z, bias)
    np.testing.assert_array_equal(z, want)
    if strided:
        np.testing.assert_array_equal(base[..., ::2], want)


@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=4), slope=st.sampled_from([None, 0.0, 0.2, 0.3]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16), strided=st.booleans())
def test_activation_backward_with_bias_grad_matches_reference(shape, slope, dtype, seed, strided):
    """dz and its channel sums in one pass: the same dz exactly, the same sums to rounding."""
    rng = np.random.default_rng(seed)
    y = np.maximum(rng.standard_normal(shape), 0).astype(dtype)   # a ReLU output, with its zeros
    if slope:
        y = np.where(y > 0, y, -slope * rng.random(shape)).astype(dtype)
    base = rng.standard_normal(shape[:-1] + [2 * shape[-1]]).astype(dtype)
    dy = base[..., ::2] if strided else base[..., :shape[-1]].copy()
    if slope is None:
        got, want = elementwise.relu_backward_bias_grad(dy, y), elementwise.relu_backward_bias_grad_reference(dy, y)
        np.testing.assert_array_equal(got[0], elementwise.relu_backward_reference(dy, y))
    else:
        got = elementwise.leaky_relu_backward_bias_grad(dy, y, slope)
        want = elementwise.leaky_relu_backward_bias_grad_reference(dy, y, slope)
        np.testing.assert_array_equal(got[0], elementwise.leaky_relu_backward_reference(dy, y, slope))
    np.testing.assert_array_equal(got[0], want[0])
    assert got[0].dtype == got[1].dtype == dtype and got[1].shape == (shape[-1],)
    # the sums, against a float64 sum of the float64 gradient (the reference sums in float64 too)
    exact = want[0].reshape(-1, shape[-1]).astype(np.float64).sum(axis=0)
    np.testing.assert_allclose(got[1], exact, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)
    np.testing.assert_allclose(want[1], exact, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "linear", "tanh"])
@pytest.mark.parametrize("layer_type", ["Conv2D", "Dense"])
def test_layer_bias_gradient_is_the_sum_of_dz(layer_type, act, rng):
    """Whatever path the layer takes (fused for ReLU/LeakyReLU), dbias = sum of dz over all but the last axis."""
    import minicnn
    if layer_type == "Conv2D":
        layer, shape = minicnn.layers.Conv2D(5, 2, padding="same", activation=act), (7, 7, 3)
    else:
        layer, shape = minicnn.layers.Dense(5, activation=act), (6,)
    layer.build(shape, rng)
    layer.bias.value[...] = rng.standard_normal(5)
    x = rng.standard_normal((3,) + shape).astype(np.float32)
    y = layer.forward(x, training=True)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    layer.backward(dy)
    if layer_type == "Conv2D":   # z from the reference kernel ('same', 2x2: the extra pad row/column at the end)
        z = IMPLEMENTATIONS["reference"].conv2d_forward(x, layer.kernel.value, 1, 1, 0, 0, 7, 7)
    else:
        z = x @ layer.kernel.value
    activation = minicnn.activations.get(act, "test")
    activation.forward((z + layer.bias.value).astype(np.float32))
    dz = activation.backward(dy)
    np.testing.assert_allclose(layer.bias.grad, dz.reshape(-1, 5).astype(np.float64).sum(axis=0), **TOL)
    assert layer.bias.grad.dtype == np.float32 and layer.bias.grad.shape == (5,)


@given(n=st.integers(1, 3), h=st.integers(1, 8), w=st.integers(1, 8), c=st.integers(1, 6),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 2**16))
def test_im2col_matches_numpy_slicing(n, h, w, c, kh, kw, sh, sw, padding, seed):
    """cols, both loop orders (fewer than 4 channels, and more), against slices of a zero-padded x."""
    if padding == "valid" and (kh > h or kw > w):
        padding = "same"
    geo = window_geometry(h, w, (kh, kw), (sh, sw), padding)
    x = np.random.default_rng(seed).standard_normal((n, h, w, c)).astype(np.float32)
    padded = np.zeros((n, h + kh + sh * geo.out_h, w + kw + sw * geo.out_w, c), np.float32)
    padded[:, geo.pad_top:geo.pad_top + h, geo.pad_left:geo.pad_left + w] = x
    # tap (p, q) of every window is one strided slice; stacked in (p, q, c) order they are the cols rows
    taps = [padded[:, p:p + sh * geo.out_h:sh, q:q + sw * geo.out_w:sw] for p in range(kh) for q in range(kw)]
    want = np.stack(taps, axis=3).reshape(n * geo.out_h * geo.out_w, kh * kw * c)
    cols = np.full_like(want, np.nan)                 # every entry must be written
    conv_im2col.im2col(x, cols, kh, kw, sh, sw, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)
    np.testing.assert_array_equal(cols, want)


@pytest.mark.parametrize("slope", [None, 0.3])
def test_activation_kernels_write_over_their_argument(slope, rng):
    """``out=x`` / ``out=dy``: the same values as a new array, written over the argument."""
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    dy = rng.standard_normal((3, 4, 5)).astype(np.float32)
    if slope is None:
        forward, backward = elementwise.relu_forward, elementwise.relu_backward
    else:
        forward = lambda a, out=None: elementwise.leaky_relu_forward(a, slope, out=out)
        backward = lambda d, y, out=None: elementwise.leaky_relu_backward(d, y, slope, out=out)
    y = forward(x)
    dx = backward(dy, y)
    y_over, dx_over = x.copy(), dy.copy()
    assert forward(y_over, out=y_over) is y_over and backward(dx_over, y, out=dx_over) is dx_over
    np.testing.assert_array_equal(y_over, y)
    np.testing.assert_array_equal(dx_over, dx)
    with pytest.raises(ValueError, match="the argument itself"):
        forward(x, out=np.empty((3, 4, 5), np.float64))
    if slope is None:
        with_sums = elementwise.relu_backward_bias_grad
    else:
        with_sums = lambda d, y, out=None: elementwise.leaky_relu_backward_bias_grad(d, y, slope, out=out)
    dz, sums = with_sums(dy, y)
    dz_over = dy.copy()
    dz_returned, sums_over = with_sums(dz_over, y, out=dz_over)
    assert dz_returned is dz_over
    np.testing.assert_array_equal(dz_over, dz)
    np.testing.assert_array_equal(sums_over, sums)


@given(case=st.integers(0, 2**16))
def test_first_layer_keeps_its_cols_with_the_same_bits(case):
    """first_layer.forward_keeping_cols / kernel_gradient_from_cols: the same
    products over the same groups as im2col's unrolling-twice pair, bit for bit."""
    rng = np.random.default_rng(case)
    n, h, w = rng.integers(1, 6), rng.integers(2, 9), rng.integers(2, 9)
    c, o = rng.integers(1, 4), rng.integers(1, 40)
    kh, kw, sh, sw = rng.integers(1, 4), rng.integers(1, 4), rng.integers(1, 3), rng.integers(1, 3)
    geo = window_geometry(h, w, (kh, kw), (sh, sw), "same")
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    k = rng.standard_normal((kh, kw, c, o)).astype(np.float32)
    dy = rng.standard_normal((n, geo.out_h, geo.out_w, o)).astype(np.float32)
    args = (sh, sw, geo.pad_top, geo.pad_left)
    keeps = first_layer.keeps_cols(x.shape, (kh, kw), (sh, sw), geo, 4)
    assert keeps == (not (kh == kw == sh == sw == 1))
    if not keeps:
        return   # 1x1, stride 1: cols is a view of x, and its kernel gradient is one product
    y, cols = first_layer.forward_keeping_cols(x, k, (sh, sw), geo)
    np.testing.assert_array_equal(y, conv_im2col.conv2d_forward(x, k, *args, geo.out_h, geo.out_w))
    if cols.shape[1] > 0:
        expected = np.empty_like(cols)
        conv_im2col.im2col(x, expected, kh, kw, *args, geo.out_h, geo.out_w)
        np.testing.assert_array_equal(cols, expected)
    np.testing.assert_array_equal(first_layer.kernel_gradient_from_cols(cols, dy, k.shape),
                                  conv_im2col.conv2d_backward_kernel(x, dy, kh, kw, *args))


def test_which_convolutions_keep_their_cols():
    def keeps(x_shape, kernel, pad, out):
        geo = window_geometry(x_shape[1], x_shape[2], kernel, (1, 1), "same" if pad else "valid")
        assert (geo.pad_top, geo.out_h) == (pad, out)
        return first_layer.keeps_cols(x_shape, kernel, (1, 1), geo, 4)
    assert keeps((32, 32, 32, 3), (3, 3), 1, 32)          # CIFAR-10 CNN's first layer: 3.5 MB
    assert keeps((32, 28, 28, 1), (2, 2), 0, 27)          # a 2x2 window on MNIST
    assert not keeps((32, 16, 16, 32), (3, 3), 1, 16)     # 32 channels: unrolled again
    assert not keeps((128, 32, 32, 3), (3, 3), 1, 32)     # 14 MB: over the budget
    assert not keeps((32, 32, 32, 3), (1, 1), 0, 32)      # 1x1: cols is a view of x


def test_a_first_conv_step_keeps_cols_only_between_its_training_passes(rng, monkeypatch):
    import minicnn
    from minicnn import layers

    def build():
        model = minicnn.Sequential([layers.Input((8, 8, 3)), layers.Conv2D(6, 3, padding="same", name="c1"),
                                    layers.Conv2D(5, 3, name="c2"), layers.Flatten(),
                                    layers.Dense(2, activation="softmax")], seed=0)
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        return model
    model, twin = build(), build()
    x, y = rng.standard_normal((4, 8, 8, 3)).astype(np.float32), np.array([0, 1, 1, 0])
    plan = model._training_plan()
    c1, c2 = plan.steps[0], plan.steps[1]
    plan.forward(x)
    assert c1.cols is not None and c1.cols.shape == (4 * 64, 27) and c2.cols is None
    model.train_on_batch(x, y)
    assert c1.cols is None                                            # dropped by the backward
    monkeypatch.setattr(first_layer, "keeps_cols", lambda *args: False)
    twin.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
