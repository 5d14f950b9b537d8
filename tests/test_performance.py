"""Chapter 13 (computational performance) on every backend: ``Benchmark``, ``split_batch`` and its errors,
``resnet18``, ``train_batch_ch13``, ``evaluate_accuracy_gpus``, and the book's cells run tiny.

On this machine ``try_all_gpus()`` is the CPU alone; the data-parallel paths are exercised by giving the
CPU several times (``[cpu, cpu, cpu]``: three shards, each computed on its own and then summed), which
must give the numbers of one device.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import backend_name
from performance_book import book, mlp_reference


def _cpus(d2l, k: int) -> list:
    """``k`` devices that all are the CPU (MXNet: the contexts ``cpu(0)``, ``cpu(1)``, ...)."""
    if backend_name(d2l) == "mxnet":
        from mxnet import npx

        return [npx.cpu(i) for i in range(k)]
    return [d2l.cpu()] * k


def test_benchmark_prints_its_description_and_the_seconds(backend, capsys):
    with backend.Benchmark("ten sums"):
        sum(range(10))
    with backend.Benchmark():
        pass
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"ten sums: \d+\.\d{4} sec", out[0]), out
    assert re.fullmatch(r"Done: \d+\.\d{4} sec", out[1]), out
    with pytest.raises(TypeError, match=re.escape("Benchmark(description): description must be a str, got 3")):
        backend.Benchmark(3)


def test_split_batch_gives_each_device_its_rows_the_first_ones_one_more(backend):
    ask = book(backend)
    X, y = ask.tensors(np.arange(20, dtype=np.float32).reshape(10, 2), np.arange(10, dtype=np.int64))
    X_shards, y_shards = backend.split_batch(X, y, _cpus(backend, 3))
    assert [np.asarray(backend.numpy(s)).tolist() for s in y_shards] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert [tuple(s.shape) for s in X_shards] == [(4, 2), (3, 2), (3, 2)]
    np.testing.assert_array_equal(np.concatenate([backend.numpy(s) for s in X_shards]), backend.numpy(X))
    # one device: the whole batch
    X_shards, y_shards = backend.split_batch(X, y, backend.try_all_gpus())
    assert [tuple(s.shape) for s in X_shards] == [(10, 2)]


def test_split_batch_says_what_is_wrong(backend):
    ask = book(backend)
    X, y = ask.tensors(np.zeros((2, 3), np.float32), np.zeros(2, np.int64))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "split_batch: a batch of 2 examples cannot be split over 3 devices (each device needs at least "
            "one example); use a batch of at least 3 examples"
        ),
    ):
        backend.split_batch(X, y, _cpus(backend, 3))
    _, y3 = ask.tensors(np.zeros((3, 3), np.float32), np.zeros(3, np.int64))
    with pytest.raises(
        ValueError,
        match=re.escape("split_batch: X and y must hold the same number of examples, got X with 2 and y with 3"),
    ):
        backend.split_batch(X, y3, _cpus(backend, 1))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "split_batch: devices must be a non-empty list of devices (e.g. d2l.try_all_gpus()), got [] (list)"
        ),
    ):
        backend.split_batch(X, y, [])


def _resnet18_parameters(in_channels: int, num_classes: int) -> int:
    """The trainable parameters of the chapter's ResNet-18: convolutions, batch norms' scale and shift, the
    dense layer (running statistics are not trained)."""

    def conv(c_in, c_out, k):
        return c_in * c_out * k * k + c_out

    def residual(c_in, c, shortcut):
        return conv(c_in, c, 3) + conv(c, c, 3) + 4 * c + (conv(c_in, c, 1) if shortcut else 0)

    total = conv(in_channels, 64, 3) + 2 * 64
    c_in = 64
    for i, c in enumerate((64, 128, 256, 512)):
        total += residual(c_in, c, shortcut=i > 0) + residual(c, c, shortcut=False)
        c_in = c
    return total + 512 * num_classes + num_classes


def test_resnet18_has_the_books_shape_and_parameters(backend):
    shape, count = book(backend).resnet18(backend, (2, 1, 8, 8))
    assert shape == (2, 10)
    assert count == _resnet18_parameters(1, 10) == 11_175_818


def test_train_batch_ch13_lowers_the_loss_of_a_fixed_batch(backend):
    """A residual block (batch normalization included: its statistics update in training), pooled, then dense."""
    ask = book(backend)
    rng = np.random.default_rng(0)
    X, y = ask.tensors(rng.standard_normal((8, 1, 16, 16)).astype(np.float32), np.arange(8, dtype=np.int64) % 4)
    first, second = ask.small_residual_training(backend, X, y, _cpus(backend, 2), lr=0.01)
    assert second < first, (first, second)


def test_train_batch_ch13_over_three_devices_is_one_device(backend):
    """The MLP from the same weights, one step over 1 device and over 3 (shards of 4, 3 and 3 examples):
    the same summed loss, correct predictions and updated outputs; the loss is numpy's cross-entropy."""
    ask = book(backend)
    rng = np.random.default_rng(1)
    X_np, y_np = rng.standard_normal((10, 6)).astype(np.float32), rng.integers(0, 3, 10).astype(np.int64)
    logits = mlp_reference(X_np.astype(np.float64))
    expected = float((np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(10), y_np]).sum())
    results = []
    for k in (1, 3):
        devices = _cpus(backend, k)
        setup = ask.mlp(backend, devices)
        X, y = ask.tensors(X_np, y_np)
        loss_sum, acc_sum = ask.train_batch(backend, setup, X, y, devices)
        results.append((loss_sum, acc_sum, ask.predict(setup, X)))
    (l1, a1, out1), (l3, a3, out3) = results
    assert l1 == pytest.approx(expected, rel=1e-5) and l3 == pytest.approx(expected, rel=1e-5)
    assert a1 == a3 == float((logits.argmax(axis=1) == y_np).sum())
    assert np.abs(out1 - logits).max() > 1e-3  # the step changed the outputs...
    np.testing.assert_allclose(out3, out1, atol=1e-5)  # ...alike on one device and on three


