"""Attention on TensorFlow (the 1.0 edition's sections 11.1-11.5): ``masked_softmax``, ``DotProductAttention``,
``AdditiveAttention``, ``MultiHeadAttention`` and ``AttentionDecoder``, as the TensorFlow book builds them
(its constructors take the sizes of keys, queries and values, which Keras's layers do not need).

The masking arithmetic, the scoring functions and the head split are the core's (``d2lx.attention``); this
file gives them TensorFlow's operations and Keras's layers. ``training=`` reaches the dropout.
"""

from __future__ import annotations

import tensorflow as tf

from d2lx import attention, checks
from d2lx.tensorflow import seq2seq
from d2lx.tensorflow.module import Module

_OPS = attention.AttentionOps(
    mask=seq2seq._OPS,
    softmax=lambda X: tf.nn.softmax(X, axis=-1),
    bmm=tf.matmul,
    swap_last=lambda X: tf.transpose(X, (0, 2, 1)),
    permute=tf.transpose,
    repeat=lambda X, k: tf.repeat(X, repeats=k, axis=0),
    tanh=tf.nn.tanh,
    expand_dims=tf.expand_dims,
    squeeze_last=lambda X: tf.squeeze(X, axis=-1),
)


def masked_softmax(X, valid_lens):
    """The softmax over the last axis of ``X`` (batch_size, num_queries, num_keys), each query seeing only its
    first ``valid_lens`` keys (shape (batch_size,) or (batch_size, num_queries)); see
    ``d2lx.attention.masked_softmax`` (a row of valid length 0 gets zero weights)."""
    return attention.masked_softmax(_OPS, tf.convert_to_tensor(X), valid_lens)


def _dropout(dropout):
    checks.hyperparameters({"dropout": dropout})
    return tf.keras.layers.Dropout(dropout)


class DotProductAttention(attention.DotProductAttentionSteps, seq2seq._BuiltByItsLayers):
    """Scaled dot-product attention (see ``d2lx.attention.DotProductAttentionSteps``)."""

    _ops = _OPS

    def __init__(self, dropout):
        super().__init__()
        self.dropout = _dropout(dropout)

    def call(self, queries, keys, values, valid_lens=None, **kwargs):
        return self.forward(queries, keys, values, valid_lens, **kwargs)


class AdditiveAttention(attention.AdditiveAttentionSteps, seq2seq._BuiltByItsLayers):
    """Additive attention (see ``d2lx.attention.AdditiveAttentionSteps``); ``key_size`` and ``query_size`` are
    the book's arguments, which Keras's layers, sized by their first input, do not need."""

    _ops = _OPS

    def __init__(self, key_size, query_size, num_hiddens, dropout, **kwargs):
        super().__init__(**kwargs)
        checks.hyperparameters({"key_size": key_size, "query_size": query_size, "num_hiddens": num_hiddens})
        self.W_k = tf.keras.layers.Dense(num_hiddens, use_bias=False)
        self.W_q = tf.keras.layers.Dense(num_hiddens, use_bias=False)
        self.w_v = tf.keras.layers.Dense(1, use_bias=False)
        self.dropout = _dropout(dropout)

    def call(self, queries, keys, values, valid_lens, **kwargs):
        return self.forward(queries, keys, values, valid_lens, **kwargs)


class MultiHeadAttention(attention.MultiHeadAttentionSteps, Module):
    """Multi-head attention (see ``d2lx.attention.MultiHeadAttentionSteps``); ``key_size``, ``query_size`` and
    ``value_size`` are the book's arguments, which Keras's layers do not need."""

    _ops = _OPS

    def __init__(self, key_size, query_size, value_size, num_hiddens, num_heads, dropout, bias=False, **kwargs):
        super().__init__()
        checks.hyperparameters({"key_size": key_size, "query_size": query_size, "value_size": value_size})
        attention.check_heads(num_hiddens, num_heads)
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = tf.keras.layers.Dense(num_hiddens, use_bias=bias)
        self.W_k = tf.keras.layers.Dense(num_hiddens, use_bias=bias)
        self.W_v = tf.keras.layers.Dense(num_hiddens, use_bias=bias)
        self.W_o = tf.keras.layers.Dense(num_hiddens, use_bias=bias)

    def call(self, queries, keys, values, valid_lens, **kwargs):
        return self.forward(queries, keys, values, valid_lens, **kwargs)


class AttentionDecoder(attention.AttentionDecoderBase, seq2seq.Decoder):
    """The base of the decoders with attention: a subclass defines the property ``attention_weights``."""
