"""The Transformer's layers on TensorFlow (the 1.0 edition's sections 11.6-11.7): ``PositionalEncoding``,
``PositionWiseFFN``, ``AddNorm``.

Each layer takes ``training`` and hands it to its dropout by name: Keras 3 passes ``training`` on only to a
``call`` that names it, and the book's ``call(self, X, **kwargs)`` does not. The table ``P``, the checks and
the numpy references are the core's (``d2lx.transformer``).
"""

from __future__ import annotations

import tensorflow as tf

from d2lx import transformer as core


class PositionalEncoding(tf.keras.layers.Layer):
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


class PositionWiseFFN(tf.keras.layers.Layer):
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


class AddNorm(tf.keras.layers.Layer):
    """The residual connection followed by layer normalization: ``ln(dropout(Y) + X)``, ``Y`` a sublayer's output
    and ``X`` its input, of the same shape. ``norm_shape`` is the book's: the axes ``LayerNormalization``
    normalizes over (``[2]``, the features, as the book trains; its shape cell's ``[1, 2]`` takes the steps too)."""

    def __init__(self, norm_shape, dropout):
        super().__init__()
        core.check_arguments(self, dropout=dropout)
        self.dropout = tf.keras.layers.Dropout(dropout)
        self.ln = tf.keras.layers.LayerNormalization(norm_shape)

    def call(self, X, Y, training=None):
        core.check_residual(self, X.shape, Y.shape)
        return self.ln(self.dropout(Y, training=training) + X)
