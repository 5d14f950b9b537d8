"""Attention on PyTorch (the 1.0 edition's sections 11.1-11.5): ``masked_softmax``, ``DotProductAttention``,
``AdditiveAttention``, ``MultiHeadAttention`` and ``AttentionDecoder``, as the PyTorch book builds them.

The masking arithmetic, the scoring functions and the head split are the core's (``d2lx.attention``); this
file gives them PyTorch's operations and layers.
"""

from __future__ import annotations

import torch
from torch import nn

from d2lx import attention, checks
from d2lx.torch import seq2seq
from d2lx.torch.module import Module

_OPS = attention.AttentionOps(
    mask=seq2seq._OPS,
    softmax=lambda X: nn.functional.softmax(X, dim=-1),
    bmm=torch.bmm,
    swap_last=lambda X: X.transpose(1, 2),
    permute=lambda X, axes: X.permute(*axes),
    repeat=lambda X, k: torch.repeat_interleave(X, repeats=k, dim=0),
    tanh=torch.tanh,
    expand_dims=torch.unsqueeze,
    squeeze_last=lambda X: X.squeeze(-1),
)

masked_softmax = attention.make_masked_softmax(_OPS)


class DotProductAttention(attention.DotProductAttentionSteps, nn.Module):
    """Scaled dot-product attention (see ``d2lx.attention.DotProductAttentionSteps``)."""

    _ops = _OPS

    def __init__(self, dropout):
        super().__init__()
        self.dropout = attention.checked_dropout(nn.Dropout, dropout)


class AdditiveAttention(attention.AdditiveAttentionSteps, nn.Module):
    """Additive attention (see ``d2lx.attention.AdditiveAttentionSteps``)."""

    _ops = _OPS

    def __init__(self, num_hiddens, dropout, **kwargs):
        super().__init__(**kwargs)
        checks.hyperparameters({"num_hiddens": num_hiddens})
        self.W_k = nn.LazyLinear(num_hiddens, bias=False)
        self.W_q = nn.LazyLinear(num_hiddens, bias=False)
        self.w_v = nn.LazyLinear(1, bias=False)
        self.dropout = attention.checked_dropout(nn.Dropout, dropout)


class MultiHeadAttention(attention.MultiHeadAttentionSteps, Module):
    """Multi-head attention (see ``d2lx.attention.MultiHeadAttentionSteps``)."""

    _ops = _OPS

    def __init__(self, num_hiddens, num_heads, dropout, bias=False, **kwargs):
        super().__init__()
        attention.check_heads(num_hiddens, num_heads)
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.LazyLinear(num_hiddens, bias=bias)
        self.W_k = nn.LazyLinear(num_hiddens, bias=bias)
        self.W_v = nn.LazyLinear(num_hiddens, bias=bias)
        self.W_o = nn.LazyLinear(num_hiddens, bias=bias)


class AttentionDecoder(attention.AttentionDecoderBase, seq2seq.Decoder):
    """The base of the decoders with attention: a subclass defines the property ``attention_weights``."""
