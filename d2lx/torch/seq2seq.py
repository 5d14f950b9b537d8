"""Sequence to sequence on PyTorch: the 2.0 edition's padding mask (section 9.7: ``sequence_mask``,
``MaskedSoftmaxCELoss``) and the 1.0 edition's encoder-decoder (sections 10.6-10.7: ``Encoder``, ``Decoder``,
``EncoderDecoder``, ``init_seq2seq``, ``Seq2SeqEncoder``, ``Seq2Seq``).

The arithmetic and the loops are the core's (``d2lx.seq2seq``); this file gives them PyTorch's operations.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

from d2lx import seq2seq
from d2lx.torch import cnn, ops, rnn
from d2lx.torch.module import Classifier

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


# --- the 1.0 edition's sections 10.6-10.7 --------------------------------------------------------------
class Encoder(seq2seq.EncoderBase, nn.Module):
    """The base encoder of the encoder-decoder architecture (see ``d2lx.seq2seq.EncoderBase``)."""


class Decoder(seq2seq.DecoderBase, nn.Module):
    """The base decoder of the encoder-decoder architecture (see ``d2lx.seq2seq.DecoderBase``)."""


class EncoderDecoder(seq2seq.EncoderDecoderSteps, Classifier):
    """The base class of the encoder-decoder architecture (see ``d2lx.seq2seq.EncoderDecoderSteps``)."""

    _ops = ops

    def _placed(self, array, device):
        return torch.as_tensor(array).to(device)

    def _predicting(self):
        return torch.no_grad()


def init_seq2seq(module: nn.Module) -> None:
    """Xavier-uniform weights for ``nn.Linear`` and ``nn.GRU`` layers (biases as they were), as the book;
    for ``module.apply(init_seq2seq)``. A lazy ``nn.LazyLinear`` (the book's decoder's output layer) is
    initialised as soon as it knows its input size, before its first pass computes anything; the book's
    type check passes it by, so its decoder's output layer kept PyTorch's default draw."""
    if isinstance(module, LazyModuleMixin) and module.has_uninitialized_params():
        cnn._when_shaped(module, init_seq2seq)  # as init_cnn waits for a lazy layer
        return
    if type(module) is nn.Linear:
        nn.init.xavier_uniform_(module.weight)
    if type(module) is nn.GRU:
        for name in module._flat_weights_names:
            if "weight" in name:
                nn.init.xavier_uniform_(module._parameters[name])


class Seq2SeqEncoder(seq2seq.Seq2SeqEncoderSteps, Encoder):
    """The RNN encoder (see ``d2lx.seq2seq.Seq2SeqEncoderSteps``)."""

    _embedding, _gru = nn.Embedding, rnn.GRU

    def _initialise(self):
        self.apply(init_seq2seq)

    def forward(self, X, *args):
        embs = self.embedding(seq2seq.checked_tokens(self, X).t().type(torch.int64))
        return self.rnn(embs)


class Seq2Seq(seq2seq.Seq2SeqSteps, EncoderDecoder):
    """The RNN encoder-decoder for sequence-to-sequence learning, trained with Adam at ``lr``; its loss leaves
    out the padding (``tgt_pad``), see ``d2lx.seq2seq.Seq2SeqSteps``."""

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)
