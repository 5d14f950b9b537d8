"""The 1.0 edition's encoder-decoder and sequence-to-sequence learning (sections 10.6-10.7) on every backend.

``Seq2Seq``'s loss leaves out the padding (the book's library class stores ``tgt_pad`` and never uses it),
checked against a numpy reference; ``predict_step``'s greedy loop, with a parameter-free decoder whose
predictions are known; the encoder against numpy on fixed weights; and the book's own cells (its
``Seq2SeqDecoder``, typed in ``seq2seq_book.py``) trained on a few hundred sentence pairs, then translating
the book's four sentences. Small models and budgets: cheap.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from helpers import backend_name, exactly
from seq2seq_book import as_numpy, book
from test_rnn_concise import _layers

from d2lx.rnn import GRU_GATES, gru_numpy
from d2lx.seq2seq import seq2seq_loss_numpy

VOCAB, PAD = 7, 1


def _scores_and_labels():
    """Scores (3, 5, 7) and labels (3, 5) whose rows end in 2, 0 and 3 padding tokens (``PAD``)."""
    rng = np.random.default_rng(0)
    Y_hat = rng.standard_normal((3, 5, VOCAB)).astype(np.float32)
    Y = np.array([[3, 4, 2, PAD, PAD], [5, 6, 2, 3, 4], [2, 0, PAD, PAD, PAD]], dtype=np.int64)
    return Y_hat, Y


def _successor_model(d2l, vocab_size=VOCAB, tgt_pad=PAD):
    encoder, decoder = book(d2l).successor(d2l, vocab_size)
    return book(d2l).seq2seq(d2l, encoder, decoder, tgt_pad, 0.01)


# --- the loss with its padding mask ----------------------------------------------------------------
def test_loss_leaves_out_the_padding(backend):
    """The mean cross-entropy over the 10 labels that are not padding (numpy's); scores at padded positions
    change nothing, scores elsewhere do, and the unmasked mean over all 15 labels is another number."""
    d2l = backend
    model = _successor_model(d2l)
    Y_hat, Y = _scores_and_labels()
    l = float(book(d2l).loss(d2l, model, Y_hat, Y))
    want = seq2seq_loss_numpy(Y_hat, Y, PAD)
    assert l == pytest.approx(want, rel=1e-5)
    changed = Y_hat.copy()
    changed[Y == PAD] = 50 * np.random.default_rng(1).standard_normal((int((Y == PAD).sum()), VOCAB))
    assert float(book(d2l).loss(d2l, model, changed, Y)) == pytest.approx(l, rel=1e-6)
    changed[0, 0] += 3 * np.eye(VOCAB, dtype=np.float32)[0]
    assert abs(float(book(d2l).loss(d2l, model, changed, Y)) - l) > 1e-3
    unmasked = seq2seq_loss_numpy(Y_hat, Y, tgt_pad=-1)
    assert abs(unmasked - want) > 0.05  # so the agreement above is the mask's doing


def test_loss_agrees_with_the_books_cell(backend):
    """The book's ``Seq2Seq`` with its ``@d2l.add_to_class`` loss cell computes what the library's does."""
    d2l = backend
    cells = book(d2l)
    Y_hat, Y = _scores_and_labels()
    encoder, decoder = cells.successor(d2l, VOCAB)
    kwargs = {"training": True} if cells.backend == "jax" else {}
    books = cells.book_loss_class(d2l)(encoder, decoder, tgt_pad=PAD, lr=0.01, **kwargs)
    assert float(cells.book_loss(d2l, books, Y_hat, Y)) == pytest.approx(
        float(cells.loss(d2l, _successor_model(d2l), Y_hat, Y)), rel=1e-5
    )


# --- predict_step ----------------------------------------------------------------------------------
def _batch(d2l, first_tokens, num_steps=4):
    """``(src, tgt, src_valid_len, label)`` as ``data.build`` gives, ``tgt[:, 0]`` the given first tokens."""
    n = len(first_tokens)
    src = np.zeros((n, num_steps), dtype=np.int64)
    tgt = np.zeros((n, num_steps), dtype=np.int64)
    tgt[:, 0] = first_tokens
    return tuple(d2l.tensor(a) for a in (src, tgt, np.full(n, num_steps, dtype=np.int64), tgt))


def test_predict_step_feeds_back_each_prediction(backend):
    """From ``tgt[:, 0]``, each step's most likely token is the next step's input: the successor decoder
    counts on from each row's first token, modulo the vocabulary."""
    d2l = backend
    model = _successor_model(d2l, vocab_size=10)
    preds, attention_weights = book(d2l).predict(d2l, model, None, _batch(d2l, [2, 5, 8]), 6)
    assert as_numpy(preds).tolist() == [[3, 4, 5, 6, 7, 8], [6, 7, 8, 9, 0, 1], [9, 0, 1, 2, 3, 4]]
    assert attention_weights == []


def test_predict_step_rejects_bad_arguments(backend):
    d2l = backend
    cells = book(d2l)
    model = _successor_model(d2l)
    batch = _batch(d2l, [2, 3])
    for num_steps, error in ((0, ValueError), (-2, ValueError), (2.5, TypeError)):
        with pytest.raises(error, match=re.escape(f"num_steps must be a positive int, got {num_steps}")):
            cells.predict(d2l, model, None, batch, num_steps)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "batch must hold (src, tgt, src_valid_len, label), as data.build(...) returns, got a tuple of 3"
        ),
    ):
        cells.predict(d2l, model, None, batch[:3], 2)
    with pytest.raises(ValueError, match=re.escape("batch's src and tgt must be (batch_size, num_steps) token")):
        cells.predict(d2l, model, None, (batch[0][:1], *batch[1:]), 2)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "save_attention_weights=True needs a decoder with attention weights (the attention decoders of "
            "chapter 11), got Successor"
        ),
    ):
        cells.predict(d2l, model, None, batch, 2, save_attention_weights=True)


