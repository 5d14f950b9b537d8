"""The padding mask on JAX: ``sequence_mask`` and ``MaskedSoftmaxCELoss`` (the 2.0 edition's section 9.7,
which has no JAX version).

The arithmetic is the core's (``d2lx.seq2seq``); this file gives it ``jax.numpy``. Both run under
``jax.jit``, where ``valid_len``'s values are not known and only its shape is checked.
"""

from __future__ import annotations

import jax
import numpy as np
import optax
from jax import numpy as jnp

from d2lx import seq2seq


def _concrete(lengths):
    try:
        return np.asarray(lengths)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        # traced (under jax.jit): only the shape is known
        return None


_OPS = seq2seq.MaskOps(
    lengths=lambda valid_len, X: jnp.asarray(valid_len),
    concrete=_concrete,
    arange=lambda steps, lengths: jnp.arange(steps, dtype=lengths.dtype),
    reshape=jnp.reshape,
    where=lambda keep, X, value: jnp.where(keep, X, jnp.asarray(value, dtype=X.dtype)),
    ones_like=jnp.ones_like,
    mean=lambda X, axis: X.mean(axis=axis),
)


def sequence_mask(X, valid_len, value=0):
    """``X`` (n, T, ...) with ``value`` at every step past each row's ``valid_len`` (a new array)."""
    return seq2seq.sequence_mask(_OPS, X, valid_len, value)


class MaskedSoftmaxCELoss:
    """The softmax cross-entropy with padding masked: ``MaskedSoftmaxCELoss()(pred, label, valid_len)``, as
    the PyTorch book calls it (a plain callable: JAX losses are functions); ``pred`` (n, T, vocab) logits,
    ``label`` (n, T); one loss per sequence, the mean over time of the tokens' losses, those past
    ``valid_len`` counted as 0."""

    def __call__(self, pred, label, valid_len):
        per_token = optax.softmax_cross_entropy_with_integer_labels(pred, label)
        return seq2seq.masked_mean(_OPS, per_token, valid_len)
