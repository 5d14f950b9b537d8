"""The 1.0 edition's encoder-decoder and sequence-to-sequence learning (sections 10.6-10.7) on every backend.

``Seq2Seq``'s loss leaves out the padding (the book's library class stores ``tgt_pad`` and never uses it),
checked against a numpy reference; ``predict_step``'s greedy loop, with a parameter-free decoder whose
predictions are known; the encoder against numpy on fixed weights; and the book's own cells (its
``Seq2SeqDecoder``, typed in ``seq2seq_book.py``) trained on a few hundred sentence pairs, then translating
the book's four sentences. Small models and budgets: cheap.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from seq2seq_book import as_numpy, book

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


def test_the_books_cell_cuts_each_translation_at_eos(backend):
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


# --- the base classes and the arguments ------------------------------------------------------------
def test_the_base_classes_say_what_to_define(backend):
    d2l = backend
    with pytest.raises(NotImplementedError, match="must define"):
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
