"""MXNet only: the import guard, moving parameters between contexts, the book's scratch-model idioms.

The import-guard test runs in every environment (in a subprocess, with numpy's
version faked), the others only where MXNet is installed.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest


@pytest.mark.parametrize("numpy_version", ["1.24.0", "2.2.6"])
def test_numpy_too_new_for_mxnet_gives_one_clear_import_error(numpy_version):
    code = (
        "import sys, numpy\n"
        f"numpy.__version__ = {numpy_version!r}\n"
        "try:\n"
        "    import d2lx.mxnet\n"
        "except ImportError as err:\n"
        "    print(err)\n"
        "print('mxnet imported:', 'mxnet' in sys.modules)\n"
        "from d2lx.__main__ import _load_backend\n"
        "try:\n"
        "    _load_backend('mxnet')\n"
        "except SystemExit as exit:\n"
        "    print(exit)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    message, imported, demo = out.strip().split("\n")
    assert message.startswith(f"d2lx.mxnet cannot run here: this environment has numpy {numpy_version} on Python ")
    assert "MXNet 1.9.1 (its last release) works on Python <= 3.11 with numpy < 1.24" in message
    assert "pip install 'd2lx[mxnet]'" in message
    assert imported == "mxnet imported: False"  # stopped before MXNet's own traceback
    assert demo == f"error: {message}"


@pytest.fixture
def d2l():
    pytest.importorskip("mxnet")
    module = pytest.importorskip("d2lx.mxnet")
    module.set_seed(0)
    return module


def _small_regression(d2l):
    return d2l.SyntheticRegressionData(w=d2l.tensor([2.0, -3.4]), b=4.2, num_train=256, num_val=64)


@pytest.mark.parametrize("kind", ["scratch", "concise"])
def test_trainer_moves_parameters_and_batches_to_its_device(d2l, monkeypatch, kind):
    import mxnet

    device = mxnet.cpu(1)  # a second CPU context stands in for a GPU
    monkeypatch.setattr(d2l.Trainer, "_available_gpus", lambda self: [device])
    model = d2l.LinearRegressionScratch(2, lr=0.03) if kind == "scratch" else d2l.LinearRegression(lr=0.03)
    contexts = []
    original = d2l.Trainer.prepare_batch

    def prepare_batch(self, batch):
        batch = original(self, batch)
        contexts.extend(a.ctx for a in batch)
        return batch

    monkeypatch.setattr(d2l.Trainer, "prepare_batch", prepare_batch)
    d2l.Trainer(max_epochs=2, num_gpus=1).fit(model, _small_regression(d2l))
    w, b = model.get_w_b()
    assert w.ctx == device and b.ctx == device
    assert len(contexts) == 2 * 2 * (8 + 2) and set(contexts) == {device}
    losses = [p.y for p in model.board.data["train_loss"]]
    assert losses[-1] < losses[0]


def test_book_scratch_model_that_overrides_collect_params(d2l):
    """d2l 1.0's MXNet SoftmaxRegressionScratch returns its arrays from ``collect_params``."""
    from mxnet import np as mnp

    class Scratch(d2l.Classifier):
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.W = mnp.random.normal(0, 0.01, (2, 3))
            self.b = mnp.zeros(3)
            self.W.attach_grad()
            self.b.attach_grad()

        def collect_params(self):
            return [self.W, self.b]

        def forward(self, X):
            return d2l.softmax(d2l.matmul(X, self.W) + self.b)

        def loss(self, y_hat, y):
            return d2l.cross_entropy(y_hat, y)

    data = _small_regression(d2l)
    data.y = d2l.astype(data.X[:, 0] > 0, d2l.int32)  # a separable two-class problem
    model = Scratch(lr=0.5)
    trainer = d2l.Trainer(max_epochs=3, gradient_clip_val=1.0)
    trainer.fit(model, data)
    assert isinstance(trainer.optim, d2l.SGD) and trainer.optim.params == [model.W, model.b]
    assert model.board.data["val_acc"][-1].y > 0.9


def test_gradient_clipping_bounds_the_joint_norm(d2l):
    from mxnet import autograd

    for model in (d2l.LinearRegressionScratch(2, lr=0.03), d2l.LinearRegression(lr=0.03)):
        X, y = d2l.normal(0, 1, (8, 2)), d2l.ones((8, 1)) * 100
        with autograd.record():
            l = model.loss(model(X), y)
        l.backward()
        params = model.parameters()
        grads = params if isinstance(params, list) else [p.data() for p in params.values()]
        d2l.Trainer(max_epochs=1).clip_gradients(0.5, model)
        norm = sum(float((g.grad**2).sum()) for g in grads) ** 0.5
        assert norm == pytest.approx(0.5, rel=1e-4)


def test_parameters_nobody_initialised_are_initialised_by_fit(d2l):
    from mxnet.gluon import nn

    class Forgetful(d2l.Module):
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Dense(1)  # no self.net.initialize()

        def loss(self, y_hat, y):
            return ((y_hat - y) ** 2).mean()

    model = Forgetful(lr=0.03)
    d2l.Trainer(max_epochs=1).fit(model, _small_regression(d2l))
    assert model.net.weight.data().shape == (1, 2)


def test_fashion_mnist_tensors_follow_d2l_mxnet(d2l):
    data = d2l.FashionMNIST(batch_size=16)
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (16, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int32
    image, label = data.train[0]
    assert image.shape == (1, 28, 28) and int(label) == 9
