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


# --- chapter 8 (modern CNNs) -------------------------------------------------------------------------
def _resnext_settings(block) -> tuple:
    """``(bottleneck channels, groups of the 3x3, stride, has a 1x1 shortcut)`` of a built ResNeXtBlock."""
    conv2 = block.conv2._kwargs
    return (block.conv1._channels, conv2["num_group"], conv2["stride"], block.conv4 is not None)


def test_regnetx32_builds_its_resnext_blocks_with_the_right_arguments(d2l):
    """d2lx's ``AnyNet.stage`` passes ``groups`` and ``bot_mul`` by keyword: 16 groups, no bottleneck,
    and only each stage's first block halves the size through a 1x1 shortcut."""
    model = d2l.RegNetX32()
    stages = [model.net[1], model.net[2]]
    for stage, (depth, channels, groups, bot_mul) in zip(stages, ((4, 32, 16, 1), (6, 80, 16, 1))):
        settings = [_resnext_settings(block) for block in stage]
        first = (channels * bot_mul, groups, (2, 2), True)
        assert settings == [first] + [(channels * bot_mul, groups, (1, 1), False)] * (depth - 1)


def test_the_books_mxnet_stage_call_shifts_the_resnext_arguments(d2l):
    """What the book's MXNet ``AnyNet.stage`` builds for every block but a stage's first:
    ``ResNeXtBlock(num_channels, num_channels, groups, bot_mul)`` reads as groups=num_channels,
    bot_mul=groups and use_1x1conv=bot_mul. For RegNetX-32's first stage (32 channels, 16 groups,
    bot_mul 1) that is a bottleneck of 32 * 16 = 512 channels in 32 groups and a 1x1 shortcut, where
    the architecture asks for 32 channels in 16 groups and an identity shortcut. It runs, with the same
    output shape, so nothing but the parameter count shows it (d2lx's notebook says so)."""
    from mxnet import np as mnp

    shifted = d2l.ResNeXtBlock(32, 32, 16, 1)
    assert _resnext_settings(shifted) == (512, 32, (1, 1), True)
    intended = d2l.ResNeXtBlock(32, groups=16, bot_mul=1)
    for block in (shifted, intended):
        block.initialize()
        assert block(mnp.zeros((2, 32, 8, 8))).shape == (2, 32, 8, 8)
    count = lambda block: sum(p.data().size for p in block.collect_params().values() if p.grad_req != "null")
    assert count(shifted) > 10 * count(intended)


def test_googlenet_uses_a_block_redefined_with_add_to_class(d2l, capsys):
    from mxnet.gluon import nn

    original = d2l.GoogleNet.b5
    try:

        @d2l.add_to_class(d2l.GoogleNet)
        def b5(self):
            net = nn.Sequential()
            net.add(nn.GlobalAvgPool2D(), nn.Flatten())
            return net

        d2l.GoogleNet().layer_summary((1, 1, 96, 96))
    finally:
        d2l.GoogleNet.b5 = original
    assert "Sequential output shape:\t (1, 832)" in capsys.readouterr().out


def test_scratch_batch_norm_rejects_other_ranks_and_keeps_statistics_out_of_the_gradient(d2l):
    from mxnet import autograd
    from mxnet import np as mnp

    X = mnp.random.normal(0, 1, (4, 3, 5))
    with pytest.raises(ValueError, match=r"batch_norm: X must have 2 dimensions .* got shape \(4, 3, 5\)"):
        d2l.batch_norm(X, 1.0, 0.0, mnp.zeros((1, 3, 1)), mnp.ones((1, 3, 1)), eps=1e-5, momentum=0.1)
    with pytest.raises(ValueError, match="num_dims must be 2 .* or 4 .*, got 3"):
        d2l.BatchNorm(3, 3)
    layer = d2l.BatchNorm(3, num_dims=4)
    layer.initialize()
    X = mnp.random.normal(0, 1, (4, 3, 5, 6))
    for _ in range(2):  # a second step reuses the statistics of the first
        with autograd.record():
            loss = (layer(X) ** 2).sum()
        loss.backward()
    assert layer.gamma.grad().shape == (1, 3, 1, 1)
    assert layer.moving_mean.grad is None  # a statistic, not a parameter
    moved = layer.moving_mean.copy()
    layer(X)  # prediction mode (outside record): the moving statistics stay
    assert (layer.moving_mean == moved).all()


