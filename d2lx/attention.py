"""Attention (the 1.0 edition's sections 11.1-11.5), its framework-free parts, written once.

* The masking arithmetic of ``masked_softmax``: how ``valid_lens`` (one length per example, shape
  ``(batch_size,)``, or one per query, ``(batch_size, num_queries)``) becomes a mask over the keys, the value
  a masked score takes (``MASKED_SCORE``), and what a row with nothing to attend to returns (see
  ``masked_softmax``). Each backend hands it its tensor operations (``AttentionOps``; ``numpy_named_ops``
  builds the table of a framework whose array module takes numpy's names) and gets back its ``masked_softmax``
  (``make_masked_softmax``).
* The head split and merge of ``MultiHeadAttention`` (the book's ``transpose_qkv``/``transpose_output``).
* The classes' steps shared by the frameworks whose layers hold their parameters (PyTorch, MXNet,
  TensorFlow): the backends mix them in before their framework's layer class.
* The numpy references the tests compare every backend with: ``masked_softmax_numpy``,
  ``dot_product_attention_numpy``, ``additive_attention_numpy``, ``multihead_attention_numpy``.
* ``show_heatmaps``, the book's figure of attention weights (matplotlib).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from d2lx import checks
from d2lx.plotting import _pyplot, to_numpy, use_svg_display
from d2lx.seq2seq import MaskOps

# The score a masked position gets before the softmax, as the book's: its exponential is 0 next to any
# unmasked score of ordinary size, so the masked positions get no weight.
MASKED_SCORE = -1e6


class AttentionOps(NamedTuple):
    """The tensor operations of one backend that the attention arithmetic needs."""

    mask: MaskOps  # the padding mask's operations (``d2lx.seq2seq``): lengths, arange, reshape, where...
    softmax: Callable[[Any], Any]  # over the last axis
    bmm: Callable[[Any, Any], Any]  # batch matrix product (n, a, b) @ (n, b, c)
    swap_last: Callable[[Any], Any]  # (n, a, b) -> (n, b, a)
    permute: Callable[[Any, tuple], Any]  # the axes in a new order
    repeat: Callable[[Any, int], Any]  # each row (axis 0) ``k`` times in a row: [a, b] -> [a, a, b, b]
    tanh: Callable[[Any], Any]
    expand_dims: Callable[[Any, int], Any]
    squeeze_last: Callable[[Any], Any]


def numpy_named_ops(
    xp: Any, mask: MaskOps, softmax: Callable[[Any], Any], bmm: Callable[[Any, Any], Any]
) -> AttentionOps:
    """The table of a framework whose array module ``xp`` takes numpy's names and arguments (``mxnet.np``,
    ``jax.numpy``, ``tf.experimental.numpy``): the axis moves, the repeat, ``tanh`` and the added or dropped
    axis are ``xp``'s, so that only the mask's operations, the softmax and the batch matrix product are the
    backend's own."""
    return AttentionOps(
        mask=mask,
        softmax=softmax,
        bmm=bmm,
        swap_last=lambda X: xp.swapaxes(X, 1, 2),
        permute=xp.transpose,
        repeat=lambda X, k: xp.repeat(X, k, axis=0),
        tanh=xp.tanh,
        expand_dims=xp.expand_dims,
        squeeze_last=lambda X: xp.squeeze(X, axis=-1),
    )


# --- the masking arithmetic ----------------------------------------------------------------------------
def _shape(shape: Any) -> tuple:
    """A shape as ints, a dimension unknown while a framework traces (``None``, in a ``tf.function``) kept."""
    return tuple(None if d is None else int(d) for d in shape)


def _fits(have: tuple, want: tuple) -> bool:
    """``have`` is ``want``, an unknown dimension of either matching any size."""
    return len(have) == len(want) and all(h is None or w is None or h == w for h, w in zip(have, want))