def test_evaluate_accuracy_gpus_counts_the_right_predictions_over_the_shards(backend):
    ask = book(backend)
    rng = np.random.default_rng(2)
    X_np = rng.standard_normal((10, 6)).astype(np.float32)
    right = mlp_reference(X_np.astype(np.float64)).argmax(axis=1)
    y_np = np.where(np.arange(10) < 4, right, (right + 1) % 3).astype(np.int64)  # 4 of 10 right
    devices = _cpus(backend, 3)
    setup = ask.mlp(backend, devices)
    X, y = ask.tensors(X_np, y_np)
    X2, y2 = ask.tensors(X_np[:5], y_np[:5])  # a second batch of 5: shards of 2, 2 and 1
    assert ask.evaluate(backend, setup, [(X, y), (X2, y2)], devices) == pytest.approx(8 / 15)


# --- the book's cells ------------------------------------------------------------------------
def test_the_books_hybridize_cells_compile_without_changing_the_output(backend, capsys):
    before, after = book(backend).hybridize_cells(backend)
    assert before.shape == (1, 2)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
    assert re.fullmatch(r"With (torchscript|hybridization|jit): \d+\.\d{4} sec|Graph Mode: \d+\.\d{4} sec",
                        capsys.readouterr().out.strip())  # fmt: skip


def test_the_books_multi_gpu_cells_run_on_the_devices_there_are(backend):
    data, shard_shapes, change = book(backend).multi_gpu_cells(backend)
    for d in data:  # allreduce: 1 + 2 on both "GPUs" (the CPU twice here)
        np.testing.assert_array_equal(d, [[3.0, 3.0]])
    assert shard_shapes == [(4, 5)]  # one device: one shard
    assert change > 0  # the training step moved the parameters


def test_the_books_concise_multi_gpu_cells_run_on_the_devices_there_are(backend):
    shape, acc = book(backend).concise_cells(backend)
    # PyTorch and MXNet run the book's ResNet-18; JAX and TensorFlow (no such cells in the book) a small
    # residual net of 4 classes, since compiling ResNet-18 takes minutes on a CPU (their notebooks train it)
    assert shape == ((4, 10) if backend_name(backend) in ("torch", "mxnet") else (4, 4))
    assert acc in (0.0, 0.25, 0.5, 0.75, 1.0)