def test_the_books_cell_cuts_each_translation_at_eos(backend, fra_eng):
    """The book's last cell keeps each row's tokens up to its first ``'<eos>'``; ``predict_step`` itself runs
    all ``num_steps`` (rows of a batch decode together)."""
    d2l = backend
    data = _data(d2l)
    eos = data.tgt_vocab["<eos>"]
    model = _successor_model(d2l, vocab_size=len(data.tgt_vocab), tgt_pad=data.tgt_vocab["<pad>"])
    preds, _ = book(d2l).predict(d2l, model, None, _batch(d2l, [eos - 3, eos]), data.num_steps)
    assert as_numpy(preds).shape == (2, data.num_steps)
    translations = []
    for p in preds:
        translation = []
        for token in data.tgt_vocab.to_tokens(p):
            if token == "<eos>":
                break
            translation.append(token)
        translations.append(translation)
    assert translations == [
        data.tgt_vocab.to_tokens([eos - 2, eos - 1]),
        data.tgt_vocab.to_tokens(list(range(eos + 1, eos + 1 + data.num_steps))),
    ]


# --- the encoder and init_seq2seq ----------------------------------------------------------------
def test_the_encoder_matches_numpy_on_fixed_weights(backend):
    """``Seq2SeqEncoder(X)`` with a chosen embedding table and GRU weights is numpy's two-layer GRU
    (``gru_numpy``) over the table's rows for ``X`` transposed, time first. Fed batch first, or with two
    gates swapped, the reference gives other numbers, so the comparison can fail."""
    d2l = backend
    encoder = d2l.Seq2SeqEncoder(vocab_size=11, embed_size=4, num_hiddens=5, num_layers=2)
    X = np.random.default_rng(0).integers(0, 11, size=(3, 6))
    table = np.random.default_rng(1).normal(size=(11, 4)).astype(np.float32)
    layers = _layers(7, GRU_GATES, num_inputs=4, num_hiddens=5, num_layers=2)  # test_rnn_concise's weights
    outputs, state = book(d2l).encode_with(d2l, encoder, X, table, layers)
    want_outputs, want_state = gru_numpy(table[X.T], layers)
    assert outputs.shape == (6, 3, 5) and state.shape == (2, 3, 5)
    np.testing.assert_allclose(outputs, want_outputs, atol=1e-5)
    np.testing.assert_allclose(state, want_state, atol=1e-5)
    swapped = [{k[:3] + {"r": "z", "z": "r"}.get(k[3:], k[3:]): v for k, v in layer.items()} for layer in layers]
    assert np.abs(gru_numpy(table[X.T], swapped)[0] - outputs).max() > 1e-2
    batch_first = gru_numpy(table[X], layers)[0]  # (3 "steps", 6 "rows"): the transpose left out
    assert np.abs(batch_first[:, :3] - outputs[:3]).max() > 1e-2