def check_valid_lens(scores_shape: tuple, lens_shape: tuple, lens: np.ndarray | None) -> tuple:
    """The shape ``(n, q, k)`` of the scores, after checking that ``valid_lens`` fits them: shape ``(n,)``
    (one length per example) or ``(n, q)`` (one per query), no length negative (``lens``: the values, None
    when unknown, as under ``jax.jit`` or ``tf.function``). The same messages on every backend."""
    scores_shape, lens_shape = _shape(scores_shape), _shape(lens_shape)
    if len(scores_shape) != 3:
        raise ValueError(
            f"masked_softmax masks scores of shape (batch_size, num_queries, num_keys), got shape {scores_shape}"
        )
    n, q, _ = scores_shape
    if not (_fits(lens_shape, (n,)) or _fits(lens_shape, (n, q))):
        raise ValueError(
            f"valid_lens must have shape ({n},) or ({n}, {q}): one length per example or per query of the "
            f"(batch_size, num_queries) = ({n}, {q}) queries, got shape {lens_shape}"
        )
    if lens is not None and (np.asarray(lens) < 0).any():
        raise ValueError(f"valid_lens must hold non-negative lengths, got {np.asarray(lens).tolist()}")
    return scores_shape


def masked_softmax(ops: AttentionOps, X, valid_lens):
    """The softmax over the last axis of the scores ``X`` (batch_size, num_queries, num_keys), where each
    query sees only its first ``valid_lens`` keys; ``valid_lens=None`` sees all of them.

    A masked key gets weight exactly 0, also in a row whose valid length is 0: that row's weights are all 0
    (its attention output is zero), where the book's gives it uniform weights over the padding (its
    ``-1e6`` scores are all equal; d2l-en pull request 2423). A valid length beyond ``num_keys`` keeps
    every key.
    """
    if valid_lens is None:
        return ops.softmax(X)
    lengths = ops.mask.lengths(valid_lens, X)
    _, _, k = check_valid_lens(X.shape, lengths.shape, ops.mask.concrete(lengths))
    per_query = len(lengths.shape) == 2
    lengths = ops.expand_dims(lengths if per_query else ops.expand_dims(lengths, 1), 2)  # (n, q or 1, 1)
    keep = ops.mask.reshape(ops.mask.arange(k, lengths), (1, 1, k)) < lengths  # (n, q or 1, k)
    weights = ops.softmax(ops.mask.where(keep, X, MASKED_SCORE))
    return ops.mask.where(keep, weights, 0)


def make_masked_softmax(ops: AttentionOps, as_tensor: Callable[[Any], Any] | None = None) -> Callable:
    """The backend's ``masked_softmax(X, valid_lens)``, the book's function: ``masked_softmax`` above on the
    backend's ``ops``. ``as_tensor`` first turns ``X`` into the framework's tensor where a caller may hand it a
    numpy array (None: ``X`` is used as given)."""

    def masked_softmax_for_backend(X, valid_lens):
        """The softmax over the last axis of ``X`` (batch_size, num_queries, num_keys), each query seeing only
        its first ``valid_lens`` keys (shape (batch_size,) or (batch_size, num_queries)); see
        ``d2lx.attention.masked_softmax`` (a row of valid length 0 gets zero weights)."""
        return masked_softmax(ops, X if as_tensor is None else as_tensor(X), valid_lens)

    masked_softmax_for_backend.__name__ = masked_softmax_for_backend.__qualname__ = "masked_softmax"
    return masked_softmax_for_backend


def keep_numpy(shape: tuple, valid_lens: Any) -> np.ndarray:
    """The reference mask: True where query ``j`` of example ``i`` sees key ``t`` (scores of ``shape``)."""
    n, q, k = shape
    lens = np.asarray(valid_lens).reshape(n, -1, 1)
    return np.broadcast_to(np.arange(k)[None, None, :] < lens, (n, q, k))


