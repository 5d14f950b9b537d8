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

_OPS = attention.AttentionOps(
    mask=seq2seq._OPS,
    softmax=lambda X: npx.softmax(X, axis=-1),
    bmm=npx.batch_dot,
    swap_last=lambda X: np.swapaxes(X, 1, 2),
    permute=np.transpose,
    repeat=lambda X, k: np.repeat(X, k, axis=0),
    tanh=np.tanh,
    expand_dims=np.expand_dims,
    squeeze_last=lambda X: np.squeeze(X, axis=-1),
)


def masked_softmax(X, valid_lens):
    """The softmax over the last axis of ``X`` (batch_size, num_queries, num_keys), each query seeing only its
    first ``valid_lens`` keys (shape (batch_size,) or (batch_size, num_queries)); see
    ``d2lx.attention.masked_softmax`` (a row of valid length 0 gets zero weights)."""
    return attention.masked_softmax(_OPS, X, valid_lens)


def _dropout(dropout):
    checks.hyperparameters({"dropout": dropout})
    return nn.Dropout(dropout)


class DotProductAttention(attention.DotProductAttentionSteps, nn.Block):
    """Scaled dot-product attention (see ``d2lx.attention.DotProductAttentionSteps``)."""

    _ops = _OPS

    def __init__(self, dropout):
        super().__init__()
        self.dropout = _dropout(dropout)


class AdditiveAttention(attention.AdditiveAttentionSteps, nn.Block):
    """Additive attention (see ``d2lx.attention.AdditiveAttentionSteps``)."""

    _ops = _OPS

    def __init__(self, num_hiddens, dropout, **kwargs):
        super().__init__(**kwargs)
        checks.hyperparameters({"num_hiddens": num_hiddens})
        self.W_k = nn.Dense(num_hiddens, use_bias=False, flatten=False)
        self.W_q = nn.Dense(num_hiddens, use_bias=False, flatten=False)
        self.w_v = nn.Dense(1, use_bias=False, flatten=False)
        self.dropout = _dropout(dropout)


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
