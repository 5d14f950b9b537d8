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
from helpers import exactly
from seq2seq_book import book as seq2seq_cells

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
    with pytest.raises(ValueError, match=exactly(message)):
        book(d2l).multihead(d2l, queries, keys, values, np.array([1, 2]), 2, *_multihead_weights())
    with pytest.raises(ValueError, match=exactly(message)):
        book(d2l).dot_product(d2l, queries, keys, values, np.array([1, 2]))
    with pytest.raises(ValueError, match=exactly("valid_lens must hold non-negative lengths, got [1, -2, 3]")):
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


# --- show_heatmaps and AttentionDecoder -----------------------------------------------------------------
def test_show_heatmaps_draws_each_matrix(backend):
    """A (2, 3, 4, 5) tensor: a 2 x 3 grid of heatmaps, each the matrix at its place, labels on the bottom row
    and the left column, titles over the columns, one colour bar; nothing returned, as the book's."""
    import matplotlib.pyplot as plt

    d2l = backend
    matrices = np.random.default_rng(0).uniform(size=(2, 3, 4, 5)).astype(np.float32)
    plt.close("all")
    assert d2l.show_heatmaps(d2l.tensor(matrices), xlabel="Keys", ylabel="Queries", titles=["a", "b", "c"]) is None
    fig = plt.gcf()
    grid = [ax for ax in fig.axes if ax.images]
    assert len(grid) == 6 and len(fig.axes) == 7  # and the colour bar
    for index, ax in enumerate(grid):
        i, j = divmod(index, 3)
        np.testing.assert_array_equal(ax.images[0].get_array(), matrices[i, j])
        assert ax.get_xlabel() == ("Keys" if i == 1 else "") and ax.get_ylabel() == ("Queries" if j == 0 else "")
        assert ax.get_title() == "abc"[j]
    plt.close("all")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "show_heatmaps draws matrices of shape (num_rows, num_cols, num_queries, num_keys), got shape (4, 5)"
        ),
    ):
        d2l.show_heatmaps(d2l.tensor(matrices[0, 0]), xlabel="Keys", ylabel="Queries")


def test_attention_decoder_says_what_to_define(backend):
    with pytest.raises(
        NotImplementedError, match=re.escape("AttentionDecoder must define the property attention_weights")
    ):
        backend.AttentionDecoder().attention_weights


# --- the book's section 11.4 cells: Bahdanau attention ----------------------------------------------------
def test_the_books_attention_decoder_shape_cell(backend):
    """The book's ``Seq2SeqAttentionDecoder`` on ``d2l.AttentionDecoder``, over the encoder's outputs for a
    batch of 4 x 7 tokens: scores (4, 7, 10), the state's keys (4, 7, 16) and its first layer (4, 16)."""
    d2l = backend
    cells = book(d2l)
    output, state = cells.shape_cell(d2l, cells.decoder_class(d2l))
    d2l.check_shape(output, (4, 7, 10))
    d2l.check_shape(state[0], (4, 7, 16))
    d2l.check_shape(state[1][0], (4, 16))


ENGS = ["go .", "i lost .", "he's calm .", "i'm home ."]
FRAS = ["va !", "j'ai perdu .", "il est calme .", "je suis chez moi ."]


def test_the_books_bahdanau_training_and_heatmap_cells(backend, fra_eng):
    """The book's training cell (``MTFraEng(batch_size=128)``, its 512 pairs) with a smaller model, sentences and
    budget:
    the loss falls below a bound measured on every backend; then its translation cell, and its heatmap cell:
    ``predict_step(..., save_attention_weights=True)`` gives one weight per source position at each step,
    0 past the sentence's length (with '<eos>'), and ``show_heatmaps`` draws them."""
    import matplotlib.pyplot as plt

    d2l = backend
    cells, trains = book(d2l), seq2seq_cells(d2l)
    data = d2l.MTFraEng(batch_size=128, num_steps=5)  # the book's 9 steps: twice JAX's compilation
    # one layer (the shape cell runs two): JAX compiles the decoder's step loop a third faster
    embed_size, num_hiddens, num_layers, dropout = 32, 32, 1, 0.2
    encoder = d2l.Seq2SeqEncoder(len(data.src_vocab), embed_size, num_hiddens, num_layers, dropout)
    decoder = cells.decoder_class(d2l)(len(data.tgt_vocab), embed_size, num_hiddens, num_layers, dropout)
    model = trains.seq2seq(d2l, encoder, decoder, data.tgt_vocab["<pad>"], 0.02)
    trainer = trains.trainer(d2l, 3)
    trainer.fit(model, data)
    # measured (3 epochs of 4 batches, 2026-12-03, all four backends): training 5.1-5.3 on the first batch,
    # 2.6-3.0 on the last; validation 3.25-3.75 after the third epoch, where guessing among the target
    # vocabulary scores log(len(tgt_vocab)), about 5.3
    train_losses = [p.y for p in model.board.data["train_loss"]]
    val_losses = [p.y for p in model.board.data["val_loss"]]
    assert train_losses[-1] < 3.4 < train_losses[0], train_losses
    assert val_losses[-1] < 4.2 < np.log(len(data.tgt_vocab)), val_losses
    preds, _ = trains.predict(d2l, model, trainer, data.build(ENGS, FRAS), data.num_steps)
    for en, fr, p in zip(ENGS, FRAS, preds):
        translation = []
        for token in data.tgt_vocab.to_tokens(p):
            if token == "<eos>":
                break
            translation.append(token)
        assert 0 <= d2l.bleu(" ".join(translation), fr, k=2) <= 1
    _, dec_attention_weights = trains.predict(
        d2l, model, trainer, data.build([ENGS[-1]], [FRAS[-1]]), data.num_steps, save_attention_weights=True
    )
    attention_weights = d2l.reshape(
        d2l.concat([step[0][0][0] for step in dec_attention_weights], 0), (1, 1, -1, data.num_steps)
    )
    weights = np.asarray(d2l.numpy(attention_weights))
    length = len(ENGS[-1].split()) + 1  # with '<eos>'
    assert weights.shape == (1, 1, data.num_steps, data.num_steps)
    np.testing.assert_allclose(weights.sum(-1), 1, atol=1e-5)
    assert np.all(weights[..., length:] == 0)
    plt.close("all")
    d2l.show_heatmaps(attention_weights[:, :, :, :length], xlabel="Key positions", ylabel="Query positions")
    (ax,) = [ax for ax in plt.gcf().axes if ax.images]
    np.testing.assert_allclose(ax.images[0].get_array(), weights[0, 0, :, :length])
    plt.close("all")
