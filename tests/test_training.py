"""The book's chapter 3-4 results, with its settings: recovered parameters and accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TRUE_B, TRUE_W, backend_name, final_val_accuracy, w_b_errors

from d2lx.plotting import to_numpy

LINEAR_MODELS = {
    "scratch": lambda d2l: d2l.LinearRegressionScratch(2, lr=0.03),
    "concise": lambda d2l: d2l.LinearRegression(lr=0.03),
}
SOFTMAX_MODELS = {
    "scratch": lambda d2l: d2l.SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=0.1),
    "concise": lambda d2l: d2l.SoftmaxRegression(num_outputs=10, lr=0.1),
}


@pytest.mark.parametrize("kind", LINEAR_MODELS)
@pytest.mark.parametrize(("epochs", "tolerance"), [(3, 0.3), (10, 0.02)])
def test_linear_regression_recovers_w_and_b(backend, kind, epochs, tolerance):
    data = backend.SyntheticRegressionData(w=backend.tensor(TRUE_W.tolist()), b=TRUE_B)
    model = LINEAR_MODELS[kind](backend)
    backend.Trainer(max_epochs=epochs).fit(model, data)
    errors = w_b_errors(model)
    assert errors.max() < tolerance, errors
    losses = [p.y for p in model.board.data["val_loss"]]
    assert losses[-1] < losses[0]


def test_synthetic_data_matches_its_definition(backend):
    data = backend.SyntheticRegressionData(w=backend.tensor(TRUE_W.tolist()), b=TRUE_B, noise=0.0)
    X, y = to_numpy(data.X), to_numpy(data.y)
    assert X.shape == (2000, 2) and y.shape == (2000, 1)
    np.testing.assert_allclose(y[:, 0], X @ TRUE_W + TRUE_B, rtol=1e-5, atol=1e-5)
    assert abs(X.mean()) < 0.1 and abs(X.std() - 1) < 0.1
    X_batch, y_batch = next(iter(data.train_dataloader()))
    assert tuple(X_batch.shape) == (32, 2) and tuple(y_batch.shape) == (32, 1)
    assert len(data.train_dataloader()) == 32 and len(data.val_dataloader()) == 32


def test_fashion_mnist_datamodule(backend):
    data = backend.FashionMNIST(resize=(32, 32))
    assert (len(data.train), len(data.val)) == (60000, 10000)
    X, y = next(iter(data.train_dataloader()))
    assert X.shape[0] == 64 and sorted(d for d in X.shape[1:]) == [1, 32, 32]
    assert 0.0 <= float(to_numpy(X).min()) and float(to_numpy(X).max()) <= 1.0
    assert set(np.unique(to_numpy(y))) <= set(range(10))
    assert data.text_labels([0, 9, 5]) == ["t-shirt", "ankle boot", "sandal"]
    assert len(data.val_dataloader()) == 157


@pytest.mark.full_training
@pytest.mark.parametrize("kind", SOFTMAX_MODELS)
def test_softmax_regression_on_fashion_mnist(backend, kind):
    data = backend.FashionMNIST(batch_size=256)
    model = SOFTMAX_MODELS[kind](backend)
    backend.Trainer(max_epochs=10).fit(model, data)
    assert final_val_accuracy(model) >= 0.82


@pytest.mark.parametrize("size", [(32, 32), (96, 96), (224, 224), (20, 40)])
def test_resized_batches_equal_the_once_resized_images(backend, size):
    from d2lx.data import fashion_mnist as fm

    data = backend.FashionMNIST(batch_size=50, resize=size)
    X, y = next(iter(data.val_dataloader()))  # the first 50 validation images, in order
    raw_X, _ = fm.fashion_mnist_arrays()[2:]
    reference = fm.resize_images(raw_X[:50].astype(np.float32) / np.float32(255), size)
    channels_first = backend_name(backend) in ("torch", "mxnet")
    assert tuple(X.shape) == ((50, 1, *size) if channels_first else (50, *size, 1))
    np.testing.assert_allclose(to_numpy(X).reshape(50, *size), reference, atol=1e-6, rtol=0)
    if backend_name(backend) != "tensorflow":  # (TensorFlow's data.val is the pair of arrays, as in d2l)
        image, _ = data.val[0]  # one example, as the book's torch and MXNet cells index data.train
        np.testing.assert_allclose(to_numpy(image).reshape(size), reference[0], atol=1e-6, rtol=0)


def test_native_size_batches_are_exactly_the_pixels_over_255(backend):
    # exact, not close: seeded runs must give the same numbers on every backend (see README, parity)
    from d2lx.data import fashion_mnist as fm

    X, _ = next(iter(backend.FashionMNIST(batch_size=500).val_dataloader()))
    expected = fm.fashion_mnist_arrays()[2][:500].astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(to_numpy(X).reshape(500, 28, 28), expected)
