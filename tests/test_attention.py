"""Attention (the 1.0 edition's sections 11.1-11.5) on every backend, against numpy references written once
in the core (``d2lx.attention``): ``masked_softmax``, ``DotProductAttention``, ``AdditiveAttention`` and
``MultiHeadAttention`` with fixed inputs and weights agree with numpy to 1e-5, and a miswired reference (no
1/sqrt(d) scaling, the mask ignored, the heads merged in the wrong order) does not, so the comparisons can
fail. A row whose valid length is 0 gets zero weight everywhere (the book's gives it uniform weights over
the padding). Bad arguments get one message on every backend. Small tensors: cheap.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from attention_book import book

from d2lx import attention as core

ATOL = 1e-5


def _random(seed, *shape):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


LENS_1D = np.array([3, 0, 6], dtype=np.int32)  # a row of length 0, one beyond the 5 keys
LENS_2D = np.array([[1, 3, 5, 2], [0, 2, 4, 4], [5, 5, 1, 0]], dtype=np.int32)  # (3, 4): one length per query


def _inputs(query_size=6, key_size=6, value_size=3):
    """Queries (3, 4, query_size), keys (3, 5, key_size), values (3, 5, value_size)."""
    return _random(0, 3, 4, query_size), _random(1, 3, 5, key_size), _random(2, 3, 5, value_size)


# --- masked_softmax --------------------------------------------------------------------------------------
@pytest.mark.parametrize("lens", [LENS_1D, LENS_2D, None], ids=["per-example", "per-query", "none"])
def test_masked_softmax_matches_numpy(backend, lens):
    d2l = backend
    X = 3 * _random(3, 3, 4, 5)
    got = np.asarray(d2l.numpy(d2l.masked_softmax(d2l.tensor(X), None if lens is None else d2l.tensor(lens))))
    want = core.masked_softmax_numpy(X, lens)
    np.testing.assert_allclose(got, want, atol=ATOL)
    if lens is not None:
        keep = core.keep_numpy(X.shape, lens)
        assert np.all(got[~keep] == 0)  # exactly 0 on every masked key
        assert np.abs(core.masked_softmax_numpy(X) - got).max() > 0.1  # the mask ignored: other numbers


def test_a_row_of_valid_length_0_gets_zero_weights(backend):
    """Valid length 0: every key masked, every weight 0 (not the book's uniform 1/num_keys over the padding),
    and so the attention's output for that row is 0; the other rows are the softmax over their keys."""
    d2l = backend
    X = _random(4, 2, 3, 4)
    weights = np.asarray(d2l.numpy(d2l.masked_softmax(d2l.tensor(X), d2l.tensor(np.array([0, 4])))))
    assert np.all(weights[0] == 0)
    np.testing.assert_allclose(weights[1].sum(-1), 1, atol=ATOL)
    queries, keys, values = _random(5, 2, 3, 4), _random(6, 2, 4, 4), _random(7, 2, 4, 2)
    output, weights = book(d2l).dot_product(d2l, queries, keys, values, np.array([0, 2], dtype=np.int32))
    assert np.all(output[0] == 0) and np.all(weights[0] == 0)
    assert np.all(weights[1][:, 2:] == 0) and np.abs(output[1]).min() > 0


# --- dot-product attention ------------------------------------------------------------------------------
@pytest.mark.parametrize("lens", [LENS_1D, LENS_2D, None], ids=["per-example", "per-query", "none"])
def test_dot_product_attention_matches_numpy(backend, lens):
    d2l = backend
    queries, keys, values = _inputs()
    output, weights = book(d2l).dot_product(d2l, queries, keys, values, lens)
    want_output, want_weights = core.dot_product_attention_numpy(queries, keys, values, lens)
    np.testing.assert_allclose(weights, want_weights, atol=ATOL)
    np.testing.assert_allclose(output, want_output, atol=ATOL)
    unscaled, _ = core.dot_product_attention_numpy(queries * np.sqrt(6), keys, values, lens)  # no 1/sqrt(d)
    assert np.abs(unscaled - output).max() > 0.05
    if lens is not None:
        unmasked, _ = core.dot_product_attention_numpy(queries, keys, values)
        assert np.abs(unmasked - output).max() > 0.05


# --- additive attention ----------------------------------------------------------------------------------
def test_additive_attention_matches_numpy(backend):
    """Queries of 6 features and keys of 2 (additive attention needs no equal sizes), 8 hidden units."""
    d2l = backend
    queries, keys, values = _inputs(query_size=6, key_size=2, value_size=4)
    W_q, W_k, w_v = _random(8, 6, 8), _random(9, 2, 8), _random(10, 8, 1)
    output, weights = book(d2l).additive(d2l, queries, keys, values, LENS_1D, W_q, W_k, w_v)
    want_output, want_weights = core.additive_attention_numpy(queries, keys, values, LENS_1D, W_q, W_k, w_v)
    np.testing.assert_allclose(weights, want_weights, atol=ATOL)
    np.testing.assert_allclose(output, want_output, atol=ATOL)
    swapped, _ = core.additive_attention_numpy(queries, keys, values, LENS_1D, W_q, W_k, -w_v)
    assert np.abs(swapped - output).max() > 0.05
    unmasked, _ = core.additive_attention_numpy(queries, keys, values, None, W_q, W_k, w_v)
    assert np.abs(unmasked - output).max() > 0.05


# --- multi-head attention --------------------------------------------------------------------------------
def _multihead_weights(num_hiddens=8):
    return [_random(11 + i, 6, num_hiddens) / 2 for i in range(3)] + [_random(14, num_hiddens, num_hiddens) / 2]


@pytest.mark.parametrize("lens", [LENS_1D, LENS_2D], ids=["per-example", "per-query"])
def test_multihead_attention_matches_numpy(backend, lens):
    """Two heads of 4 features each over queries, keys and values of 6 features; the weights of every head
    are ``attention.attention.attention_weights`` (the JAX layer returns them), (3 * 2, 4, 5)."""
    d2l = backend
    queries, keys, values = _inputs(value_size=6)
    W_q, W_k, W_v, W_o = _multihead_weights()
    output, weights = book(d2l).multihead(d2l, queries, keys, values, lens, 2, W_q, W_k, W_v, W_o)
    want_output, want_weights = core.multihead_attention_numpy(queries, keys, values, lens, 2, W_q, W_k, W_v, W_o)
    assert output.shape == (3, 4, 8) and weights.shape == (6, 4, 5)
    np.testing.assert_allclose(weights, want_weights, atol=ATOL)
    np.testing.assert_allclose(output, want_output, atol=ATOL)
    # miswired: the mask ignored, no scaling (queries scaled up by sqrt(4) undo it), the heads merged
    # head-major (the reshape of transpose_output without its transpose)
    unmasked, _ = core.multihead_attention_numpy(queries, keys, values, None, 2, W_q, W_k, W_v, W_o)
    unscaled, _ = core.multihead_attention_numpy(queries * 2, keys, values, lens, 2, W_q, W_k, W_v, W_o)
    assert np.abs(unmasked - output).max() > 0.05 and np.abs(unscaled - output).max() > 0.05
    Q, K, V = (
        core.split_heads_numpy(x.astype(np.float64) @ W, 2) for x, W in ((queries, W_q), (keys, W_k), (values, W_v))
    )
    heads, _ = core.dot_product_attention_numpy(Q, K, V, np.repeat(lens, 2, axis=0))
    wrong_order = heads.reshape(3, 4, 8) @ W_o
    assert np.abs(wrong_order - output).max() > 0.05


def test_transpose_qkv_and_transpose_output(backend):
    """``transpose_qkv`` puts head ``h`` of example ``i`` at row ``i * num_heads + h``, holding that example's
    features ``h * size ... (h + 1) * size - 1``; ``transpose_output`` undoes it."""
    d2l = backend
    layer = book(d2l).multihead_layer(d2l, 6, 3)
    X = np.arange(2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6)
    split = np.asarray(d2l.numpy(layer.transpose_qkv(d2l.tensor(X))))
    assert split.shape == (6, 4, 2)
    np.testing.assert_array_equal(split, core.split_heads_numpy(X, 3))
    np.testing.assert_array_equal(split[1 * 3 + 2], X[1][:, 4:6])
    merged = np.asarray(d2l.numpy(layer.transpose_output(d2l.tensor(split))))
    np.testing.assert_array_equal(merged, X)


# --- bad arguments ---------------------------------------------------------------------------------------
def test_masked_softmax_rejects_bad_valid_lens(backend):
    d2l = backend
    X = d2l.tensor(_random(0, 2, 3, 4))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "valid_lens must have shape (2,) or (2, 3): one length per example or per query of the "
            "(batch_size, num_queries) = (2, 3) queries, got shape (3,)"
        ),
    ):
        d2l.masked_softmax(X, d2l.tensor(np.array([1, 2, 3])))
    with pytest.raises(ValueError, match=re.escape("got shape (2, 4)")):
        d2l.masked_softmax(X, d2l.tensor(np.ones((2, 4), dtype=np.int32)))
    with pytest.raises(ValueError, match=re.escape("valid_lens must hold non-negative lengths, got [2, -1]")):
        d2l.masked_softmax(X, d2l.tensor(np.array([2, -1])))
    with pytest.raises(
        ValueError,
        match=re.escape("masked_softmax masks scores of shape (batch_size, num_queries, num_keys), got shape (2, 3)"),
    ):
        d2l.masked_softmax(d2l.tensor(_random(0, 2, 3)), d2l.tensor(np.array([1, 2])))