def test_init_seq2seq_draws_xavier_uniform_weights(backend):
    """A dense layer of 40 inputs and 30 outputs: weights uniform in +-sqrt(6 / 70) (filling it), biases
    as they were. On torch the layer is lazy, as the book's decoder's output layer, which the book's
    ``init_seq2seq`` passes by."""
    d2l = backend
    weight, bias = book(d2l).initialised_dense(d2l, 40, 30)
    bound = np.sqrt(6 / 70)
    assert weight.shape == (30, 40)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.95 * bound
    assert weight.std() == pytest.approx(bound / np.sqrt(3), rel=0.1)
    assert len(np.unique(weight)) == weight.size
    if book(d2l).backend != "torch":  # torch's lazy layer draws its own bias (PyTorch's default)
        assert np.all(bias == bias.flat[0])  # its constant start (MXNet's Dense keeps zeros), not redrawn


# --- the base classes and the arguments ------------------------------------------------------------
def test_the_base_classes_say_what_to_define(backend):
    d2l = backend
    method = {"tensorflow": "call", "jax": "__call__"}.get(backend_name(d2l), "forward")  # the forward pass's name
    with pytest.raises(NotImplementedError, match=exactly(f"Encoder must define {method}(self, X, *args)")):
        book(d2l).encode(d2l.Encoder(), d2l.zeros((2, 3)))
    with pytest.raises(NotImplementedError, match=re.escape("must define init_state(self, enc_all_outputs, *args)")):
        d2l.Decoder().init_state(None)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((0, 8, 16, 2), ValueError, "vocab_size must be a positive int, got 0"),
        ((10, 8.0, 16, 2), TypeError, "embed_size must be a positive int, got 8.0"),
        ((10, 8, 16, 0), ValueError, "num_layers must be a positive int, got 0"),
    ],
)
def test_seq2seq_encoder_checks_its_sizes(backend, arguments, error, message):
    with pytest.raises(error, match=re.escape(message)):
        backend.Seq2SeqEncoder(*arguments)


def test_seq2seq_checks_tgt_pad_and_lr(backend):
    d2l = backend
    encoder, decoder = book(d2l).successor(d2l, VOCAB)
    with pytest.raises(ValueError, match=re.escape("tgt_pad must be a non-negative int, got -1")):
        book(d2l).seq2seq(d2l, encoder, decoder, -1, 0.01)
    with pytest.raises(ValueError, match=re.escape("lr must be a positive number, got 0")):
        book(d2l).seq2seq(d2l, encoder, decoder, PAD, 0)


_DATA = {}


def _data(d2l, **kwargs):
    """``MTFraEng`` as the book's training cell makes it (the 512 pairs of ``fra-eng.zip``), once per backend."""
    key = (d2l.__name__, tuple(sorted(kwargs.items())))
    if key not in _DATA:
        _DATA[key] = d2l.MTFraEng(batch_size=128, **kwargs)
    return _DATA[key]