def masked_softmax_numpy(X: np.ndarray, valid_lens: Any = None) -> np.ndarray:
    """The reference ``masked_softmax``, in float64: 0 on every masked key, a softmax over the others, and
    all zeros for a row with valid length 0."""
    X = np.asarray(X, np.float64)
    keep = np.ones(X.shape, bool) if valid_lens is None else keep_numpy(X.shape, valid_lens)
    shifted = np.where(keep, X, -np.inf)
    top = shifted.max(axis=-1, keepdims=True)
    exp = np.where(keep, np.exp(shifted - np.where(np.isfinite(top), top, 0)), 0)
    total = exp.sum(axis=-1, keepdims=True)
    return np.divide(exp, total, out=np.zeros_like(exp), where=total > 0)


# --- scoring functions and heads -------------------------------------------------------------------------
def dot_product_scores(ops: AttentionOps, queries, keys):
    """The scaled dot products ``Q K^T / sqrt(d)`` (batch_size, num_queries, num_keys)."""
    return ops.bmm(queries, ops.swap_last(keys)) / math.sqrt(int(queries.shape[-1]))


def additive_features(ops: AttentionOps, queries, keys):
    """``tanh(q + k)`` for every (query, key) pair of the projected ``queries`` (n, q, h) and ``keys`` (n, k, h):
    shape (n, q, k, h), which the additive attention's ``w_v`` turns into scores."""
    return ops.tanh(ops.expand_dims(queries, 2) + ops.expand_dims(keys, 1))


