"""Convolution, one window at a time, as an animated GIF - forward and backward.

**Forward.** Pad the input (``'same'``: TensorFlow's rule, extra row/column
at the bottom/right), then for every output position (i, j)::

    y[i, j] = sum_{a, b} x_padded[i*s + a, j*s + b] * k[a, b]

**Backward** (dL/dx from dL/dy): spread dy back through the same windows.
Written as one sliding window, it is a *full* convolution of dy with the
kernel flipped by 180 degrees:

1. dilate dy: put s - 1 zeros between its entries (undoes the stride),
2. pad it with k - 1 zeros on the top/left (and enough at the bottom/right),
3. slide the flipped kernel over it:  dx_padded[r, c] = sum dy_p[r + a, c + b] * k[kh-1-a, kw-1-b],
4. drop the rows/columns that were padding in the forward pass.

``forward_frames`` and ``backward_frames`` compute exactly this, window by
window (a test checks them against minicnn's kernels); the animation only
draws them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import kernels
from ..errors import ShapeError
from . import draw


class Frame(NamedTuple):
    window: tuple[int, int]     # top-left corner of the window in the padded plane
    position: tuple[int, int]   # where the value goes in the result
    value: float
    result: np.ndarray          # the result so far (NaN = not computed yet)


def _check(image: np.ndarray, kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image, kernel = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ShapeError(f"convolution_animation: image and kernel must be 2-D, got {image.shape} and {kernel.shape}")
    return image, kernel


def padded_input(image: np.ndarray, kernel: np.ndarray, stride: int, padding: str):
    """The zero-padded plane the windows slide over, and the geometry."""
    image, kernel = _check(image, kernel)
    geo = kernels.window_geometry(*image.shape, kernel.shape, (stride, stride), padding,
                                  layer="convolution_animation")
    plane = np.pad(image, ((geo.pad_top, geo.pad_bottom), (geo.pad_left, geo.pad_right)))
    return plane, geo


def forward_frames(image: np.ndarray, kernel: np.ndarray, stride: int = 1,
                   padding: str = "valid") -> Iterator[Frame]:
    """One frame per output position, in row-major order."""
    plane, geo = padded_input(image, kernel, stride, padding)
    kh, kw = kernel.shape
    out = np.full((geo.out_h, geo.out_w), np.nan)
    for i in range(geo.out_h):
        for j in range(geo.out_w):
            top, left = i * stride, j * stride
            out[i, j] = float((plane[top:top + kh, left:left + kw] * kernel).sum())
            yield Frame((top, left), (i, j), out[i, j], out.copy())


def backward_plane(image_shape: tuple[int, int], kernel: np.ndarray, dy: np.ndarray, stride: int,
                   padding: str):
    """Steps 1-2 of the backward pass: the dilated, padded dy, and the geometry."""
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    geo = kernels.window_geometry(*image_shape, kernel.shape, (stride, stride), padding,
                                  layer="convolution_animation")
    dy = np.asarray(dy, dtype=np.float64)
    if dy.shape != (geo.out_h, geo.out_w):
        raise ShapeError(f"convolution_animation: dy must have the output's shape "
                         f"{(geo.out_h, geo.out_w)}, got {dy.shape}")
    dilated = np.zeros(((geo.out_h - 1) * stride + 1, (geo.out_w - 1) * stride + 1))
    dilated[::stride, ::stride] = dy
    padded_h = image_shape[0] + geo.pad_top + geo.pad_bottom
    padded_w = image_shape[1] + geo.pad_left + geo.pad_right
    plane = np.pad(dilated, ((kh - 1, padded_h - dilated.shape[0]), (kw - 1, padded_w - dilated.shape[1])))
    return plane, geo


def backward_frames(image_shape: tuple[int, int], kernel: np.ndarray, dy: np.ndarray, stride: int = 1,
                    padding: str = "valid") -> Iterator[Frame]:
    """One frame per input pixel: dx as the full convolution with the flipped kernel.

    ``result`` is dx over the *input* (forward padding already dropped).
    """
    plane, geo = backward_plane(image_shape, kernel, dy, stride, padding)
    flipped = np.asarray(kernel, dtype=np.float64)[::-1, ::-1]
    kh, kw = flipped.shape
    dx = np.full(image_shape, np.nan)
    for r in range(image_shape[0]):
        for c in range(image_shape[1]):
            # Input pixel (r, c) is padded-plane pixel (r + pad_top, c + pad_left).
            top, left = r + geo.pad_top, c + geo.pad_left
            dx[r, c] = float((plane[top:top + kh, left:left + kw] * flipped).sum())
            yield Frame((top, left), (r, c), dx[r, c], dx.copy())


def crop_on_detail(image: np.ndarray, size: int = 8) -> np.ndarray:
    """The ``size`` x ``size`` crop of a 2-D image with the largest variance: the part with
    something in it (a corner crop of a digit is background, and its convolution all 0)."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ShapeError(f"crop_on_detail: the image must be 2-D, got shape {image.shape}")
    size = min(size, *image.shape)
    best, corner = -1.0, (0, 0)
    for top in range(image.shape[0] - size + 1):
        for left in range(image.shape[1] - size + 1):
            spread = float(image[top:top + size, left:left + size].var())
            if spread > best:
                best, corner = spread, (top, left)
    return image[corner[0]:corner[0] + size, corner[1]:corner[1] + size]


