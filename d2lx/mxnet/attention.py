"""Attention on MXNet (the 1.0 edition's sections 11.1-11.5): ``masked_softmax``, ``DotProductAttention``,
``AdditiveAttention``, ``MultiHeadAttention`` and ``AttentionDecoder``, as the MXNet book builds them.

The masking arithmetic, the scoring functions and the head split are the core's (``d2lx.attention``); this
file gives them MXNet's operations and Gluon's layers.
"""

from __future__ import annotations

from mxnet import np, npx
from mxnet.gluon import nn

from d2lx import attention, checks
from d2lx.mxnet import seq2seq
from d2lx.mxnet.module import Module

_OPS = attention.numpy_named_ops(np, seq2seq._OPS, softmax=lambda X: npx.softmax(X, axis=-1), bmm=npx.batch_dot)

masked_softmax = attention.make_masked_softmax(_OPS)


class DotProductAttention(attention.DotProductAttentionSteps, nn.Block):
    """Scaled dot-product attention (see ``d2lx.attention.DotProductAttentionSteps``)."""

    _ops = _OPS

    def __init__(self, dropout):
        super().__init__()
        self.dropout = attention.checked_dropout(nn.Dropout, dropout)


class AdditiveAttention(attention.AdditiveAttentionSteps, nn.Block):
    """Additive attention (see ``d2lx.attention.AdditiveAttentionSteps``)."""

    _ops = _OPS

    def __init__(self, num_hiddens, dropout, **kwargs):
        super().__init__(**kwargs)
        checks.hyperparameters({"num_hiddens": num_hiddens})
        self.W_k = nn.Dense(num_hiddens, use_bias=False, flatten=False)
        self.W_q = nn.Dense(num_hiddens, use_bias=False, flatten=False)
        self.w_v = nn.Dense(1, use_bias=False, flatten=False)
        self.dropout = attention.checked_dropout(nn.Dropout, dropout)


class MultiHeadAttention(attention.MultiHeadAttentionSteps, Module):
    """Multi-head attention (see ``d2lx.attention.MultiHeadAttentionSteps``)."""

    _ops = _OPS

    def __init__(self, num_hiddens, num_heads, dropout, use_bias=False, **kwargs):
        super().__init__()
        attention.check_heads(num_hiddens, num_heads)
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.Dense(num_hiddens, use_bias=use_bias, flatten=False)
        self.W_k = nn.Dense(num_hiddens, use_bias=use_bias, flatten=False)
        self.W_v = nn.Dense(num_hiddens, use_bias=use_bias, flatten=False)
        self.W_o = nn.Dense(num_hiddens, use_bias=use_bias, flatten=False)


class AttentionDecoder(attention.AttentionDecoderBase, seq2seq.Decoder):
    """The base of the decoders with attention: a subclass defines the property ``attention_weights``."""
