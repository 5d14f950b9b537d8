"""A learner's own loader: images and labels the frameworks would read differently (issue 29).

Before, images without a channel axis trained silently on PyTorch (a batch of 16 read as one image of
16 channels) and failed raw elsewhere; uint8 pixels (0-255) trained silently on JAX and TensorFlow
and failed raw on PyTorch and MXNet; int32 labels failed inside PyTorch's ``cross_entropy``. Now the
first two get the same error on every backend, and int32 labels train everywhere. d2lx's own
Fashion-MNIST keeps its uint8 images resident and scales each batch itself, and is not affected.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import CHANNELS_LAST, backend_name, own_data

from d2lx.cnn import CHANNELS_FIRST
from d2lx.cnn import CHANNELS_LAST as LAST


def _images(shape, dtype=np.float32):
    """``shape`` random images (scaled to [0, 1] unless uint8) and labels 0, 1, 2, ... (mod 10)."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=shape).astype(np.uint8) if dtype == np.uint8 else rng.random(shape, dtype=dtype)
    return X, (np.arange(shape[0]) % 10).astype(np.int64)


def _fit(d2l, model, X, y):
    data = own_data(d2l, np.concatenate([X, X]), np.concatenate([y, y]), num_train=len(X), batch_size=len(X))
    d2l.Trainer(max_epochs=1).fit(model, data)


def test_images_without_a_channel_axis_are_refused_by_a_cnn(backend):
    d2l = backend
    X, y = _images((4, 28, 28))
    if backend_name(d2l) in CHANNELS_LAST:
        layout, fixed = LAST, (4, 28, 28, 1)
    else:
        layout, fixed = CHANNELS_FIRST, (4, 1, 28, 28)
    message = (
        f"LeNet takes a batch of images with 4 dimensions {layout}, got X of shape (4, 28, 28) in "
        f"epoch 1/1, train batch 0; give one-channel images their channel axis: X.reshape({fixed})"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        _fit(d2l, d2l.LeNet(), X, y)

    class MyLeNet(d2l.LeNet):  # a learner's subclass is one of d2lx's CNNs too
        pass

    with pytest.raises(ValueError, match=re.escape(message.replace("LeNet", "MyLeNet", 1))):
        _fit(d2l, MyLeNet(), X, y)


@pytest.mark.parametrize("name", ["SoftmaxRegression", "LeNet"])
def test_unscaled_uint8_images_are_refused(backend, name):
    d2l = backend
    shape = (4, 28, 28, 1) if backend_name(d2l) in CHANNELS_LAST else (4, 1, 28, 28)
    X, y = _images(shape, np.uint8)
    model = d2l.SoftmaxRegression(num_outputs=10, lr=0.1) if name == "SoftmaxRegression" else d2l.LeNet()
    message = (
        f"{name}: images must be floats scaled to [0, 1], got uint8 X (pixel values 0 to 255) in "
        "epoch 1/1, train batch 0; convert each batch to float32 and divide it by 255"
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        _fit(d2l, model, X, y)


@pytest.mark.parametrize("scratch", [False, True], ids=["concise", "scratch"])
def test_int32_labels_train(backend, scratch):
    """PyTorch's ``cross_entropy`` takes only int64 class indices: d2lx's loss converts them, and every
    backend trains on int32 labels."""
    d2l = backend
    rng = np.random.default_rng(1)
    X = rng.standard_normal((96, 12)).astype(np.float32)
    y = (X @ rng.standard_normal((12, 10))).argmax(axis=1).astype(np.int32)
    if scratch:
        model = d2l.SoftmaxRegressionScratch(num_inputs=12, num_outputs=10, lr=0.5)
    else:
        model = d2l.SoftmaxRegression(num_outputs=10, lr=0.5)
    d2l.Trainer(max_epochs=8).fit(model, own_data(d2l, X, y, num_train=64, batch_size=16))
    losses = [p.y for p in model.board.data["train_loss"]]
    assert losses[-1] < 0.8 * losses[0]