class Part(NamedTuple):
    """One half of the film: the forward pass, or the backward pass."""
    title: str
    plane: np.ndarray           # what the window slides over
    kernel: np.ndarray          # the kernel as it is applied (flipped for the backward pass)
    result_name: str            # "y" or "dx"
    frames: list[Frame]


class ConvolutionFilm:
    """The frames of the forward (and backward) pass and how to draw any one of them.

    Every frame writes the numbers in the window and in the kernel, and the
    result so far, so that ``y[i, j] = sum(window * kernel)`` can be checked by
    hand; the colour scales stay fixed for the whole film (signed values on a
    diverging map, white = 0), so a colour means the same in every frame.

    The backward part needs dL/dy. ``dy`` defaults to all ones, which is the
    gradient of ``L = sum(y)``: every output counts once, so ``dx[r, c]`` is
    the sum of the kernel weights that touched pixel ``(r, c)`` - the sum of the
    whole kernel in the interior, less at the borders. Pass another ``dy`` to
    see a real gradient spread back.
    """

    def __init__(self, image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str = "valid",
                 backward: bool = True, dy: np.ndarray | None = None) -> None:
        image, kernel = _check(image, kernel)
        plane, geo = padded_input(image, kernel, stride, padding)
        self.parts = [Part("forward: y[i, j] = sum(window * kernel)", plane, kernel, "y",
                           list(forward_frames(image, kernel, stride, padding)))]
        if backward:
            why = "the given dy" if dy is not None else "dy = 1 everywhere, the gradient of L = sum(y)"
            dy = np.ones((geo.out_h, geo.out_w)) if dy is None else dy
            back_plane, _ = backward_plane(image.shape, kernel, dy, stride, padding)
            self.parts.append(Part(f"backward ({why}):\n"
                                   "dx = full convolution of the dilated, padded dy with the flipped kernel",
                                   back_plane, kernel[::-1, ::-1], "dx",
                                   list(backward_frames(image.shape, kernel, dy, stride, padding))))
        self.schedule = [(part, frame) for part in self.parts for frame in part.frames]
        # One scale per panel for the whole film (worked out once here, not per frame).
        self.kernel_scale = draw.value_scale(kernel, signed=True)
        self.plane_style = {part.result_name: self._plane_style(part.plane) for part in self.parts}
        self.result_scale = {part.result_name: draw.value_scale(part.frames[-1].result, signed=True)
                             for part in self.parts}
        self.small = plane.size <= 400            # numbers fit in every cell up to 20x20

    @staticmethod
    def _plane_style(plane: np.ndarray) -> tuple[str, dict[str, float]]:
        """An image in grey from its min to its max; a plane with negative values (a gradient)
        on the diverging map centred at 0."""
        signed = bool((plane < 0).any())
        return (draw.SIGNED_CMAP if signed else "gray"), draw.value_scale(plane, signed=signed)

    def __len__(self) -> int:
        return len(self.schedule)

    def new_figure(self) -> Figure:
        fig = draw.new_figure(figsize=(10, 4.2))
        fig.subplots(1, 3)
        return fig

    def draw(self, fig: Figure, step: int) -> None:
        """Draw frame ``step`` (0 .. len - 1) on a figure made by ``new_figure``."""
        part, frame = self.schedule[step]
        ax_in, ax_k, ax_out = fig.axes[:3]
        for ax in (ax_in, ax_k, ax_out):
            ax.clear(), ax.set_xticks([]), ax.set_yticks([])
        forward = part.result_name == "y"
        kh, kw = part.kernel.shape
        top, left = frame.window
        plane_cmap, plane_scale = self.plane_style[part.result_name]
        ax_in.imshow(part.plane, cmap=plane_cmap, **plane_scale)
        if self.small:       # the numbers under the window, which the sum multiplies
            for (i, j), value in np.ndenumerate(part.plane[top:top + kh, left:left + kw]):
                ax_in.text(left + j, top + i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                           bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "alpha": 0.7,
                                 "linewidth": 0})
        ax_in.add_patch(Rectangle((left - 0.5, top - 0.5), kw, kh, fill=False, edgecolor="red", linewidth=2))
        ax_in.set_title("padded input" if forward else "padded, dilated dy", fontsize=draw.PANEL_TITLE_SIZE)
        ax_k.imshow(part.kernel, cmap=draw.SIGNED_CMAP, **self.kernel_scale)
        draw.write_values(ax_k, part.kernel, fontsize=8)
        ax_k.set_title("kernel" if forward else "kernel flipped by 180 degrees", fontsize=draw.PANEL_TITLE_SIZE)
        ax_out.set_facecolor("0.8")       # grey: not computed yet (white is 0 on the diverging map)
        ax_out.imshow(np.ma.masked_invalid(frame.result), cmap=draw.SIGNED_CMAP,
                      **self.result_scale[part.result_name])
        ax_out.add_patch(Rectangle((frame.position[1] - 0.5, frame.position[0] - 0.5), 1, 1,
                                   fill=False, edgecolor="red", linewidth=2))
        ax_out.text(frame.position[1], frame.position[0], f"{frame.value:.2f}", ha="center", va="center",
                    fontsize=7)
        ax_out.set_title(f"{part.result_name}{list(frame.position)} = sum(window * kernel) = {frame.value:.3f}",
                         fontsize=draw.PANEL_TITLE_SIZE)
        fig.suptitle(part.title, fontsize=draw.FIGURE_TITLE_SIZE)


