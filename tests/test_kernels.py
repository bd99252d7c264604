"""The reference and Numba kernels agree, and both follow TensorFlow's geometry."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn.kernels import IMPLEMENTATIONS, output_length, window_geometry
from minicnn.errors import ShapeError

REF = IMPLEMENTATIONS["reference"]
FAST_IMPLS = ["numba", "im2col"]
TOL = dict(rtol=1e-5, atol=1e-5)


@st.composite
def conv_case(draw):
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    c, o = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    if padding == "valid" and (kh > h or kw > w):
        padding = "same"
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    k = rng.standard_normal((kh, kw, c, o)).astype(np.float32)
    geo = window_geometry(h, w, (kh, kw), (sh, sw), padding)
    dy = rng.standard_normal((n, geo.out_h, geo.out_w, o)).astype(np.float32)
    return x, k, dy, (sh, sw), geo


@pytest.mark.parametrize("impl", FAST_IMPLS)
@given(conv_case())
def test_conv_kernels_agree(impl, case):
    FAST = IMPLEMENTATIONS[impl]
    x, k, dy, (sh, sw), geo = case
    args = (sh, sw, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)
    np.testing.assert_allclose(FAST.conv2d_forward(x, k, *args), REF.conv2d_forward(x, k, *args), **TOL)
    h, w = x.shape[1:3]
    bargs = (sh, sw, geo.pad_top, geo.pad_left)
    np.testing.assert_allclose(FAST.conv2d_backward_input(dy, k, h, w, *bargs),
                               REF.conv2d_backward_input(dy, k, h, w, *bargs), **TOL)
    kh, kw = k.shape[:2]
    np.testing.assert_allclose(FAST.conv2d_backward_kernel(x, dy, kh, kw, *bargs),
                               REF.conv2d_backward_kernel(x, dy, kh, kw, *bargs), **TOL)


@st.composite
def pool_case(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    ph, pw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = draw(st.sampled_from(["valid", "same"]))
    if padding == "valid" and (ph > h or pw > w):
        padding = "same"
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    # Small integers make ties common, so the tie rule is exercised too.
    x = rng.integers(-3, 4, (n, h, w, c)).astype(np.float32)
    geo = window_geometry(h, w, (ph, pw), (sh, sw), padding)
    dy = rng.standard_normal((n, geo.out_h, geo.out_w, c)).astype(np.float32)
    return x, dy, (ph, pw, sh, sw, geo.pad_top, geo.pad_left), geo


@given(pool_case())
def test_pool_kernels_agree(case):
    FAST = IMPLEMENTATIONS["numba"]
    x, dy, win, geo = case
    h, w = x.shape[1:3]
    y_ref, arg_ref = REF.max_pool2d_forward(x, *win, geo.out_h, geo.out_w)
    y_fast, arg_fast = FAST.max_pool2d_forward(x, *win, geo.out_h, geo.out_w)
    np.testing.assert_array_equal(y_fast, y_ref)
    np.testing.assert_array_equal(arg_fast, arg_ref)
    np.testing.assert_allclose(FAST.max_pool2d_backward(dy, arg_fast, h, w, *win),
                               REF.max_pool2d_backward(dy, arg_ref, h, w, *win), **TOL)
    np.testing.assert_allclose(FAST.avg_pool2d_forward(x, *win, geo.out_h, geo.out_w),
                               REF.avg_pool2d_forward(x, *win, geo.out_h, geo.out_w), **TOL)
    np.testing.assert_allclose(FAST.avg_pool2d_backward(dy, h, w, *win),
                               REF.avg_pool2d_backward(dy, h, w, *win), **TOL)


@pytest.mark.parametrize("n,k,s,expected", [
    (28, 2, 1, (28, 0, 1)),   # even kernel: the extra pixel goes to the bottom/right
    (5, 3, 2, (3, 1, 1)),
    (6, 3, 2, (3, 0, 1)),     # stride 2, even input: again bottom/right
    (7, 1, 3, (3, 0, 0)),
    (32, 3, 2, (16, 0, 1)),   # the seed CIFAR model's conv2
])
def test_same_padding_rule(n, k, s, expected):
    assert output_length(n, k, s, "same") == expected


@pytest.mark.parametrize("n,k,s,expected", [(7, 2, 2, 3), (28, 2, 2, 14), (5, 3, 1, 3), (4, 5, 1, 0)])
def test_valid_floor_rule(n, k, s, expected):
    assert output_length(n, k, s, "valid")[0] == expected


def test_window_that_does_not_fit_raises():
    with pytest.raises(ShapeError, match="does not fit"):
        window_geometry(2, 2, (3, 3), (1, 1), "valid", layer="conv2d")


@pytest.mark.parametrize("impl", list(IMPLEMENTATIONS))
def test_same_padding_extra_pixel_is_bottom_right(impl):
    """A 2x2 kernel that picks the bottom-right tap: with 'same' and the extra
    pad row/column at the bottom/right, y[i, j] = x[i+1, j+1] and the last
    row/column see only padding (0)."""
    kern = IMPLEMENTATIONS[impl]
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    k = np.zeros((2, 2, 1, 1), np.float32)
    k[1, 1, 0, 0] = 1
    geo = window_geometry(4, 4, (2, 2), (1, 1), "same")
    y = kern.conv2d_forward(x, k, 1, 1, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)[0, :, :, 0]
    expected = np.zeros((4, 4), np.float32)
    expected[:3, :3] = x[0, 1:, 1:, 0]
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("impl", ["reference", "numba"])
def test_max_pool_tie_goes_to_first_maximum(impl):
    kern = IMPLEMENTATIONS[impl]
    x = np.ones((1, 2, 2, 1), np.float32)  # all four equal
    y, arg = kern.max_pool2d_forward(x, 2, 2, 2, 2, 0, 0, 1, 1)
    dx = kern.max_pool2d_backward(np.full((1, 1, 1, 1), 5.0, np.float32), arg, 2, 2, 2, 2, 2, 2, 0, 0)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[5.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("impl", ["reference", "numba"])
def test_average_pool_same_ignores_padding(impl):
    kern = IMPLEMENTATIONS[impl]
    x = np.full((1, 3, 3, 1), 2.0, np.float32)
    geo = window_geometry(3, 3, (2, 2), (2, 2), "same")
    y = kern.avg_pool2d_forward(x, 2, 2, 2, 2, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)
    # Corner windows hold 1, 2 or 4 image cells; all average to 2 (not 0.5 or 1).
    np.testing.assert_allclose(y, np.full((1, 2, 2, 1), 2.0))


def test_conv_forward_matches_a_hand_computed_value():
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    k = np.array([[1, 0], [0, -1]], np.float32).reshape(2, 2, 1, 1)
    for kern in IMPLEMENTATIONS.values():
        y = kern.conv2d_forward(x, k, 1, 1, 0, 0, 2, 2)[0, :, :, 0]
        # y[i, j] = x[i, j] - x[i+1, j+1] = -4 everywhere
        np.testing.assert_array_equal(y, np.full((2, 2), -4.0))


@pytest.mark.parametrize("contiguous", [True, False])
def test_pointwise_conv_view_path_agrees(contiguous):
    """im2col's 1x1 / stride 1 shortcut (cols is a reshaped view of x, no copy)."""
    rng = np.random.default_rng(5)
    full = rng.standard_normal((2, 5, 4, 6)).astype(np.float32)
    x = full if contiguous else full[..., ::2]          # a strided view: channels 0, 2, 4
    c = x.shape[3]
    k = rng.standard_normal((1, 1, c, 7)).astype(np.float32)
    dy = rng.standard_normal((2, 5, 4, 7)).astype(np.float32)
    fast = IMPLEMENTATIONS["im2col"]
    np.testing.assert_allclose(fast.conv2d_forward(x, k, 1, 1, 0, 0, 5, 4),
                               REF.conv2d_forward(x, k, 1, 1, 0, 0, 5, 4), **TOL)
    np.testing.assert_allclose(fast.conv2d_backward_input(dy, k, 5, 4, 1, 1, 0, 0),
                               REF.conv2d_backward_input(dy, k, 5, 4, 1, 1, 0, 0), **TOL)
    np.testing.assert_allclose(fast.conv2d_backward_kernel(x, dy, 1, 1, 1, 1, 0, 0),
                               REF.conv2d_backward_kernel(x, dy, 1, 1, 1, 1, 0, 0), **TOL)
