"""The book's synthetic linear-regression data, drawn once with numpy."""

from __future__ import annotations

import numpy as np

from d2lx import checks
from d2lx.plotting import to_numpy
from d2lx.utils import numpy_rng


def as_weight_vector(w) -> np.ndarray:
    """``w`` (list, array or tensor) as a flat float32 vector, or a clear error."""
    try:
        vector = np.asarray(to_numpy(w), dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(f"w must be a vector of numbers, got {w!r}") from None
    if vector.ndim == 2 and 1 in vector.shape:
        vector = vector.reshape(-1)
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(f"w must be a non-empty vector (shape (d,)), got shape {vector.shape}")
    bad = np.flatnonzero(~np.isfinite(vector))
    if bad.size:
        raise ValueError(f"w must hold finite numbers, got {vector[bad[0]]} at w[{bad[0]}]")
    return vector


def synthetic_regression(w, b, noise: float = 0.01, num_examples: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``X ~ N(0, 1)`` of shape ``(n, len(w))`` and ``y = Xw + b + N(0, noise)`` of shape ``(n, 1)``.

    Uses the generator of ``d2lx.set_seed``, so a seeded run gives the same
    arrays on every backend.
    """
    w = as_weight_vector(w)
    try:
        b = float(np.asarray(to_numpy(b)).reshape(()))
    except (TypeError, ValueError):
        raise TypeError(f"b must be a number, got {b!r}") from None
    if not np.isfinite(np.float32(b)):
        raise ValueError(f"b must be a finite number, got {b}")
    noise = checks.non_negative_number("noise", noise)
    num_examples = checks.positive_int("num_examples", num_examples)
    rng = numpy_rng()
    X = rng.standard_normal((num_examples, w.size), dtype=np.float32)
    eps = rng.standard_normal((num_examples, 1), dtype=np.float32) * np.float32(noise)
    y = X @ w.reshape(-1, 1) + np.float32(b) + eps
    return X, y.astype(np.float32)
