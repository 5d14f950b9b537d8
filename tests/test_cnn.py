"""Chapter 7 (convolutions, LeNet) and the 2.0 edition's ``train_ch6``, on every backend."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from adapters import adapter
from helpers import CHANNELS_LAST, backend_name, layer_summary_shapes, layout

from d2lx import cnn, names
from d2lx.plotting import to_numpy

# LeNet on a (1, 1, 28, 28) batch: the book's printed shapes (channels first), each distinct shape
# once (frameworks that fuse the activation into the layer print fewer lines with the same shapes).
LENET_SHAPES = [(1, 6, 28, 28), (1, 6, 14, 14), (1, 16, 10, 10), (1, 16, 5, 5), (1, 400), (1, 120), (1, 84), (1, 10)]


def test_corr2d_computes_the_books_example(backend):
    X = backend.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = backend.tensor([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(to_numpy(backend.corr2d(X, K)), [[19.0, 25.0], [37.0, 43.0]])


def test_corr2d_detects_the_edge_of_the_books_image(backend):
    X = np.ones((6, 8), dtype=np.float32)
    X[:, 2:6] = 0
    Y = to_numpy(backend.corr2d(backend.tensor(X), backend.tensor([[1.0, -1.0]])))
    expected = np.zeros((6, 7), dtype=np.float32)
    expected[:, 1], expected[:, 5] = 1, -1
    np.testing.assert_array_equal(Y, expected)


def test_corr2d_with_a_kernel_larger_than_the_input(backend):
    with pytest.raises(ValueError) as info:
        backend.corr2d(backend.ones((2, 2)), backend.ones((3, 2)))
    assert str(info.value) == "corr2d: the kernel (3, 2) is larger than the input (2, 2)"


def test_lenet_layer_summary_prints_the_books_shapes(backend, capsys):
    shapes = layer_summary_shapes(backend, backend.LeNet(), layout(backend, (1, 1, 28, 28)), capsys)
    expected = [layout(backend, s) for s in LENET_SHAPES]
    assert [s for s in shapes if s != (1, 400)] == [s for s in expected if s != (1, 400)]


def test_layer_summary_with_the_wrong_number_of_dimensions(backend):
    model = backend.LeNet()
    with pytest.raises(ValueError) as info:
        if backend_name(backend) == "jax":
            model.layer_summary((1, 28, 28), key=backend.get_key())
        else:
            model.layer_summary((1, 28, 28))
    layout = (
        "(batch, height, width, channels)"
        if backend_name(backend) in CHANNELS_LAST
        else "(batch, channels, height, width)"
    )
    assert str(info.value) == f"LeNet.layer_summary: X_shape must have 4 dimensions {layout}, got (1, 28, 28)"


def test_lenet_starts_with_xavier_weights_once_its_shapes_are_known(backend):
    # torch: the book's self.net.apply(init_cnn) on lazy layers takes effect at the first forward pass
    X, _ = next(iter(backend.FashionMNIST(batch_size=8).val_dataloader()))
    weights = adapter(backend).weights_after_apply_init(backend.LeNet(), X)
    dense = max(weights, key=lambda w: w.size)  # the 400 x 120 layer
    assert dense.size == 400 * 120
    bound = np.sqrt(6 / (400 + 120))  # Xavier uniform; torch's default would be 1 / sqrt(400) = 0.05
    assert 0.95 * bound < np.abs(dense).max() <= bound * (1 + 1e-6)


def test_lenet_with_the_shared_parameters_computes_the_numpy_reference(backend):
    # what lets the backends start from the same LeNet (python -m d2lx parity): the weights drawn in
    # the core, converted to the backend's layout (convolution, dense and flattening order). Larger
    # weights and nonzero biases than at the start of training, so that the output depends on the
    # image (a sigmoid LeNet at Xavier scale outputs almost the same logits for every image)
    rng = np.random.default_rng(3)
    params = [(4 * w, rng.uniform(-0.5, 0.5, b.shape).astype(np.float32)) for w, b in cnn.lenet_parameters(rng)]
    X, _ = next(iter(backend.FashionMNIST(batch_size=16).val_dataloader()))
    set_parameters = importlib.import_module(f"d2lx.{backend_name(backend)}.cnn")._set_parameters
    logits = to_numpy(set_parameters(backend.LeNet(), params, X)(X))
    expected = cnn.lenet_logits(params, to_numpy(X).reshape(16, 1, 28, 28))  # one channel: NHWC = NCHW
    assert np.abs(expected - expected.mean(axis=0)).max() > 0.1  # the images matter, so the order does
    np.testing.assert_allclose(logits, expected, atol=1e-5, rtol=0)
    if backend_name(backend) == "jax":  # the trainer draws the parameters with apply_init
        model = backend.LeNet()
        set_parameters(model, params, X)
        trained_from = model.apply_init((X,), backend.get_key())["params"]["net"]["layers_0"]["kernel"]
        np.testing.assert_array_equal(to_numpy(trained_from), params[0][0].transpose(2, 3, 1, 0))


def test_lenet_parameters_of_the_wrong_shape(backend):
    X, _ = next(iter(backend.FashionMNIST(batch_size=2).val_dataloader()))
    params = cnn.lenet_parameters(np.random.default_rng(0), num_classes=5)
    set_parameters = importlib.import_module(f"d2lx.{backend_name(backend)}.cnn")._set_parameters
    with pytest.raises(
        ValueError,
        match=r"^LeNet: the layers' weights have shapes .*\(10, 84\).*\(5, 84\)|"
        r"^LeNet: the layers' weights have shapes .*\(84, 10\).*\(84, 5\)",
    ):
        set_parameters(backend.LeNet(), params, X)


def test_init_cnn_on_a_lazy_torch_layer_waits_for_its_shape(backend):
    if backend_name(backend) != "torch":  # test_backend_api checks that the name is missing there
        pytest.skip(names.EXCEPTIONS[backend_name(backend), "init_cnn"])
    from torch import nn

    layer = nn.LazyLinear(120)
    layer.apply(backend.init_cnn)
    layer(backend.ones((2, 400)))
    assert type(layer) is nn.Linear and float(layer.weight.detach().abs().max()) > 0.06


# Measured on this project's 2-core machine (seed 0, 12 x 50 batches of 256 at lr 0.9, validated on
# the first 20 batches): torch 0.642, mxnet 0.666, jax 0.627, tensorflow 0.664. The sigmoid network
# sits on its plateau (accuracy 0.1) for about 300 steps on every backend, then climbs.
LENET_LEARNS_ABOVE = 0.55


@pytest.mark.full_training
def test_lenet_learns_fashion_mnist(backend):
    """The 2.0 edition's settings (batch 256, lr 0.9) for 600 steps, about 2.5 epochs: LeNet leaves
    the plateau and classifies well above chance on every backend."""
    d2l = backend
    d2l.set_seed(0)
    data = d2l.FashionMNIST(batch_size=256)
    model = d2l.LeNet(lr=0.9)
    trainer = d2l.Trainer(max_epochs=12, limit_train_batches=50, limit_val_batches=20, progress_bar=False)
    trainer.fit(model, data)
    accuracy = [float(point.y) for point in model.board.data["val_acc"]]
    assert accuracy[0] < 0.2, accuracy  # still on the plateau after 50 steps
    assert accuracy[-1] > LENET_LEARNS_ABOVE, accuracy
    assert float(model.board.data["train_loss"][-1].y) < 1.5
