"""The 2.0 edition's padding mask (section 9.7), written once: ``sequence_mask`` and the masked loss.

Each backend's ``seq2seq.py`` hands these functions its tensor operations (``MaskOps``: ``arange``,
``reshape``, ``where``, ``mean``...) and its per-token cross-entropy; the arithmetic (which positions a
length keeps, the checks of ``valid_len``, the mean over time of the masked per-token losses) is here,
and ``d2lx.text.sequence_mask_numpy`` is its numpy reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class MaskOps(NamedTuple):
    """The tensor operations of one backend that ``sequence_mask`` and ``masked_mean`` need."""

    lengths: Callable[[Any, Any], Any]  # (valid_len, X) -> valid_len as a tensor beside X
    concrete: Callable[[Any], np.ndarray | None]  # valid_len's values as numpy, None while traced
    arange: Callable[[int, Any], Any]  # (T, lengths) -> 0..T-1 in lengths' dtype, on its device
    reshape: Callable[[Any, tuple], Any]
    where: Callable[[Any, Any, Any], Any]  # (keep, X, value) -> X where keep, else value
    ones_like: Callable[[Any], Any]
    mean: Callable[[Any, int], Any]  # (X, axis)


def check_mask_arguments(X_shape: tuple, lengths_shape: tuple, lengths: np.ndarray | None) -> int:
    """The number of time steps of ``X`` (shape ``X_shape``: ``(n, T, ...)``), after checking that
    ``valid_len`` holds one non-negative length per row (``lengths``: its values, None when unknown, as
    under ``jax.jit``). The same messages on every backend and in the numpy reference."""
    X_shape, lengths_shape = tuple(int(d) for d in X_shape), tuple(int(d) for d in lengths_shape)
    if len(X_shape) < 2:
        raise ValueError(f"X must have a batch axis and a time axis (n, T, ...), got shape {X_shape}")
    if lengths_shape != (X_shape[0],):
        raise ValueError(f"valid_len must hold one length per row of X, shape ({X_shape[0]},), got {lengths_shape}")
    if lengths is not None and (np.asarray(lengths) < 0).any():
        raise ValueError(f"valid_len must hold non-negative lengths, got {np.asarray(lengths).tolist()}")
    return X_shape[1]


def sequence_mask(ops: MaskOps, X, valid_len, value=0):
    """``X`` (n, T, ...) with ``value`` at every position ``t >= valid_len[i]`` of row ``i``; a new tensor
    (the 2.0 edition's PyTorch version writes into ``X`` and returns it)."""
    lengths = ops.lengths(valid_len, X)
    steps = check_mask_arguments(tuple(X.shape), tuple(lengths.shape), ops.concrete(lengths))
    keep = ops.arange(steps, lengths)[None, :] < lengths[:, None]
    keep = ops.reshape(keep, (int(X.shape[0]), steps) + (1,) * (len(X.shape) - 2))
    return ops.where(keep, X, value)


def masked_mean(ops: MaskOps, per_token, valid_len):
    """The masked loss of ``MaskedSoftmaxCELoss``: ``per_token`` (n, T), each token's loss, times the mask of
    ``valid_len`` (1 up to the length, 0 past it), averaged over time: one loss per sequence, shape (n,)."""
    weights = sequence_mask(ops, ops.ones_like(per_token), valid_len)
    return ops.mean(per_token * weights, 1)