def test_scratch_batch_norm_follows_the_input_to_its_device(d2l):
    import mxnet
    from mxnet import np as mnp

    layer = d2l.BatchNorm(3, num_dims=2)
    layer.initialize(ctx=[mxnet.cpu(0), mxnet.cpu(1)])  # a second CPU context stands in for a GPU
    Y = layer(mnp.ones((4, 3), ctx=mxnet.cpu(1)))
    assert Y.ctx == mxnet.cpu(1) and layer.moving_mean.ctx == mxnet.cpu(1)


def test_the_books_gated_and_stacked_scratch_cells_train_every_array(d2l):
    """Sections 10.1-10.3 on MXNet: the book's ``GRUScratch`` draws bare arrays without ``attach_grad()``
    (its ``RNNLMScratch.init_params`` attaches every scratch array's gradient), and its ``StackedRNNScratch``
    holds its layers in a plain list: every one of those arrays must get a gradient and take SGD steps."""
    from mxnet import autograd

    class GRUScratch(d2l.Module):  # the shape of the book's cell
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.W_xz, self.W_hz, self.b_z = (
                d2l.randn(num_inputs, num_hiddens) * sigma,
                d2l.randn(num_hiddens, num_hiddens) * sigma,
                d2l.zeros(num_hiddens),
            )

        def forward(self, inputs, H=None):
            H = d2l.zeros((inputs.shape[1], self.num_hiddens)) if H is None else H
            outputs = []
            for X in inputs:
                H = d2l.tanh(d2l.matmul(X, self.W_xz) + d2l.matmul(H, self.W_hz) + self.b_z)
                outputs.append(H)
            return outputs, H

    class StackedRNNScratch(d2l.Module):  # the book's: its layers in a list
        def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.rnns = [
                d2l.RNNScratch(num_inputs if i == 0 else num_hiddens, num_hiddens, sigma) for i in range(num_layers)
            ]

        def forward(self, inputs, Hs=None):
            outputs, Hs = inputs, [None] * self.num_layers
            for i in range(self.num_layers):
                outputs, Hs[i] = self.rnns[i](outputs, Hs[i])
                outputs = d2l.stack(outputs, 0)
            return outputs, Hs

    X = d2l.tensor([[0, 1, 2, 3], [3, 2, 1, 0]], dtype=d2l.int32)
    for rnn, arrays in ((GRUScratch(5, 4), 3), (StackedRNNScratch(5, 4, num_layers=3), 9)):
        model = d2l.RNNLMScratch(rnn, vocab_size=5, lr=1)
        params = model.get_scratch_params()
        assert len(params) == arrays + 2  # the rnn's and W_hq, b_q
        before = [p.copy() for p in params]
        with autograd.record():
            loss = model.loss(model(X), X)
        loss.backward()
        model.configure_optimizers().step(1)
        assert all(float(abs(p - b).max()) > 0 for p, b in zip(params, before))


def test_the_books_rnnlm_cell_predicts_before_training(d2l):
    """Section 9.6's ``RNNLM`` cell replaces ``init_params`` (a Gluon ``Dense``, no ``W_hq``): ``predict``
    without a device finds the parameters' context from the Gluon layers."""
    from mxnet.gluon import nn

    class RNNLM(d2l.RNNLMScratch):
        def init_params(self):
            self.linear = nn.Dense(self.vocab_size, flatten=False)
            self.initialize()

        def output_layer(self, hiddens):
            return d2l.swapaxes(self.linear(hiddens), 0, 1)

    vocab = d2l.Vocab(list("it has a time machine"))
    text = RNNLM(d2l.RNN(num_hiddens=8), vocab_size=len(vocab)).predict("it has", 5, vocab)
    assert len(text) == len("it has") + 5 and text.startswith("it has")
