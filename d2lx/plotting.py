"""The book's plotting helpers: ``set_figsize``, ``plot``, ``show_images`` and friends.

They draw with ``matplotlib.pyplot`` as the book does, so figures appear at the
end of a notebook cell; matplotlib is imported only when one of them is called.
Inputs may be lists, numpy arrays or any backend's tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from d2lx import display


def to_numpy(x: Any) -> np.ndarray:
    """Convert a list, numpy array or framework tensor (on any device) to a numpy array."""
    if hasattr(x, "asnumpy"):  # MXNet
        return x.asnumpy()
    if hasattr(x, "detach"):  # PyTorch
        x = x.detach()
        if hasattr(x, "cpu"):
            x = x.cpu()
        return x.numpy()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):  # TensorFlow eager tensors, Variables
        return np.asarray(x.numpy())
    return np.asarray(x)


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def use_svg_display() -> None:
    """Draw notebook figures (pyplot ones and ``ProgressBoard``) as SVG."""
    display.set_figure_format("svg")
    try:
        from matplotlib_inline import backend_inline
    except ImportError:  # not in Jupyter: nothing else to switch
        return
    backend_inline.set_matplotlib_formats("svg")


def set_figsize(figsize: tuple[float, float] = (3.5, 2.5)) -> None:
    """Set the default size of pyplot figures."""
    use_svg_display()
    _pyplot().rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend) -> None:
    """Set labels, limits, scales and legend of a matplotlib ``axes``."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def _as_list_of_series(X) -> list:
    """Accept one series or a list of series, as the book's ``plot`` does."""
    if isinstance(X, (list, tuple)) and X and (hasattr(X[0], "__len__") or hasattr(X[0], "shape")):
        return [to_numpy(x) for x in X]
    array = to_numpy(X)
    return [array] if array.ndim == 1 else list(array)


def plot(
    X,
    Y=None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: Sequence[str] | None = None,
    xlim=None,
    ylim=None,
    xscale: str = "linear",
    yscale: str = "linear",
    fmts: Sequence[str] = ("-", "m--", "g-.", "r:"),
    figsize: tuple[float, float] = (3.5, 2.5),
    axes=None,
):
    """Plot one or several curves: ``plot(x, [f(x), g(x)], 'x', 'y', legend=[...])``."""
    plt = _pyplot()
    if axes is None:
        plt.figure(figsize=figsize)
        axes = plt.gca()
    if Y is None:
        X, Y = [[]] * len(_as_list_of_series(X)), _as_list_of_series(X)
    else:
        Y = _as_list_of_series(Y)
        X = _as_list_of_series(X)
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts * (len(Y) // len(fmts) + 1)):
        if len(x):
            axes.plot(x, y, fmt)
        else:
            axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
    return axes


def show_images(imgs, num_rows: int, num_cols: int, titles: Sequence[str] | None = None, scale: float = 1.5):
    """Show a grid of images (a batch of HxW or HxWxC arrays/tensors) with optional titles."""
    plt = _pyplot()
    _, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale), squeeze=False)
    axes = axes.flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        ax.imshow(to_numpy(img))
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles is not None and i < len(titles):
            ax.set_title(titles[i])
    return axes
