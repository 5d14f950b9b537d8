"""The Transformer's layers (the 1.0 edition's sections 11.6-11.7) on every backend.

Each layer, given weights the test chose, computes what numpy computes from the book's formulas
(``d2lx.transformer``'s references), to 1e-5; a miswired reference (sine and cosine swapped, the residual
left out) gives other numbers, so each comparison can fail. Bad shapes and sizes get one message on every
backend. Tiny layers: cheap.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import exactly
from seq2seq_book import as_numpy
from seq2seq_book import book as seq2seq_book
from transformer_book import book, cells

from d2lx.attention import multihead_attention_numpy
from d2lx.transformer import (
    add_norm_numpy,
    layer_norm_numpy,
    position_wise_ffn_numpy,
    positional_encoding_numpy,
    transformer_encoder_block_numpy,
)

RNG = np.random.default_rng(0)


def _normal(*shape, scale=1.0):
    return (scale * RNG.standard_normal(shape)).astype(np.float32)


# --- PositionalEncoding ----------------------------------------------------------------------------------
@pytest.mark.parametrize("num_hiddens", [8, 7])
def test_positional_encoding_matches_numpy(backend, num_hiddens):
    """``X + P`` with the book's sines in the even columns and cosines in the odd ones, at 60 positions of the
    default table of 1000 (an odd width too, which the book's code cannot build); with sine and cosine swapped
    the reference is another table."""
    d2l = backend
    X = _normal(2, 60, num_hiddens)
    pos_encoding = d2l.PositionalEncoding(num_hiddens, 0)
    got = book(d2l).run(d2l, pos_encoding, X)
    want = positional_encoding_numpy(X)
    np.testing.assert_allclose(got, want, atol=1e-5)
    c = np.arange(num_hiddens)
    angles = np.arange(60)[:, None] / np.power(10000.0, (c - c % 2) / num_hiddens)
    swapped = X + np.where(c % 2 == 0, np.cos(angles), np.sin(angles))
    assert np.abs(swapped - got).max() > 0.5
    P = book(d2l).table(d2l, pos_encoding, X)
    assert P.shape == (1, 1000, num_hiddens)
    np.testing.assert_allclose(P[0, :60], want[0] - X[0], atol=1e-5)


def test_positional_encoding_drops_out_in_training_only(backend):
    """At dropout 0.5 training keeps about half of ``X + P``, each kept value doubled; evaluation keeps it all."""
    d2l = backend
    X = _normal(4, 30, 16)
    pos_encoding = d2l.PositionalEncoding(16, 0.5)
    want = positional_encoding_numpy(X)
    np.testing.assert_allclose(book(d2l).run(d2l, pos_encoding, X), want, atol=1e-5)
    trained = book(d2l).run(d2l, pos_encoding, X, training=True)
    kept = trained != 0
    assert 0.35 < kept.mean() < 0.65
    np.testing.assert_allclose(trained[kept], 2 * want[kept], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("max_len", "shape", "message"),
    [
        (5, (2, 6, 4), "PositionalEncoding got X with 6 steps (shape (2, 6, 4)), more than its max_len=5 "
                       "(the rows of its table P); give it max_len=6 or more"),
        # one row of P would otherwise be added at every position
        (1, (2, 3, 4), "PositionalEncoding got X with 3 steps (shape (2, 3, 4)), more than its max_len=1 "
                       "(the rows of its table P); give it max_len=3 or more"),
        (5, (2, 3, 6), "PositionalEncoding(num_hiddens=4) takes X of shape (batch_size, num_steps, 4), "
                       "got shape (2, 3, 6)"),
        (5, (3, 4), "PositionalEncoding(num_hiddens=4) takes X of shape (batch_size, num_steps, 4), got shape (3, 4)"),
    ],
)  # fmt: skip
def test_positional_encoding_rejects_steps_beyond_max_len(backend, max_len, shape, message):
    d2l = backend
    pos_encoding = d2l.PositionalEncoding(4, 0, max_len=max_len)
    with pytest.raises(ValueError, match=exactly(message)):
        book(d2l).run(d2l, pos_encoding, np.zeros(shape, np.float32))


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((0, 0.1), ValueError, "num_hiddens must be a positive int, got 0"),
        ((8, 1.0), ValueError, "dropout must be a number in [0, 1), got 1.0"),
        ((8, 0.1, 0), ValueError, "max_len must be a positive int, got 0"),
        ((8, 0.1, 10.0), TypeError, "max_len must be a positive int, got 10.0"),
    ],
)
def test_positional_encoding_checks_its_arguments(backend, arguments, error, message):
    with pytest.raises(error, match=exactly(message)):
        backend.PositionalEncoding(*arguments)


# --- PositionWiseFFN -------------------------------------------------------------------------------------
def test_position_wise_ffn_matches_numpy(backend):
    """``relu(X W1 + b1) W2 + b2`` at every position; without the ReLU the reference differs."""
    d2l = backend
    X = _normal(2, 3, 4)
    W1, b1, W2, b2 = _normal(4, 6), _normal(6), _normal(6, 5), _normal(5)
    ffn = d2l.PositionWiseFFN(6, 5)
    got = book(d2l).with_weights(d2l, ffn, [X], {"dense1": (W1, b1), "dense2": (W2, b2)})
    np.testing.assert_allclose(got, position_wise_ffn_numpy(X, W1, b1, W2, b2), atol=1e-5)
    assert np.abs((X @ W1 + b1) @ W2 + b2 - got).max() > 0.5


def test_the_books_ffn_cell(backend):
    """Section 11.7's cell: the innermost axis becomes ``ffn_num_outputs`` wide, and equal positions give equal
    outputs."""
    d2l = backend
    out = book(d2l).run(d2l, d2l.PositionWiseFFN(4, 8), np.ones((2, 3, 4), np.float32))
    assert out.shape == (2, 3, 8)
    np.testing.assert_allclose(out[0], np.broadcast_to(out[0, :1], (3, 8)), atol=1e-6)


def test_position_wise_ffn_checks_its_arguments(backend):
    with pytest.raises(ValueError, match=re.escape("ffn_num_hiddens must be a positive int, got 0")):
        backend.PositionWiseFFN(0, 8)
    with pytest.raises(TypeError, match=re.escape("ffn_num_outputs must be a positive int, got 8.5")):
        backend.PositionWiseFFN(4, 8.5)


# --- AddNorm ---------------------------------------------------------------------------------------------
def test_add_norm_matches_numpy(backend):
    """Layer normalization of ``X + Y`` over the features, scaled and shifted, with the framework's own epsilon;
    normalizing ``Y`` alone (the residual left out) gives other numbers."""
    d2l = backend
    cells = book(d2l)
    X, Y = _normal(2, 3, 4), _normal(2, 3, 4)
    gamma, beta = _normal(4), _normal(4)
    got = cells.with_weights(d2l, cells.add_norm(d2l, 4, 0), [X, Y], {"ln": (gamma, beta)})
    np.testing.assert_allclose(got, add_norm_numpy(X, Y, gamma, beta, cells.layer_norm_eps), atol=1e-5)
    assert np.abs(layer_norm_numpy(Y, gamma, beta, cells.layer_norm_eps) - got).max() > 0.5


def test_the_books_add_norm_cell(backend):
    """Section 11.7's cell: the output has the inputs' shape; at dropout 0.5, training drops part of ``Y``."""
    d2l = backend
    cells = book(d2l)
    add_norm = cells.add_norm(d2l, 4, 0.5)
    X, Y = _normal(2, 3, 4), _normal(2, 3, 4)
    evaluated = cells.run(d2l, add_norm, X, Y)
    d2l.check_shape(evaluated, (2, 3, 4))
    trained = cells.run(d2l, add_norm, X, Y, training=True)
    assert np.abs(trained - evaluated).max() > 0.1


def test_add_norm_wants_x_and_y_of_one_shape(backend):
    d2l = backend
    cells = book(d2l)
    message = (
        "AddNorm adds Y (a sublayer's output) to X (its input), so they must have the same shape, got X of shape "
        "(2, 3, 4) and Y of shape (1, 3, 4)"
    )
    with pytest.raises(ValueError, match=exactly(message)):
        cells.run(d2l, cells.add_norm(d2l, 4, 0), np.zeros((2, 3, 4), np.float32), np.zeros((1, 3, 4), np.float32))
    with pytest.raises(ValueError, match=re.escape("dropout must be a number in [0, 1), got -0.1")):
        cells.add_norm(d2l, 4, -0.1)


# --- the encoder block and the encoder -------------------------------------------------------------------
def _block_weights(num_hiddens=8, ffn_num_hiddens=6):
    """Chosen weights of one encoder block, as ``transformer_encoder_block_numpy`` takes them and as the layer's
    paths name them."""
    scale = 1 / np.sqrt(num_hiddens)
    attention = tuple(_normal(num_hiddens, num_hiddens, scale=scale) for _ in range(4))
    ffn = (_normal(num_hiddens, ffn_num_hiddens, scale=scale), _normal(ffn_num_hiddens),
           _normal(ffn_num_hiddens, num_hiddens, scale=scale), _normal(num_hiddens))  # fmt: skip
    norms = tuple((1 + _normal(num_hiddens, scale=0.3), _normal(num_hiddens, scale=0.3)) for _ in range(2))
    paths = {f"attention.W_{name}": (W, None) for name, W in zip("qkvo", attention)}
    paths.update({"ffn.dense1": ffn[:2], "ffn.dense2": ffn[2:], "addnorm1.ln": norms[0], "addnorm2.ln": norms[1]})
    return attention, ffn, norms, paths


def test_encoder_block_matches_numpy(backend):
    """Multi-head self-attention over the first ``valid_lens`` keys, ``AddNorm``, the feed-forward network,
    ``AddNorm``: numpy's block on the same weights, to 1e-5. The reference without the residual connections,
    with the two sublayers swapped, or with the padding attended to gives other numbers."""
    d2l = backend
    cells = book(d2l)
    X, valid_lens = _normal(2, 5, 8), np.array([3, 5])
    attention, ffn, norms, paths = _block_weights()
    block = cells.encoder_block(d2l, 8, 6, 2, 0)
    got = cells.with_weights(d2l, block, [X, valid_lens], paths)
    eps = cells.layer_norm_eps
    np.testing.assert_allclose(got, transformer_encoder_block_numpy(X, valid_lens, 2, attention, ffn, norms, eps),
                               atol=1e-5)  # fmt: skip

    def attend(Z, lens=valid_lens):
        return multihead_attention_numpy(Z, Z, Z, lens, 2, *attention)[0]

    no_residual = layer_norm_numpy(attend(X), *norms[0], eps)
    no_residual = layer_norm_numpy(position_wise_ffn_numpy(no_residual, *ffn), *norms[1], eps)
    swapped = add_norm_numpy(X, position_wise_ffn_numpy(X, *ffn), *norms[0], eps)
    swapped = add_norm_numpy(swapped, attend(swapped), *norms[1], eps)
    unmasked = add_norm_numpy(X, attend(X, None), *norms[0], eps)
    unmasked = add_norm_numpy(unmasked, position_wise_ffn_numpy(unmasked, *ffn), *norms[1], eps)
    for wrong in (no_residual, swapped, unmasked):
        assert np.abs(wrong - got).max() > 0.1


def test_the_books_encoder_cells(backend):
    """Section 11.7's cells: a block and a two-block encoder keep the shape (2, 100, 24); after a pass the
    encoder holds each block's weights, (batch_size * num_heads, 100, 100), each query's summing to 1 over
    the first ``valid_lens`` keys and 0 beyond them."""
    d2l = backend
    cells = book(d2l)
    valid_lens = np.array([3, 2])
    block = cells.encoder_block(d2l, 24, 48, 8, 0.5)
    d2l.check_shape(cells.run(d2l, block, np.ones((2, 100, 24), np.float32), valid_lens), (2, 100, 24))
    encoder = cells.encoder(d2l, 200, 24, 48, 8, 2, 0.5)
    outputs, weights = cells.encode(d2l, encoder, np.ones((2, 100), np.int64), valid_lens)
    d2l.check_shape(outputs, (2, 100, 24))
    assert len(weights) == 2
    for w in weights:
        assert w.shape == (16, 100, 100)
        np.testing.assert_allclose(w.sum(-1), 1, atol=1e-5)
        assert np.all(w[:8, :, 3:] == 0) and np.all(w[8:, :, 2:] == 0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((200, 24, 48, 8, 0, 0.5), "num_blks must be a positive int, got 0"),
        ((200, 24, 48, 5, 2, 0.5), "num_hiddens must be divisible by num_heads, got num_hiddens=24 and num_heads=5"),
        ((0, 24, 48, 8, 2, 0.5), "vocab_size must be a positive int, got 0"),
    ],
)
def test_encoder_checks_its_arguments(backend, arguments, message):
    d2l = backend
    with pytest.raises(ValueError, match=exactly(message)):
        book(d2l).encode(d2l, book(d2l).encoder(d2l, *arguments), np.ones((2, 4), np.int64), np.array([3, 2]))


def test_encoder_wants_a_batch_of_token_sequences(backend):
    d2l = backend
    encoder = book(d2l).encoder(d2l, 10, 8, 16, 2, 1, 0)
    message = "TransformerEncoder needs token indices of shape (batch_size, num_steps), got shape (2, 3, 4)"
    with pytest.raises(ValueError, match=exactly(message)):
        book(d2l).encode(d2l, encoder, np.ones((2, 3, 4), np.int64), np.array([3, 2]))


# --- the book's cells: the Transformer of section 11.7 trained, the vision Transformer of 11.8 -------------
@pytest.mark.full_training
def test_the_books_transformer_trains_and_translates(backend, fra_eng, no_budget):
    """The book's training cell on its data (512 pairs, batches of 128) with a smaller model and budget, its
    decoder typed in: the training loss falls below a bound measured on every backend. Then its cell that
    translates the last sentence keeping the attention weights: the decoder's come step by step, two
    attentions per block, and the encoder's, reshaped as the book does, are (num_blks, num_heads, num_steps,
    num_steps), none on the padding.

    The validation loss is not checked: the book's decoder block masks the later target tokens only while
    training (``dec_valid_lens`` is None otherwise), so with teacher forcing validation sees them."""
    d2l = backend
    book_cells = cells(d2l)
    data = d2l.MTFraEng(batch_size=128)
    num_hiddens, num_blks, dropout, ffn_num_hiddens, num_heads = 32, 2, 0.2, 64, 4
    model = book_cells.transformer(d2l, data, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout, 0.005)
    trainer = seq2seq_book(d2l).trainer(d2l, 6)
    trainer.fit(model, data)
    # measured (6 epochs of 4 batches, 2026-12-03, torch, MXNet, JAX, TensorFlow): 5.2-5.3 on the first batches,
    # 2.5-2.7 on the last, where guessing among the target vocabulary scores log(len(tgt_vocab)), about 5.3
    train_losses = [p.y for p in model.board.data["train_loss"]]
    assert train_losses[-1] < 3.1 < train_losses[0], train_losses
    # the book's last sentence; one predict_step only: on JAX each step compiles anew (the decoder's state grows)
    batch = data.build(["i'm home ."], ["je suis chez moi ."])
    preds, dec_weights, enc_weights = book_cells.attention_weights(d2l, model, trainer, batch, data.num_steps)
    assert as_numpy(preds).shape == (1, data.num_steps)
    assert all(isinstance(token, str) for token in data.tgt_vocab.to_tokens(preds[0]))
    assert len(dec_weights) == data.num_steps and all(len(step) == 2 for step in dec_weights)
    enc_weights = as_numpy(d2l.reshape(d2l.concat(enc_weights, 0), (num_blks, num_heads, -1, data.num_steps)))
    assert enc_weights.shape == (num_blks, num_heads, data.num_steps, data.num_steps)
    np.testing.assert_allclose(enc_weights.sum(-1), 1, atol=1e-5)
    length = int(as_numpy(batch[2])[0])
    assert length < data.num_steps and np.all(enc_weights[..., length:] == 0)


def test_the_books_patch_embedding_cell(backend):
    """Images of 96x96 become (96 // 16) ** 2 = 36 patches of 512 features."""
    d2l = backend
    PatchEmbedding = cells(d2l).vit_classes(d2l)[0]
    img_size, patch_size, num_hiddens, batch_size = 96, 16, 512, 4
    patch_emb = PatchEmbedding(img_size, patch_size, num_hiddens)
    out = cells(d2l).patches(d2l, patch_emb, np.zeros((batch_size, 3, img_size, img_size), np.float32))
    assert out.shape == (batch_size, (img_size // patch_size) ** 2, num_hiddens)


@pytest.mark.parametrize(
    ("img_size", "patch_size", "message"),
    [
        (100, 16, "img_size must be a multiple of patch_size on each side, so that an image splits into whole "
                  "patches, got img_size=100 and patch_size=16"),
        ((32, 30), 8, "img_size must be a multiple of patch_size on each side, so that an image splits into whole "
                      "patches, got img_size=(32, 30) and patch_size=8"),
        (32, 0, "patch_size must be a positive int or two positive ints (height, width), got 0"),
    ],
)  # fmt: skip
def test_vit_wants_whole_patches(backend, img_size, patch_size, message):
    """The book's ``ViT`` cell with an image size that does not split into patches: PyTorch's convolution would
    drop the pixels left over, Flax's (``padding='SAME'``) make patches without positional embeddings."""
    d2l = backend
    with pytest.raises(ValueError, match=exactly(message)):
        cells(d2l).vit(d2l, img_size, patch_size, 16, 32, 2, 1, 0.1, 0.1, 0.1)


def test_vit_wants_the_datas_image_size(backend):
    d2l = backend
    model = cells(d2l).vit(d2l, 32, 8, 16, 32, 2, 1, 0.1, 0.1, 0.1)
    data = d2l.FashionMNIST(batch_size=16, resize=(28, 28))
    message = "ViT was built for images of img_size=32, but FashionMNIST makes images of (28, 28) (its resize); "
    with pytest.raises(ValueError, match=re.escape(message + "give both the same size")):
        cells(d2l).trainer(d2l, max_epochs=1, fast_dev_run=True).fit(model, data)


@pytest.mark.full_training
def test_the_books_vit_trains(backend, no_budget):
    """The book's ``ViT`` cells on Fashion-MNIST, smaller (28x28 images in four patches of 14x14, one block of 32
    units, ``lr=0.5``) and on 3 epochs of 16 different batches of 64: the training loss, plotted every 8
    batches, falls below a bound measured on every backend, from about log(10) = 2.3 at the start."""
    d2l = backend
    model = cells(d2l).vit(d2l, 28, 14, 32, 64, 4, 1, 0.1, 0.1, 0.5)
    data = d2l.FashionMNIST(batch_size=64)
    trainer = cells(d2l).trainer(d2l, max_epochs=3, limit_train_batches=16, limit_val_batches=2)
    trainer.fit(model, data)
    # measured (2026-12-03): 2.6-3.3 on the first 8 batches, 1.2-1.35 on the last 8 (validation accuracy 0.48-0.63)
    losses = [p.y for p in model.board.data["train_loss"]]
    assert len(losses) == 6
    assert losses[-1] < 1.8 < 2.1 < losses[0], losses