def test_the_layers_check_valid_lens_against_their_queries(backend):
    """``MultiHeadAttention`` checks ``valid_lens`` against the queries it was given, before repeating it per
    head: the message names the caller's shapes, not (batch_size * num_heads, ...)."""
    d2l = backend
    queries, keys, values = _inputs(value_size=6)
    message = (
        "valid_lens must have shape (3,) or (3, 4): one length per example or per query of the "
        "(batch_size, num_queries) = (3, 4) queries, got shape (2,)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        book(d2l).multihead(d2l, queries, keys, values, np.array([1, 2]), 2, *_multihead_weights())
    with pytest.raises(ValueError, match=re.escape(message)):
        book(d2l).dot_product(d2l, queries, keys, values, np.array([1, 2]))
    with pytest.raises(ValueError, match=re.escape("valid_lens must hold non-negative lengths, got [1, -2, 3]")):
        book(d2l).multihead(d2l, queries, keys, values, np.array([1, -2, 3]), 2, *_multihead_weights())


@pytest.mark.parametrize(
    ("num_hiddens", "num_heads", "error", "message"),
    [
        (100, 3, ValueError, "num_hiddens must be divisible by num_heads, got num_hiddens=100 and num_heads=3"),
        (100, 0, ValueError, "num_heads must be a positive int, got 0"),
        (100, 2.0, TypeError, "num_heads must be a positive int, got 2.0"),
        (0, 5, ValueError, "num_hiddens must be a positive int, got 0"),
    ],
)
def test_multihead_attention_checks_its_sizes(backend, num_hiddens, num_heads, error, message):
    with pytest.raises(error, match=re.escape(message)):
        book(backend).multihead_layer(backend, num_hiddens, num_heads)


def test_attention_dropout_is_checked(backend):
    with pytest.raises(ValueError, match=re.escape("dropout must be a number in [0, 1), got 1.5")):
        backend.DotProductAttention(dropout=1.5)
    with pytest.raises(ValueError, match=re.escape("dropout must be a number in [0, 1), got -0.1")):
        book(backend).multihead_layer(backend, 8, 2, dropout=-0.1)
