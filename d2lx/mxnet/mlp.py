"""Multilayer perceptrons, weight decay and dropout for MXNet (the 1.0 edition's sections 5.2, 3.7, 5.6).

The scratch models write the layers out (``MLPScratch``'s weights come from
d2lx's seeded stream after ``set_seed``, as every backend's do); the concise
ones use Gluon. Dropout is active only under ``autograd.record()`` (training
mode), which is where the trainer computes the training loss.
"""

from __future__ import annotations

from mxnet import autograd, gluon, np
from mxnet.gluon import nn

from d2lx import checks
from d2lx import mlp as core
from d2lx.mxnet.models import LinearRegression, LinearRegressionScratch, _Scratch
from d2lx.mxnet.module import Classifier


def relu(X):
    """``max(X, 0)``, elementwise."""
    return np.maximum(X, 0)


class MLPScratch(_Scratch, core.MLPScratchSteps, Classifier):
    """One hidden layer of ``num_hiddens`` ReLU units, parameters written out; weights start ``N(0, sigma)``
    (constructor and ``forward``: see ``d2lx.mlp.MLPScratchSteps``)."""

    _relu = staticmethod(relu)


def _relu_stack(num_outputs: int, hidden: list[core.HiddenLayer]) -> nn.Sequential:
    """The concise MLPs' ``self.net``, initialised: per hidden layer a ``Dense`` with ReLU (the first
    flattens the images) and ``Dropout`` where it has a probability, then ``Dense(num_outputs)``."""
    net = nn.Sequential()
    for num_hiddens, dropout in hidden:
        net.add(nn.Dense(num_hiddens, activation="relu"))
        if dropout is not None:
            net.add(nn.Dropout(dropout))
    net.add(nn.Dense(num_outputs))
    net.initialize()
    return net


class MLP(core.MLPBase, Classifier):
    """The concise version: a ``Dense`` hidden layer with ReLU (it flattens the images), a ``Dense`` output."""

    _relu_stack = staticmethod(_relu_stack)


class WeightDecayScratch(core.WeightDecayScratchBase, LinearRegressionScratch):
    """Linear regression whose loss adds ``lambd * l2_penalty(w)`` (the bias is not penalised)."""


class WeightDecay(core.WeightDecayBase, LinearRegression):
    """The concise version: ``gluon.Trainer`` with SGD and ``wd``, switched off for the bias (``wd_mult = 0``)."""

    def configure_optimizers(self):
        self.collect_params(".*bias").setattr("wd_mult", 0)
        return gluon.Trainer(self.collect_params(), "sgd", {"learning_rate": self.lr, "wd": self.wd})


def dropout_layer(X, dropout):
    """Zero each element of ``X`` with probability ``dropout`` and scale the rest by ``1 / (1 - dropout)``."""
    dropout = checks.probability("dropout", dropout)
    if dropout == 1:
        return np.zeros_like(X)
    keep = np.random.uniform(0, 1, X.shape, ctx=X.ctx) >= dropout  # never false when dropout is 0
    return keep.astype(X.dtype) * X / (1.0 - dropout)


class DropoutMLPScratch(core.DropoutMLPScratchSteps, Classifier):
    """Two hidden ReLU layers (``Dense`` with ``activation='relu'``), each followed by ``dropout_layer`` in
    training mode only, under ``autograd.record()`` (``forward``: see ``d2lx.mlp.DropoutMLPScratchSteps``)."""

    _dropout = staticmethod(dropout_layer)
    _training = staticmethod(autograd.is_training)

    def __init__(self, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr):
        super().__init__()
        self.save_hyperparameters()
        self.lin1 = nn.Dense(num_hiddens_1, activation="relu")
        self.lin2 = nn.Dense(num_hiddens_2, activation="relu")
        self.lin3 = nn.Dense(num_outputs)
        self.initialize()


class DropoutMLP(core.DropoutMLPBase, Classifier):
    """The concise version: ``nn.Dropout`` after each hidden layer (active in training mode only)."""

    _relu_stack = staticmethod(_relu_stack)