def convolution_frame(image: np.ndarray, kernel: np.ndarray, step: int, **film) -> Figure:
    """One frame of ``convolution_animation`` as a figure (``film``: its other arguments)."""
    movie = ConvolutionFilm(image, kernel, **film)
    if not 0 <= step < len(movie):
        raise ShapeError(f"convolution_frame: the film has {len(movie)} frames, got step {step}")
    fig = movie.new_figure()
    movie.draw(fig, step)
    return fig


def convolution_animation(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str = "valid",
                          path: str = "convolution.gif", backward: bool = True, dy: np.ndarray | None = None,
                          fps: int = 3, dpi: int = 80) -> Path:
    """Write the forward (and backward) pass as an animated GIF; return its path.

    What each frame shows, and what ``dy`` means, is ``ConvolutionFilm``'s
    docstring. Keep the image small (8x8 is plenty; ``crop_on_detail`` picks a
    part with something in it). ``dpi`` sets the size of the pictures (the
    file grows with its square). Without a Pillow writer a PNG
    strip of the frames is written instead.
    """
    movie = ConvolutionFilm(image, kernel, stride, padding, backward, dy)
    fig = movie.new_figure()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if animation.writers.is_available("pillow"):
            frames = animation.FuncAnimation(fig, lambda step: movie.draw(fig, step), frames=len(movie))
            frames.save(path, writer=animation.PillowWriter(fps=fps), dpi=dpi)
            return path
        path = path.with_suffix(".png")   # fallback: every frame side by side, one strip
        stills = []
        for step in range(len(movie)):
            movie.draw(fig, step)
            fig.set_dpi(dpi)
            fig.canvas.draw()
            stills.append(np.asarray(fig.canvas.buffer_rgba())[..., :3])
        plt.imsave(path, np.concatenate(stills, axis=0))
        return path
    finally:
        plt.close(fig)
