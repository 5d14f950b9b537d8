"""Linear and softmax regression for MXNet, from scratch (``attach_grad``) and with Gluon."""

from __future__ import annotations

from mxnet import gluon, init, np, npx
from mxnet.gluon import nn

from d2lx import models as core
from d2lx.kaggle_house import make_k_fold
from d2lx.module import RemembersInputFeatures
from d2lx.mxnet import ops
from d2lx.mxnet.module import Classifier, Module
from d2lx.mxnet.optim import SGD
from d2lx.utils import seeded_normal


def normal_parameter(shape: tuple[int, ...], sigma: float):
    """An ``N(0, sigma)`` array with ``attach_grad()`` done: from d2lx's seeded stream after ``set_seed``
    (the numbers every backend starts from), else from MXNet's generator."""
    values = seeded_normal(shape, sigma)
    param = np.random.normal(0, sigma, shape) if values is None else np.array(values)
    param.attach_grad()
    return param


def _scratch_zeros(shape):
    param = np.zeros(shape)
    param.attach_grad()
    return param


class SeededNormal(init.Normal):
    """``init.Normal(sigma)`` for Gluon layers, drawing from d2lx's seeded stream after ``set_seed``.

    A ``Dense`` weight has shape ``(outputs, inputs)``; its values are drawn as
    ``(inputs, outputs)``, as the scratch models' are, and transposed, so the
    concise and scratch models (and the backends) start from the same numbers.
    """

    def _init_weight(self, name, arr):
        values = seeded_normal(tuple(arr.shape[::-1]), self.sigma)
        if values is None:
            super()._init_weight(name, arr)
        else:
            arr[:] = values.T


class _Scratch:
    """What the scratch models take from MXNet (see ``d2lx.models.ScratchParameters``): its operations, and
    parameters that are bare arrays with ``attach_grad()``."""

    _ops = ops
    _normal = staticmethod(normal_parameter)
    _zeros = staticmethod(_scratch_zeros)


class LinearRegressionScratch(_Scratch, core.LinearRegressionScratchSteps, Module):
    """``y = Xw + b`` with ``w ~ N(0, sigma)``, squared loss and the scratch ``SGD`` (constructor and
    ``forward``: see ``d2lx.models.LinearRegressionScratchSteps``). The loss reads ``y`` in the shape of
    the predictions."""

    def loss(self, y_hat, y):
        return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).mean()

    def configure_optimizers(self):
        return SGD([self.w, self.b], self.lr)

    def get_w_b(self):
        return self.w, self.b


class LinearRegression(RemembersInputFeatures, Module):
    """The concise version: ``nn.Dense(1)`` initialised N(0, 0.01), ``gluon.loss.L2Loss`` (half the
    squared error, as the book's MXNet code uses) and ``gluon.Trainer`` with SGD."""

    def __init__(self, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Dense(1)
        self.net.initialize(SeededNormal(sigma=0.01))

    def loss(self, y_hat, y):
        return gluon.loss.L2Loss()(y_hat, y).mean()

    def configure_optimizers(self):
        return gluon.Trainer(self.collect_params(), "sgd", {"learning_rate": self.lr})

    def get_w_b(self):
        return self.net.weight.data(), self.net.bias.data()


k_fold = make_k_fold(LinearRegression)


def softmax(X):
    """Row-wise softmax; subtracting the row maximum keeps ``exp`` from overflowing."""
    X_exp = np.exp(X - X.max(axis=1, keepdims=True))
    return X_exp / X_exp.sum(axis=1, keepdims=True)


def cross_entropy(y_hat, y):
    """Mean negative log-probability of the true classes, for probabilities ``y_hat``."""
    return -np.log(npx.pick(y_hat, y, axis=1)).mean()


class SoftmaxRegressionScratch(_Scratch, core.SoftmaxRegressionScratchSteps, Classifier):
    """``softmax(XW + b)`` on flattened images (constructor, ``forward`` and ``loss``: see
    ``d2lx.models.SoftmaxRegressionScratchSteps``); ``configure_optimizers`` finds ``W`` and ``b`` as scratch
    parameters and returns the scratch ``SGD``."""

    _softmax = staticmethod(softmax)
    _cross_entropy = staticmethod(cross_entropy)


class SoftmaxRegression(RemembersInputFeatures, Classifier):
    """The concise version: ``nn.Dense(num_outputs)`` (which flattens its input), cross-entropy on logits."""

    def __init__(self, num_outputs: int, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Dense(num_outputs)
        self.net.initialize()
