"""The Transformer on TensorFlow (the 1.0 edition's sections 11.6-11.7): ``PositionalEncoding``,
``PositionWiseFFN``, ``AddNorm``, ``TransformerEncoderBlock``, ``TransformerEncoder``, with the TensorFlow book's
constructors (``key_size``, ``query_size``, ``value_size``, ``norm_shape``).

Each layer takes ``training`` and hands it to its dropout by name: Keras 3 passes ``training`` on only to a
``call`` that names it, and the book's ``call(self, X, **kwargs)`` does not. The table ``P``, the checks, the
encoder's forward passes and the numpy references are the core's (``d2lx.transformer``).
"""

from __future__ import annotations

import tensorflow as tf

from d2lx import transformer as core
from d2lx.tensorflow.attention import MultiHeadAttention
from d2lx.tensorflow.own_errors import KeepsOwnErrors
from d2lx.tensorflow.seq2seq import Encoder, _BuiltByItsLayers


class PositionalEncoding(KeepsOwnErrors, tf.keras.layers.Layer):
    """``X + P[:, :num_steps]``, then dropout: the sine/cosine table ``P`` (1, max_len, num_hiddens), a numpy
    array as in the book, gives each position its own pattern."""

    def __init__(self, num_hiddens, dropout, max_len=1000):
        super().__init__()
        core.check_arguments(self, num_hiddens=num_hiddens, dropout=dropout, max_len=max_len)
        self.num_hiddens, self.max_len = num_hiddens, max_len
        self.dropout = tf.keras.layers.Dropout(dropout)
        self.P = core.positional_encoding_table(num_hiddens, max_len)

    def call(self, X, training=None):
        core.check_positions(self, X.shape)
        P = tf.convert_to_tensor(self.P, dtype=X.dtype)[:, : tf.shape(X)[1], :]
        return self.dropout(X + P, training=training)


class PositionWiseFFN(KeepsOwnErrors, tf.keras.layers.Layer):
    """The same two-layer MLP at every position: ``dense2(relu(dense1(X)))``, the last axis of ``X`` becoming
    ``ffn_num_outputs`` wide."""

    def __init__(self, ffn_num_hiddens, ffn_num_outputs):
        super().__init__()
        core.check_arguments(self, ffn_num_hiddens=ffn_num_hiddens, ffn_num_outputs=ffn_num_outputs)
        self.dense1 = tf.keras.layers.Dense(ffn_num_hiddens)
        self.relu = tf.keras.layers.ReLU()
        self.dense2 = tf.keras.layers.Dense(ffn_num_outputs)

    def call(self, X):
        return self.dense2(self.relu(self.dense1(X)))


class AddNorm(KeepsOwnErrors, core.AddNormSteps, tf.keras.layers.Layer):
    """The residual connection followed by layer normalization: ``ln(dropout(Y) + X)``, ``Y`` a sublayer's output
    and ``X`` its input, of the same shape. ``norm_shape`` is the book's: the axes ``LayerNormalization``
    normalizes over (``[2]``, the features, as the book trains; its shape cell's ``[1, 2]`` takes the steps too)."""

    def __init__(self, norm_shape, dropout):
        super().__init__()
        core.check_arguments(self, dropout=dropout)
        self.dropout = tf.keras.layers.Dropout(dropout)
        self.ln = tf.keras.layers.LayerNormalization(norm_shape)

    def call(self, X, Y, training=None):
        return self.forward(X, Y, training=training)


class TransformerEncoderBlock(core.EncoderBlockSteps, _BuiltByItsLayers):
    """The Transformer encoder block (see ``d2lx.transformer.EncoderBlockSteps``): ``call(X, valid_lens,
    training=None)`` keeps the shape of ``X`` (batch_size, num_steps, num_hiddens)."""

    def __init__(self, key_size, query_size, value_size, num_hiddens, norm_shape, ffn_num_hiddens, num_heads,
                 dropout, bias=False):  # fmt: skip
        super().__init__()
        self.attention = MultiHeadAttention(key_size, query_size, value_size, num_hiddens, num_heads, dropout, bias)
        self.addnorm1 = AddNorm(norm_shape, dropout)
        self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
        self.addnorm2 = AddNorm(norm_shape, dropout)

    def call(self, X, valid_lens, training=None):
        return self.forward(X, valid_lens, training=training)


class TransformerEncoder(core.EncoderSteps, Encoder):
    """The Transformer encoder, ``num_blks`` encoder blocks over the embedded, position-encoded tokens (see
    ``d2lx.transformer.EncoderSteps``); ``attention_weights`` holds each block's after a forward pass."""

    def __init__(self, vocab_size, key_size, query_size, value_size, num_hiddens, norm_shape, ffn_num_hiddens,
                 num_heads, num_blks, dropout, bias=False):  # fmt: skip
        super().__init__()
        core.check_arguments(self, vocab_size=vocab_size, num_blks=num_blks)
        self.num_hiddens = num_hiddens
        self.embedding = tf.keras.layers.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = [
            TransformerEncoderBlock(key_size, query_size, value_size, num_hiddens, norm_shape, ffn_num_hiddens,
                                    num_heads, dropout, bias)
            for _ in range(num_blks)
        ]  # fmt: skip

    def call(self, X, valid_lens, training=None):
        return self.forward(X, valid_lens, training=training)