# --- the book's cells, with its Seq2SeqDecoder ---------------------------------------------------
def test_the_books_shape_cells(backend):
    """Section 10.7's encoder and decoder cells: a two-layer GRU of 16 units over a batch of 4 x 9 tokens. Their
    constructors warn of nothing: on MXNet the book's ``self.initialize(init.Xavier())`` finds the GRU not yet
    initialised (d2lx's GRU once initialised itself, and MXNet said "already initialized" for each weight)."""
    d2l = backend
    cells = book(d2l)
    vocab_size, embed_size, num_hiddens, num_layers = 10, 8, 16, 2
    batch_size, num_steps = 4, 9
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encoder = d2l.Seq2SeqEncoder(vocab_size, embed_size, num_hiddens, num_layers)
        decoder = cells.decoder_class(d2l)(vocab_size, embed_size, num_hiddens, num_layers)
    assert [str(w.message) for w in caught if "initialized" in str(w.message)] == []
    X = d2l.zeros((batch_size, num_steps))
    enc_outputs, enc_state = cells.encode(encoder, X)
    d2l.check_shape(enc_outputs, (num_steps, batch_size, num_hiddens))
    d2l.check_len(enc_state, num_layers)
    d2l.check_shape(enc_state[0], (batch_size, num_hiddens))
    dec_outputs, state = cells.decode(decoder, (enc_outputs, enc_state), X)
    d2l.check_shape(dec_outputs, (batch_size, num_steps, vocab_size))
    d2l.check_len(state[1], num_layers)
    d2l.check_shape(state[1][0], (batch_size, num_hiddens))


ENGS = ["go .", "i lost .", "he's calm .", "i'm home ."]
FRAS = ["va !", "j'ai perdu .", "il est calme .", "je suis chez moi ."]


def test_the_books_training_and_translation_cells(backend, fra_eng):
    """The book's training cell on its data (512 pairs, batches of 128) with a smaller model and budget,
    then its translation cell: the validation loss falls below a bound measured on every backend, and the
    four translations come with their BLEU."""
    d2l = backend
    cells = book(d2l)
    data = _data(d2l)
    embed_size, num_hiddens, num_layers, dropout = 32, 32, 2, 0.2
    encoder = d2l.Seq2SeqEncoder(len(data.src_vocab), embed_size, num_hiddens, num_layers, dropout)
    decoder = cells.decoder_class(d2l)(len(data.tgt_vocab), embed_size, num_hiddens, num_layers, dropout)
    model = cells.seq2seq(d2l, encoder, decoder, data.tgt_vocab["<pad>"], 0.02)
    trainer = cells.trainer(d2l, 6)
    trainer.fit(model, data)
    # measured (6 epochs of 4 batches, 2026-12-03, all four backends): training 5.1-5.3 on the first batches,
    # 2.3-2.85 on the last; validation 3.17-3.76 after the sixth epoch, where guessing among the target
    # vocabulary scores log(len(tgt_vocab)), about 5.3
    val_losses = [p.y for p in model.board.data["val_loss"]]
    train_losses = [p.y for p in model.board.data["train_loss"]]
    assert train_losses[-1] < 3.1 < train_losses[0], train_losses
    assert val_losses[-1] < 4.0 < np.log(len(data.tgt_vocab)), val_losses
    preds, _ = cells.predict(d2l, model, trainer, data.build(ENGS, FRAS), data.num_steps)
    assert as_numpy(preds).shape == (4, data.num_steps)
    scores = []
    for en, fr, p in zip(ENGS, FRAS, preds):
        translation = []
        for token in data.tgt_vocab.to_tokens(p):
            if token == "<eos>":
                break
            translation.append(token)
        scores.append(d2l.bleu(" ".join(translation), fr, k=2))
        assert all(isinstance(token, str) for token in translation)
    assert len(scores) == 4 and all(0 <= s <= 1 for s in scores)


def test_seq2seq_encoder_wants_a_batch_of_token_sequences(backend):
    d2l = backend
    encoder = d2l.Seq2SeqEncoder(10, 4, 5, 1)
    with pytest.raises(
        ValueError,
        match=exactly("Seq2SeqEncoder needs token indices of shape (batch_size, num_steps), got shape (2, 3, 4)"),
    ):
        book(d2l).encode(encoder, d2l.zeros((2, 3, 4)))
