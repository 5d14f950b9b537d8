"""Attention on TensorFlow (the 1.0 edition's sections 11.1-11.5): ``masked_softmax``, ``DotProductAttention``,
``AdditiveAttention``, ``MultiHeadAttention`` and ``AttentionDecoder``, as the TensorFlow book builds them
(its constructors take the sizes of keys, queries and values, which Keras's layers do not need).

The masking arithmetic, the scoring functions and the head split are the core's (``d2lx.attention``); this
file gives them TensorFlow's operations and Keras's layers. ``training=`` reaches the dropout.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.experimental import numpy as tnp

from d2lx import attention, checks
from d2lx.tensorflow import seq2seq
from d2lx.tensorflow.module import Module

# tf.experimental.numpy's swapaxes, transpose, repeat, tanh, expand_dims and squeeze are tf's own kernels under
# numpy's names (the same numbers, and the same static shapes inside a tf.function).
_OPS = attention.numpy_named_ops(tnp, seq2seq._OPS, softmax=lambda X: tf.nn.softmax(X, axis=-1), bmm=tf.matmul)

masked_softmax = attention.make_masked_softmax(_OPS, tf.convert_to_tensor)


class DotProductAttention(attention.DotProductAttentionSteps, seq2seq._BuiltByItsLayers):
    """Scaled dot-product attention (see ``d2lx.attention.DotProductAttentionSteps``)."""

    _ops = _OPS

    def __init__(self, dropout):
        super().__init__()
        self.dropout = attention.checked_dropout(tf.keras.layers.Dropout, dropout)

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
        self.dropout = attention.checked_dropout(tf.keras.layers.Dropout, dropout)

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
