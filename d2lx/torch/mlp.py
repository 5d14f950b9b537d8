"""Multilayer perceptrons, weight decay and dropout for PyTorch (the 1.0 edition's sections 5.2, 3.7, 5.6).

The scratch models write the layers out (``MLPScratch``'s weights come from
d2lx's seeded stream after ``set_seed``, as every backend's do); the concise
ones use ``torch.nn``. Dropout is active only in training mode, which the
trainer switches with ``model.train()`` and ``model.eval()``.
"""

from __future__ import annotations

import torch
from torch import nn

from d2lx import checks
from d2lx import mlp as core
from d2lx.torch.models import LinearRegression, LinearRegressionScratch, _Scratch
from d2lx.torch.module import Classifier


def relu(X):
    """``max(X, 0)``, elementwise."""
    return torch.maximum(X, torch.zeros_like(X))


class MLPScratch(_Scratch, core.MLPScratchSteps, Classifier):
    """One hidden layer of ``num_hiddens`` ReLU units, parameters written out; weights start ``N(0, sigma)``
    (constructor and ``forward``: see ``d2lx.mlp.MLPScratchSteps``)."""

    _relu = staticmethod(relu)


def _relu_stack(num_outputs: int, hidden: list[core.HiddenLayer]) -> nn.Sequential:
    """The concise MLPs' ``self.net``: flatten, then per hidden layer ``LazyLinear`` and ``ReLU`` (and
    ``Dropout`` where it has a probability), then ``LazyLinear(num_outputs)``."""
    layers = [nn.Flatten()]
    for num_hiddens, dropout in hidden:
        layers += [nn.LazyLinear(num_hiddens), nn.ReLU()]
        if dropout is not None:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.LazyLinear(num_outputs))


class MLP(core.MLPBase, Classifier):
    """The concise version: flatten, a lazy hidden layer with ReLU, a lazy output layer."""

    _relu_stack = staticmethod(_relu_stack)


class WeightDecayScratch(core.WeightDecayScratchBase, LinearRegressionScratch):
    """Linear regression whose loss adds ``lambd * l2_penalty(w)`` (the bias is not penalised)."""


class WeightDecay(core.WeightDecayBase, LinearRegression):
    """The concise version: ``torch.optim.SGD`` with ``weight_decay=wd`` on the weight only, not the bias."""

    def configure_optimizers(self):
        groups = [{"params": self.net.weight, "weight_decay": self.wd}, {"params": self.net.bias}]
        return torch.optim.SGD(groups, lr=self.lr)


def dropout_layer(X, dropout):
    """Zero each element of ``X`` with probability ``dropout`` and scale the rest by ``1 / (1 - dropout)``."""
    dropout = checks.probability("dropout", dropout)
    if dropout == 1:
        return torch.zeros_like(X)
    keep = torch.rand(X.shape, device=X.device) >= dropout  # never false when dropout is 0
    return keep.to(X.dtype) * X / (1.0 - dropout)


class DropoutMLPScratch(core.DropoutMLPScratchSteps, Classifier):
    """Two hidden ReLU layers, each followed by ``dropout_layer`` in training mode only (``forward``: see
    ``d2lx.mlp.DropoutMLPScratchSteps``)."""

    _dropout = staticmethod(dropout_layer)

    def __init__(self, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr):
        super().__init__()
        self.save_hyperparameters()
        self.lin1 = nn.LazyLinear(num_hiddens_1)
        self.lin2 = nn.LazyLinear(num_hiddens_2)
        self.lin3 = nn.LazyLinear(num_outputs)
        self.relu = nn.ReLU()  # the book's attribute: printing the model lists it, as in d2l

    def _relu(self, X):
        return self.relu(X)


class DropoutMLP(core.DropoutMLPBase, Classifier):
    """The concise version: ``nn.Dropout`` after each hidden layer (inactive after ``model.eval()``)."""

    _relu_stack = staticmethod(_relu_stack)
