"""Chapter 7's framework-free parts: cross-correlation and the checks of ``layer_summary``.

``corr2d`` is written with slicing, products and sums only, so the same function works on torch
and MXNet arrays and on the immutable arrays of JAX and TensorFlow (the book's version assigns
``Y[i, j]``, which those two refuse), and gradients flow through it on every framework.
"""

from __future__ import annotations

from typing import Any

CHANNELS_FIRST = "(batch, channels, height, width)"
CHANNELS_LAST = "(batch, height, width, channels)"


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in x.shape)


def corr2d(X, K):
    """The 2-D cross-correlation of ``X`` (h, w) with the kernel ``K``: ``Y[i, j] = sum(X[i:i+kh, j:j+kw] * K)``.

    Computed as a sum over the kernel's ``kh * kw`` entries of shifted slices of ``X``: a few
    whole-array operations instead of one Python step per output element.
    """
    (height, width), (kh, kw) = _shape(X), _shape(K)
    if kh > height or kw > width:
        raise ValueError(f"corr2d: the kernel {(kh, kw)} is larger than the input {(height, width)}")
    out_h, out_w = height - kh + 1, width - kw + 1
    Y = None
    for a in range(kh):
        for b in range(kw):
            term = X[a : a + out_h, b : b + out_w] * K[a, b]
            Y = term if Y is None else Y + term
    return Y


def summary_shape(model: Any, X_shape: Any, layout: str) -> tuple[int, ...]:
    """``X_shape`` as a tuple of four positive ints, else an error naming the model and the layout."""
    try:
        shape = tuple(int(d) for d in X_shape)
    except (TypeError, ValueError):
        shape = None
    if shape is None or len(shape) != 4 or min(shape) < 1:
        raise ValueError(
            f"{type(model).__name__}.layer_summary: X_shape must have 4 dimensions {layout}, got {X_shape!r}"
        )
    return shape


def print_output_shape(layer: Any, X: Any) -> None:
    """One line of ``layer_summary``, as the book prints it."""
    print(type(layer).__name__, "output shape:\t", X.shape)
