"""The Transformer's pieces (the 1.0 edition's sections 11.6-11.7), their framework-free parts: the positional
encoding's table, the checks that turn a wrong shape into one sentence, and the numpy references that the tests
compare every backend with.

Each backend's ``transformer.py`` defines ``PositionalEncoding``, ``PositionWiseFFN``, ``AddNorm``,
``TransformerEncoderBlock`` and ``TransformerEncoder`` on its framework's layers, with the book's constructors
for that framework (TensorFlow's take ``key_size``, ``query_size``, ``value_size`` and ``norm_shape``; PyTorch's
``AddNorm`` takes ``norm_shape``). What they compute the same way is here:

- ``positional_encoding_table``: the sine/cosine table ``P`` that every backend adds to its inputs, computed
  once in float64 and rounded to float32 (the book computes it in float32 on each framework);
- ``check_positions`` and ``check_residual``: the inputs the layers take, with the same messages on every
  backend. ``X`` longer than ``max_len`` would otherwise fail inside the framework's broadcasting, or, at
  ``max_len=1``, broadcast one row over every position without a word;
- the forward passes of ``AddNorm``, the encoder block and the encoder, for the frameworks whose layers hold their
  parameters (PyTorch, MXNet, TensorFlow), mixed in before their layer classes;
- ``*_numpy``: the references, written from the book's formulas rather than from the backends' code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from d2lx import checks
from d2lx.attention import multihead_attention_numpy
from d2lx.seq2seq import checked_tokens


def check_arguments(model: Any, **values: Any) -> None:
    """The constructor arguments of one of this chapter's layers, by the rules of ``d2lx.checks`` (``num_hiddens``
    and ``max_len`` positive ints, ``dropout`` in [0, 1), ...): the same messages on every backend."""
    checks.hyperparameters(values, model)


def positional_encoding_table(num_hiddens: int, max_len: int) -> np.ndarray:
    """``P`` of shape (1, max_len, num_hiddens), float32: row ``i`` (a position) holds ``sin(i / 10000^(2j /
    num_hiddens))`` in column ``2j`` and the cosine of the same angle in column ``2j + 1``.

    An odd ``num_hiddens`` gets a last sine column without its cosine (the book's code fails on it: it has one
    sine column more than cosine columns to fill)."""
    angles = np.arange(max_len, dtype=np.float64)[:, None] / np.power(
        10000.0, np.arange(0, num_hiddens, 2, dtype=np.float64) / num_hiddens
    )
    P = np.zeros((1, max_len, num_hiddens))
    P[0, :, 0::2] = np.sin(angles)
    P[0, :, 1::2] = np.cos(angles[:, : num_hiddens // 2])
    return P.astype(np.float32)


def _dims(shape: Any) -> tuple:
    """A shape as ints, ``None`` where a framework's trace does not know the size."""
    return tuple(None if d is None else int(d) for d in shape)


def check_positions(model: Any, shape: Any) -> None:
    """Raise a ValueError unless ``X`` of ``shape`` is (batch_size, num_steps, num_hiddens) with ``num_steps`` at
    most ``model.max_len``, the positions ``model`` (a ``PositionalEncoding``) has a row of ``P`` for."""
    dims, name = _dims(shape), type(model).__name__
    num_hiddens, max_len = model.num_hiddens, model.max_len
    if len(dims) != 3 or dims[2] not in (None, num_hiddens):
        raise ValueError(
            f"{name}(num_hiddens={num_hiddens}) takes X of shape (batch_size, num_steps, {num_hiddens}), "
            f"got shape {dims}"
        )
    if dims[1] is not None and dims[1] > max_len:
        raise ValueError(
            f"{name} got X with {dims[1]} steps (shape {dims}), more than its max_len={max_len} (the rows of its "
            f"table P); give it max_len={dims[1]} or more"
        )


def check_residual(model: Any, X_shape: Any, Y_shape: Any) -> None:
    """Raise a ValueError unless ``X`` and ``Y`` have the same shape: ``AddNorm`` adds a sublayer's output ``Y`` to
    its input ``X``, and a framework would broadcast a ``Y`` of shape (1, steps, d) over the batch silently."""
    X_dims, Y_dims = _dims(X_shape), _dims(Y_shape)
    same = len(X_dims) == len(Y_dims) and all(a is None or b is None or a == b for a, b in zip(X_dims, Y_dims))
    if not same:
        raise ValueError(
            f"{type(model).__name__} adds Y (a sublayer's output) to X (its input), so they must have the same "
            f"shape, got X of shape {X_dims} and Y of shape {Y_dims}"
        )


