"""The 2.0 edition's padding mask on MXNet (section 9.7): ``sequence_mask`` and ``MaskedSoftmaxCELoss``.

The book's MXNet cells call ``npx.sequence_mask``; ``d2l.sequence_mask(X, valid_len, value=0)`` is the
PyTorch book's function, which every backend has. The arithmetic is the core's (``d2lx.seq2seq``).
"""

from __future__ import annotations

from mxnet import gluon, np, npx

from d2lx import seq2seq

_OPS = seq2seq.MaskOps(
    lengths=lambda valid_len, X: (
        valid_len.as_in_ctx(X.ctx) if isinstance(valid_len, np.ndarray) else np.array(valid_len, ctx=X.ctx)
    ),
    concrete=lambda lengths: lengths.asnumpy(),
    arange=lambda steps, lengths: np.arange(steps, dtype=lengths.dtype, ctx=lengths.ctx),
    reshape=np.reshape,
    where=lambda keep, X, value: np.where(keep, X, np.full(X.shape, value, dtype=X.dtype, ctx=X.ctx)),
    ones_like=np.ones_like,
    mean=lambda X, axis: X.mean(axis=axis),
)


def sequence_mask(X, valid_len, value=0):
    """``X`` (n, T, ...) with ``value`` at every step past each row's ``valid_len`` (a new array)."""
    return seq2seq.sequence_mask(_OPS, X, valid_len, value)


class MaskedSoftmaxCELoss(gluon.loss.SoftmaxCELoss):
    """The softmax cross-entropy with padding masked: ``loss(pred, label, valid_len)``, ``pred`` (n, T, vocab),
    ``label`` (n, T); one loss per sequence, the mean over time of the tokens' losses, those past
    ``valid_len`` counted as 0 (as the book's, which weights ``SoftmaxCELoss`` by the mask)."""

    def forward(self, pred, label, valid_len):
        per_token = -npx.pick(npx.log_softmax(pred, axis=-1), label, axis=-1)
        return seq2seq.masked_mean(_OPS, per_token, valid_len)