def split_heads(ops: AttentionOps, X, num_heads: int):
    """``transpose_qkv``: (batch_size, steps, num_hiddens) -> (batch_size * num_heads, steps, num_hiddens /
    num_heads), the rows of example ``i`` being its heads ``i * num_heads ... i * num_heads + num_heads - 1``."""
    _, steps, hiddens = _shape(X.shape)  # the batch size may be unknown while a framework traces: -1
    X = ops.mask.reshape(X, (-1, steps, num_heads, hiddens // num_heads))
    X = ops.permute(X, (0, 2, 1, 3))
    return ops.mask.reshape(X, (-1, steps, hiddens // num_heads))


def merge_heads(ops: AttentionOps, X, num_heads: int):
    """``transpose_output``, the reverse of ``split_heads``: the heads of each example side by side again."""
    _, steps, size = _shape(X.shape)
    X = ops.mask.reshape(X, (-1, num_heads, steps, size))
    X = ops.permute(X, (0, 2, 1, 3))
    return ops.mask.reshape(X, (-1, steps, num_heads * size))


def checked_dropout(dropout_layer: Callable[[float], Any], dropout: Any) -> Any:
    """``dropout_layer(dropout)``, the framework's dropout layer, once the rate has passed the check every backend
    makes (``dropout must be a number in [0, 1)``), where a framework would take a wrong rate silently or fail
    later with its own words."""
    checks.hyperparameters({"dropout": dropout})
    return dropout_layer(dropout)


def check_heads(num_hiddens: Any, num_heads: Any) -> None:
    """``num_hiddens`` and ``num_heads`` as positive ints, the first a multiple of the second (each head gets
    ``num_hiddens / num_heads`` of the projected features)."""
    checks.hyperparameters({"num_hiddens": num_hiddens, "num_heads": num_heads})
    checks.divisible("num_hiddens", num_hiddens, "num_heads", num_heads)


def check_multihead_inputs(queries, keys, valid_lens_shape: tuple | None, lens: np.ndarray | None) -> None:
    """``valid_lens`` against ``MultiHeadAttention``'s own queries (before its rows are repeated per head), so
    that the message names the shapes the caller gave."""
    if valid_lens_shape is not None:
        scores = _shape(queries.shape)[:2] + _shape(keys.shape)[1:2]
        check_valid_lens(scores, valid_lens_shape, lens)


def lens_per_head(ops: AttentionOps, queries, keys, valid_lens, num_heads: int):
    """``MultiHeadAttention``'s ``valid_lens`` for its heads: checked against the caller's ``queries`` and
    ``keys``, then each example's lengths repeated ``num_heads`` times in a row, as ``split_heads`` lays the
    heads of one example in consecutive rows. ``None`` (no mask) stays ``None``."""
    if valid_lens is None:
        return None
    lengths = ops.mask.lengths(valid_lens, queries)
    check_multihead_inputs(queries, keys, tuple(lengths.shape), ops.mask.concrete(lengths))
    return ops.repeat(lengths, num_heads)


# --- the steps of the layers of PyTorch, MXNet and TensorFlow ---------------------------------------------
class DotProductAttentionSteps:
    """Mixed in before a backend's layer: the scaled dot-product attention. ``forward(queries, keys, values,
    valid_lens=None)`` returns the weighted values (batch_size, num_queries, value size) and keeps the
    weights as ``attention_weights``. ``kwargs`` reach the dropout (Keras's ``training=``)."""

    _ops: AttentionOps

    def forward(self, queries, keys, values, valid_lens=None, **kwargs):
        scores = dot_product_scores(self._ops, queries, keys)
        self.attention_weights = masked_softmax(self._ops, scores, valid_lens)
        return self._ops.bmm(self.dropout(self.attention_weights, **kwargs), values)


class AdditiveAttentionSteps:
    """Mixed in before a backend's layer: the additive attention, ``w_v^T tanh(W_q q + W_k k)``; the weights
    are kept as ``attention_weights``."""

    _ops: AttentionOps

    def forward(self, queries, keys, values, valid_lens, **kwargs):
        features = additive_features(self._ops, self.W_q(queries), self.W_k(keys))
        scores = self._ops.squeeze_last(self.w_v(features))
        self.attention_weights = masked_softmax(self._ops, scores, valid_lens)
        return self._ops.bmm(self.dropout(self.attention_weights, **kwargs), values)


class HeadSplitSteps:
    """Mixed in before every backend's ``MultiHeadAttention`` (JAX's Flax module too): the book's
    ``transpose_qkv`` and ``transpose_output`` on the backend's ``_ops`` and the layer's ``num_heads``."""

    _ops: AttentionOps

    def transpose_qkv(self, X):
        """(batch_size, steps, num_hiddens) -> (batch_size * num_heads, steps, num_hiddens / num_heads)."""
        return split_heads(self._ops, X, self.num_heads)

    def transpose_output(self, X):
        """The reverse of ``transpose_qkv``."""
        return merge_heads(self._ops, X, self.num_heads)


class MultiHeadAttentionSteps(HeadSplitSteps):
    """Mixed in before a backend's ``Module``: the multi-head attention, ``num_heads`` scaled dot-product
    attentions over ``num_hiddens / num_heads`` projected features each, side by side, projected by ``W_o``.
    The weights of every head are ``self.attention.attention_weights``, (batch_size * num_heads,
    num_queries, num_keys)."""

    def forward(self, queries, keys, values, valid_lens, **kwargs):
        lengths = lens_per_head(self._ops, queries, keys, valid_lens, self.num_heads)
        queries = self.transpose_qkv(self.W_q(queries))
        keys = self.transpose_qkv(self.W_k(keys))
        values = self.transpose_qkv(self.W_v(values))
        output = self.attention(queries, keys, values, lengths, **kwargs)
        return self.W_o(self.transpose_output(output))


class AttentionDecoderBase:
    """Mixed in before a backend's ``Decoder``: the base of the decoders with attention, whose
    ``attention_weights`` ``predict_step(..., save_attention_weights=True)`` collects at each step."""

    @property
    def attention_weights(self):
        raise NotImplementedError(f"{type(self).__name__} must define the property attention_weights")


# --- numpy references ----------------------------------------------------------------------------------
def dot_product_attention_numpy(queries, keys, values, valid_lens=None) -> tuple[np.ndarray, np.ndarray]:
    """The reference ``DotProductAttention`` (without dropout): ``(output, attention_weights)``."""
    queries, keys, values = (np.asarray(a, np.float64) for a in (queries, keys, values))
    scores = queries @ keys.transpose(0, 2, 1) / math.sqrt(queries.shape[-1])
    weights = masked_softmax_numpy(scores, valid_lens)
    return weights @ values, weights


def additive_attention_numpy(queries, keys, values, valid_lens, W_q, W_k, w_v) -> tuple[np.ndarray, np.ndarray]:
    """The reference ``AdditiveAttention`` (without dropout) whose projections are ``x @ W_q``, ``x @ W_k``
    and ``features @ w_v`` (each weight (inputs, outputs)): ``(output, attention_weights)``."""
    queries, keys, values = (np.asarray(a, np.float64) for a in (queries, keys, values))
    features = np.tanh((queries @ W_q)[:, :, None, :] + (keys @ W_k)[:, None, :, :])
    scores = (features @ np.asarray(w_v, np.float64))[..., 0]
    weights = masked_softmax_numpy(scores, valid_lens)
    return weights @ values, weights


def split_heads_numpy(X: np.ndarray, num_heads: int) -> np.ndarray:
    n, steps, hiddens = X.shape
    return X.reshape(n, steps, num_heads, -1).transpose(0, 2, 1, 3).reshape(n * num_heads, steps, -1)


def merge_heads_numpy(X: np.ndarray, num_heads: int) -> np.ndarray:
    rows, steps, size = X.shape
    return (
        X.reshape(rows // num_heads, num_heads, steps, size).transpose(0, 2, 1, 3).reshape(rows // num_heads, steps, -1)
    )


def multihead_attention_numpy(
    queries, keys, values, valid_lens, num_heads: int, W_q, W_k, W_v, W_o
) -> tuple[np.ndarray, np.ndarray]:
    """The reference ``MultiHeadAttention`` (without biases or dropout), each projection ``x @ W``:
    ``(output, attention_weights)``, the weights of every head (batch_size * num_heads, q, k)."""
    queries, keys, values = (np.asarray(a, np.float64) for a in (queries, keys, values))
    Q, K, V = (split_heads_numpy(x @ W, num_heads) for x, W in ((queries, W_q), (keys, W_k), (values, W_v)))
    lens = None if valid_lens is None else np.repeat(np.asarray(valid_lens), num_heads, axis=0)
    output, weights = dot_product_attention_numpy(Q, K, V, lens)
    return merge_heads_numpy(output, num_heads) @ W_o, weights


# --- the figure ------------------------------------------------------------------------------------------
def show_heatmaps(
    matrices: Any,
    xlabel: str,
    ylabel: str,
    titles: Sequence[str] | None = None,
    figsize: tuple[float, float] = (2.5, 2.5),
    cmap: str = "Reds",
) -> None:
    """Draw ``matrices`` (num_rows, num_cols, num_queries, num_keys; any framework's tensor) as a grid of
    heatmaps sharing one colour bar, as the book's; ``titles`` names the columns. Like the book's it
    returns nothing: the figure is pyplot's current one."""
    matrices = np.asarray(to_numpy(matrices))
    if matrices.ndim != 4:
        raise ValueError(
            f"show_heatmaps draws matrices of shape (num_rows, num_cols, num_queries, num_keys), got shape "
            f"{matrices.shape}"
        )
    use_svg_display()
    num_rows, num_cols = matrices.shape[:2]
    fig, axes = _pyplot().subplots(num_rows, num_cols, figsize=figsize, sharex=True, sharey=True, squeeze=False)
    for i in range(num_rows):
        for j in range(num_cols):
            ax = axes[i, j]
            image = ax.imshow(matrices[i, j], cmap=cmap)
            if i == num_rows - 1:
                ax.set_xlabel(xlabel)
            if j == 0:
                ax.set_ylabel(ylabel)
            if titles:
                ax.set_title(titles[j])
    fig.colorbar(image, ax=axes, shrink=0.6)