# --- the encoder's steps on the frameworks whose layers hold their parameters --------------------------------
class AddNormSteps:
    """Mixed in before a backend's layer: ``AddNorm``'s residual connection then layer normalization,
    ``ln(dropout(Y) + X)``, once ``check_residual`` has seen that ``Y`` (a sublayer's output) has the shape of
    ``X`` (its input). ``kwargs`` reach the dropout (Keras's ``training=``)."""

    def forward(self, X, Y, **kwargs):
        check_residual(self, X.shape, Y.shape)
        return self.ln(self.dropout(Y, **kwargs) + X)


class EncoderBlockSteps:
    """Mixed in before a backend's layer: the Transformer encoder block, multi-head self-attention then the
    positionwise feed-forward network, each followed by ``AddNorm`` (its residual connection and layer
    normalization). ``kwargs`` reach the dropouts (Keras's ``training=``)."""

    def forward(self, X, valid_lens, **kwargs):
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens, **kwargs), **kwargs)
        return self.addnorm2(Y, self.ffn(Y), **kwargs)


class EncoderSteps:
    """Mixed in before a backend's ``Encoder``: token embeddings scaled by ``sqrt(num_hiddens)`` (the encoding
    ``P`` is in [-1, 1]) plus the positional encoding, through ``blks``, the encoder blocks. Each block's
    attention weights (batch_size * num_heads, num_steps, num_steps) are kept in ``attention_weights``, one
    entry per block, as the book's ``predict_step`` cell reads them."""

    def forward(self, X, valid_lens, **kwargs):
        X = self.embedding(checked_tokens(self, X)) * math.sqrt(self.num_hiddens)
        X = self.pos_encoding(X, **kwargs)
        self.attention_weights = [None] * len(self.blks)
        for i, blk in enumerate(self.blks):
            X = blk(X, valid_lens, **kwargs)
            self.attention_weights[i] = blk.attention.attention.attention_weights
        return X


# --- the numpy references --------------------------------------------------------------------------------
def positional_encoding_numpy(X: np.ndarray) -> np.ndarray:
    """The reference ``PositionalEncoding`` (no dropout): ``X`` (batch_size, num_steps, d) plus, at position ``i``
    and column ``c``, ``sin(i / 10000^(c / d))`` for an even ``c`` and ``cos(i / 10000^((c - 1) / d))`` for an
    odd one, as the book's formula has it."""
    _, steps, d = X.shape
    i, c = np.arange(steps)[:, None], np.arange(d)[None, :]
    angles = i / np.power(10000.0, (c - c % 2) / d)
    return X + np.where(c % 2 == 0, np.sin(angles), np.cos(angles))


def position_wise_ffn_numpy(X: np.ndarray, W1, b1, W2, b2) -> np.ndarray:
    """The reference ``PositionWiseFFN``: ``relu(X W1 + b1) W2 + b2`` at every position (``W`` as (inputs,
    outputs))."""
    return np.maximum(X @ W1 + b1, 0) @ W2 + b2


def layer_norm_numpy(X: np.ndarray, gamma, beta, eps: float) -> np.ndarray:
    """Layer normalization over the last axis: each position's features less their mean, over the square root
    of their (biased) variance plus ``eps``, scaled by ``gamma`` and shifted by ``beta``."""
    X = np.asarray(X, np.float64)
    centred = X - X.mean(axis=-1, keepdims=True)
    return centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + eps) * gamma + beta


def add_norm_numpy(X: np.ndarray, Y: np.ndarray, gamma, beta, eps: float) -> np.ndarray:
    """The reference ``AddNorm`` (no dropout): the residual connection ``X + Y``, then layer normalization."""
    return layer_norm_numpy(X + Y, gamma, beta, eps)


def transformer_encoder_block_numpy(
    X: np.ndarray, valid_lens: Any, num_heads: int, attention: tuple, ffn: tuple, norms: tuple, eps: float
) -> np.ndarray:
    """The reference ``TransformerEncoderBlock`` (no dropout, no biases in the attention): ``attention`` holds
    ``(W_q, W_k, W_v, W_o)``, ``ffn`` ``(W1, b1, W2, b2)``, ``norms`` the two layer norms' ``(gamma, beta)``."""
    attended, _ = multihead_attention_numpy(X, X, X, valid_lens, num_heads, *attention)
    Y = add_norm_numpy(X, attended, *norms[0], eps)
    return add_norm_numpy(Y, position_wise_ffn_numpy(Y, *ffn), *norms[1], eps)
