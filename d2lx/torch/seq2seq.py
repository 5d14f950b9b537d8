"""The 2.0 edition's padding mask on PyTorch (section 9.7): ``sequence_mask`` and ``MaskedSoftmaxCELoss``.

The arithmetic is the core's (``d2lx.seq2seq``); this file gives it PyTorch's tensor operations.
"""

from __future__ import annotations

import torch
from torch import nn

from d2lx import seq2seq

_OPS = seq2seq.MaskOps(
    lengths=lambda valid_len, X: torch.as_tensor(valid_len, device=X.device),
    concrete=lambda lengths: lengths.detach().cpu().numpy(),
    arange=lambda steps, lengths: torch.arange(steps, dtype=lengths.dtype, device=lengths.device),
    reshape=torch.reshape,
    where=lambda keep, X, value: torch.where(keep, X, torch.as_tensor(value, dtype=X.dtype, device=X.device)),
    ones_like=torch.ones_like,
    mean=lambda X, axis: X.mean(dim=axis),
)


def sequence_mask(X, valid_len, value=0):
    """``X`` (n, T, ...) with ``value`` at every step past each row's ``valid_len``: a new tensor, where the
    book's version writes into ``X`` (and so into a tensor autograd may still need)."""
    return seq2seq.sequence_mask(_OPS, X, valid_len, value)


class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
    """The softmax cross-entropy with padding masked: ``loss(pred, label, valid_len)``, ``pred`` (n, T, vocab),
    ``label`` (n, T); one loss per sequence, the mean over time of the tokens' losses, those past
    ``valid_len`` counted as 0 (as the book's)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reduction = "none"

    def forward(self, pred, label, valid_len):
        per_token = super().forward(pred.permute(0, 2, 1), label)
        return seq2seq.masked_mean(_OPS, per_token, valid_len)
