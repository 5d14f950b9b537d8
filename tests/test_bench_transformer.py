"""The benchmark's ``transformer`` workload (``bench/bench.py``, ``bench/handwritten.py``): the hand-written loop
trains on the pairs ``MTFraEng`` holds, and both sides, d2lx's book cells and the hand-written Transformer, train
on the same batches with a falling loss, on every backend.

The timing itself is not tested (no timing assertions); the benchmark's smoke run leaves this workload out (the
Transformer's compilation on JAX and TensorFlow takes longer than the smoke test's budget), so these tests keep
both sides from breaking unseen. They are small: 32 hidden units, one block (JAX and TensorFlow compile each side's
step once, the bulk of these tests' time), 3 epochs of 4 batches of 32 pairs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import backend_name, unload_bench_modules
from helpers import bench_module as _load

from d2lx.plotting import to_numpy

SMALL = {"batch_size": 32, "num_steps": 9, "num_hiddens": 32, "ffn_num_hiddens": 16, "num_heads": 4, "num_blks": 1,
         "dropout": 0.2, "lr": 0.005, "clip": 1}  # fmt: skip


@pytest.fixture(autouse=True)
def _bench_modules_unloaded():
    yield
    unload_bench_modules()


def test_the_hand_written_loop_trains_on_the_pairs_of_the_book_s_mtfraeng(backend, fra_eng):
    bench = _load("bench")
    (train, val), src_vocab, tgt_vocab, tgt_pad = bench._fra_eng_arrays(num_steps=9)
    data = backend.MTFraEng(batch_size=128)
    assert (src_vocab, tgt_vocab, tgt_pad) == (len(data.src_vocab), len(data.tgt_vocab), data.tgt_vocab["<pad>"])
    assert [a.shape for a in train] == [(512, 9), (512, 9), (512,), (512, 9)]
    assert [a.shape for a in val] == [(128, 9), (128, 9), (128,), (128, 9)]
    for ours, theirs in zip(train + val, data.arrays + data.arrays):
        rows = slice(0, 512) if len(ours) == 512 else slice(512, 640)
        np.testing.assert_array_equal(ours, to_numpy(theirs)[rows])
    # and so as many batches an epoch: 4 to train, 1 to validate
    assert (len(data.train_dataloader()), len(data.val_dataloader())) == (4, 1)


def test_the_book_s_transformer_and_the_hand_written_one_learn_on_the_same_batches(backend, fra_eng, no_budget):
    """Three epochs of 4 batches of 32 pairs, validating on one, 32 hidden units, lr 0.005: both sides' training
    loss falls from about the ln(213) = 5.36 of a uniform guess over the target words (measured with two blocks on
    torch and MXNet: from 5.1-5.3 to 3.4-3.8 on both sides), and the validation loss is finite (3.5-3.8)."""
    bench, _ = _load("bench"), _load("handwritten")
    name = backend_name(backend)
    settings = {"transformer_epochs": 3, "transformer_batches": (4, 1)}
    backend.set_seed(0)
    ours = bench._transformer(backend, "d2lx", name, settings, config=SMALL)
    hand = bench._transformer(None, "hand", name, settings, config=SMALL)
    for side in (ours, hand):
        assert (side["train_batches"], side["val_batches"], len(side["epoch_s"])) == (4, 1, 3)
        assert math.isfinite(side["val_loss"]) and side["val_loss"] < math.log(213)
        losses = side["train_losses"]
        assert all(map(math.isfinite, losses)) and losses[-1] < losses[0] - 0.3, losses
        assert side["train_loss"] < 4.8


def test_the_vit_workload_trains_the_books_vit_on_its_budget(backend, monkeypatch):
    """``bench.py --workload vit``: the book's 11.8 cells at the section's size (96x96 images, 512 hidden units)
    train on the ``--batches`` budget (here 2 training and 1 validation batch of 8 images) and report a finite
    loss per epoch; there is no hand-written ViT, and asking for one says so."""
    bench = _load("bench")
    monkeypatch.setenv("D2LX_MAX_BATCH_SIZE", "8")
    settings = {**bench.SETTINGS["tiny"], "resnet18_batches": (2, 1)}
    result = bench._vit(backend, "d2lx", backend_name(backend), settings)
    assert (result["train_batches"], result["val_batches"]) == (2, 1)
    assert len(result["epoch_s"]) == settings["vit_epochs"] == 1
    assert math.isfinite(result["train_loss"]) and 0 <= result["val_acc"] <= 1, result
    with pytest.raises(NotImplementedError, match=r"^the vit workload has no hand-written loop: run it with --libs "):
        bench._vit(backend, "hand", backend_name(backend), settings)
