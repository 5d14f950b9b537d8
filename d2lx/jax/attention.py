"""Attention on JAX (the 1.0 edition's sections 11.1-11.5): ``masked_softmax``, ``DotProductAttention``,
``AdditiveAttention``, ``MultiHeadAttention`` and ``AttentionDecoder``, as Flax modules.

As in the book's JAX cells, the attention layers return ``(output, attention_weights)``: a Flax module keeps
no state between calls. The decoders hand their weights to ``predict_step`` by sowing them into the
``'intermediates'`` collection (``self.sow('intermediates', 'dec_attention_weights', ...)``). d2l has no JAX
``AttentionDecoder``; d2lx's is the base of such decoders. The masking arithmetic, the scoring functions and
the head split are the core's (``d2lx.attention``); under ``jax.jit`` only the shape of ``valid_lens`` is
checked, its values being unknown.
"""

from __future__ import annotations

import jax
from flax import linen as nn
from jax import numpy as jnp

from d2lx import attention, checks
from d2lx.jax import seq2seq

_OPS = attention.numpy_named_ops(jnp, seq2seq._OPS, softmax=lambda X: jax.nn.softmax(X, axis=-1), bmm=jnp.matmul)

masked_softmax = attention.make_masked_softmax(_OPS, jnp.asarray)


class DotProductAttention(nn.Module):
    """Scaled dot-product attention: ``(output, attention_weights)``; dropout on the weights while
    ``training``."""

    dropout: float

    def __post_init__(self):
        checks.hyperparameters({"dropout": self.dropout})
        super().__post_init__()

    @nn.compact
    def __call__(self, queries, keys, values, valid_lens=None, training=False):
        attention_weights = masked_softmax(attention.dot_product_scores(_OPS, queries, keys), valid_lens)
        dropped = nn.Dropout(self.dropout, deterministic=not training)(attention_weights)
        return dropped @ values, attention_weights


class AdditiveAttention(nn.Module):
    """Additive attention, ``w_v^T tanh(W_q q + W_k k)``: ``(output, attention_weights)``."""

    num_hiddens: int
    dropout: float

    def __post_init__(self):
        checks.hyperparameters({"num_hiddens": self.num_hiddens, "dropout": self.dropout})
        super().__post_init__()

    def setup(self):
        self.W_k = nn.Dense(self.num_hiddens, use_bias=False)
        self.W_q = nn.Dense(self.num_hiddens, use_bias=False)
        self.w_v = nn.Dense(1, use_bias=False)
        self.dropout_layer = nn.Dropout(self.dropout)

    def __call__(self, queries, keys, values, valid_lens, training=False):
        features = attention.additive_features(_OPS, self.W_q(queries), self.W_k(keys))
        attention_weights = masked_softmax(jnp.squeeze(self.w_v(features), -1), valid_lens)
        return self.dropout_layer(attention_weights, deterministic=not training) @ values, attention_weights


class MultiHeadAttention(attention.HeadSplitSteps, nn.Module):
    """Multi-head attention: ``(output, attention_weights)``, the weights of every head (batch_size *
    num_heads, num_queries, num_keys); see ``d2lx.attention.MultiHeadAttentionSteps``."""

    _ops = _OPS

    num_hiddens: int
    num_heads: int
    dropout: float
    bias: bool = False

    def __post_init__(self):
        attention.check_heads(self.num_hiddens, self.num_heads)
        checks.hyperparameters({"dropout": self.dropout})  # here, not when setup makes the attention
        super().__post_init__()

    def setup(self):
        self.attention = DotProductAttention(self.dropout)
        self.W_q = nn.Dense(self.num_hiddens, use_bias=self.bias)
        self.W_k = nn.Dense(self.num_hiddens, use_bias=self.bias)
        self.W_v = nn.Dense(self.num_hiddens, use_bias=self.bias)
        self.W_o = nn.Dense(self.num_hiddens, use_bias=self.bias)

    def __call__(self, queries, keys, values, valid_lens, training=False):
        valid_lens = attention.lens_per_head(_OPS, queries, keys, valid_lens, self.num_heads)
        queries = self.transpose_qkv(self.W_q(queries))
        keys = self.transpose_qkv(self.W_k(keys))
        values = self.transpose_qkv(self.W_v(values))
        output, attention_weights = self.attention(queries, keys, values, valid_lens, training=training)
        return self.W_o(self.transpose_output(output)), attention_weights


class AttentionDecoder(attention.AttentionDecoderBase, seq2seq.Decoder):
    """The base of the decoders with attention (d2l has none on JAX). A Flax module keeps nothing between
    calls, so a subclass sows its weights in ``__call__``, as the book's JAX decoders do:
    ``self.sow('intermediates', 'dec_attention_weights', attention_weights)``; ``predict_step(...,
    save_attention_weights=True)`` collects them at each step."""
