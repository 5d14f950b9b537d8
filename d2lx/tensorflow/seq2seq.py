"""The 2.0 edition's padding mask on TensorFlow (section 9.7): ``sequence_mask`` and ``MaskedSoftmaxCELoss``.

The arithmetic is the core's (``d2lx.seq2seq``); this file gives it TensorFlow's operations. Inside a
``tf.function`` ``valid_len``'s values are not known, and only its shape is checked.
"""

from __future__ import annotations

import tensorflow as tf

from d2lx import seq2seq


def _concrete(lengths):
    return lengths.numpy() if tf.executing_eagerly() else None


_OPS = seq2seq.MaskOps(
    lengths=lambda valid_len, X: tf.convert_to_tensor(valid_len),
    concrete=_concrete,
    arange=lambda steps, lengths: tf.range(steps, dtype=lengths.dtype),
    reshape=tf.reshape,
    where=lambda keep, X, value: tf.where(keep, X, tf.cast(value, X.dtype)),
    ones_like=tf.ones_like,
    mean=lambda X, axis: tf.reduce_mean(X, axis=axis),
)


def sequence_mask(X, valid_len, value=0):
    """``X`` (n, T, ...) with ``value`` at every step past each row's ``valid_len`` (a new tensor)."""
    return seq2seq.sequence_mask(_OPS, tf.convert_to_tensor(X), valid_len, value)


class MaskedSoftmaxCELoss(tf.keras.losses.Loss):
    """The softmax cross-entropy with padding masked, as the TensorFlow book builds it:
    ``MaskedSoftmaxCELoss(valid_len)(label, pred)``, ``label`` (n, T), ``pred`` (n, T, vocab) logits; one loss
    per sequence, the mean over time of the tokens' losses, those past ``valid_len`` counted as 0."""

    def __init__(self, valid_len):
        super().__init__(reduction=None)
        self.valid_len = valid_len

    def call(self, label, pred):
        per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(label, tf.int32), logits=pred)
        return seq2seq.masked_mean(_OPS, per_token, self.valid_len)
