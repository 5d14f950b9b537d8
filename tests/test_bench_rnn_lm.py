"""The benchmark's ``rnn-lm`` workload (``bench/bench.py``, ``bench/handwritten.py``): the hand-written loop it
holds d2lx against trains on the rows ``TimeMachine`` holds, and runs on every backend.

The timing itself is not tested (no timing assertions); the benchmark's smoke run leaves this workload out
(its imports and compilation take longer than the smoke test's budget), so these tests are what keeps the
loop from breaking unseen. They are small: a few batches of 32 rows, 8 hidden units.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import bench_module as _load
from helpers import unload_bench_modules

from d2lx.plotting import to_numpy


def test_the_hand_written_loop_trains_on_the_rows_of_the_book_s_time_machine(backend, time_machine):
    bench = _load("bench")
    (X, Y, X_val, Y_val), vocab_size = bench._time_machine_arrays(num_steps=32)
    data = backend.TimeMachine(batch_size=1024, num_steps=32)
    assert vocab_size == len(data.vocab) == 28
    assert X.shape == Y.shape == (10000, 32) and X_val.shape == Y_val.shape == (5000, 32)
    np.testing.assert_array_equal(X, to_numpy(data.X)[:10000])
    np.testing.assert_array_equal(Y, to_numpy(data.Y)[:10000])
    np.testing.assert_array_equal(X_val, to_numpy(data.X)[10000:15000])
    np.testing.assert_array_equal(Y_val, to_numpy(data.Y)[10000:15000])
    # and so as many batches an epoch: 10 to train (the last of 784 rows), 5 to validate
    assert (len(data.train_dataloader()), len(data.val_dataloader())) == (10, 5)


def test_the_hand_written_gru_language_model_learns(backend, time_machine):
    """Four epochs of 3 batches of 32 sequences of 32 characters, 8 hidden units, lr 4, clipping at 1: the training
    perplexity falls from the 28 of a uniform guess (measured: 18-21 on the four backends)."""
    bench, handwritten = _load("bench"), _load("handwritten")
    (X, Y, X_val, Y_val), vocab_size = bench._time_machine_arrays(num_steps=32)
    arrays = (X[:96], Y[:96], X_val[:64], Y_val[:64])
    result = handwritten.run_rnn_lm(backend.__name__.split(".")[-1], arrays, vocab_size, 4, 32, 4, 8, 1)
    assert (result["train_batches"], result["val_batches"], len(result["epoch_s"])) == (3, 2, 4)
    assert math.isfinite(result["val_ppl"]) and 1 < result["val_ppl"] < 28
    assert 1 < result["train_ppl"] < 24


@pytest.fixture(autouse=True)
def _bench_modules_unloaded():
    """bench and handwritten are loaded by path under their own names: leave no trace for other test files."""
    yield
    unload_bench_modules()


def test_tensorflow_trains_a_language_model_compiled_to_the_numbers_of_the_eager_loop(backend, time_machine):
    """d2lx's TensorFlow ``Trainer`` compiled only models whose ``training_step`` is ``Module``'s: ``RNNLM``'s
    (which plots the perplexity) trained eagerly, ten times slower than the hand-written loop (``bench``'s
    rnn-lm, RESULTS.md). Compiled now, it plots the same perplexities as the eager loop."""
    if backend.__name__ != "d2lx.tensorflow":
        pytest.skip("TensorFlow's compiled step (the other backends compile language models as any model)")
    import tensorflow as tf

    def fit():
        backend.set_seed(0)
        data = backend.TimeMachine(batch_size=32, num_steps=8, num_train=96, num_val=64)
        model = backend.RNNLM(backend.GRU(num_hiddens=8), vocab_size=len(data.vocab), lr=4)
        trainer = backend.Trainer(max_epochs=2, gradient_clip_val=1)
        trainer.fit(model, data)
        return trainer, {key: [float(p.y) for p in points] for key, points in model.board.data.items()}

    trainer, compiled = fit()
    assert trainer._compiled[2] is not None and trainer._compiled_validation[2] is not None  # it compiled
    tf.config.run_functions_eagerly(True)
    try:
        _, eager = fit()
    finally:
        tf.config.run_functions_eagerly(False)
    assert set(compiled) == {"train_ppl", "val_ppl"} and len(compiled["val_ppl"]) == 2
    for key in compiled:
        np.testing.assert_allclose(compiled[key], eager[key], rtol=1e-5)
