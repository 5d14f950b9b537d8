"""Multilayer perceptrons, weight decay and dropout for JAX (the 1.0 edition's sections 5.2, 3.7, 5.6).

As elsewhere in d2lx's JAX code, hyperparameters are dataclass fields, checked
when the model is made (``Module.__post_init__``). ``WeightDecayScratch``'s ``lambd`` and ``WeightDecay``'s
``wd`` are keyword-only: a dataclass puts a subclass's fields after its
parent's, so ``WeightDecay(3, 0.01)`` would otherwise read as ``lr=3``.

Dropout draws its masks from the ``'dropout'`` random stream, which the
trainer feeds from ``state.dropout_rng`` (a new key every step); the
dropout models have the book's ``training`` field, which the trainer sets to
False while it validates.
"""

from __future__ import annotations

from dataclasses import field

import jax
import optax
from flax import linen as nn
from flax import traverse_util
from jax import numpy as jnp

from d2lx import checks
from d2lx.jax.models import LinearRegression, LinearRegressionScratch, _Scratch, check_input_features, normal_init
from d2lx.jax.module import Classifier
from d2lx.jax.ops import get_key
from d2lx.mlp import DropoutMLPScratchSteps, MLPScratchSteps, l2_penalty


def relu(X):
    """``max(X, 0)``, elementwise."""
    return jnp.maximum(X, 0)


class MLPScratch(_Scratch, MLPScratchSteps, Classifier):
    """One hidden layer of ``num_hiddens`` ReLU units, parameters written out; weights start ``N(0, sigma)``
    (``forward``: see ``d2lx.mlp.MLPScratchSteps``; Flax's ``setup`` names and draws the parameters)."""

    num_inputs: int
    num_outputs: int
    num_hiddens: int
    lr: float
    sigma: float = 0.01
    _relu = staticmethod(relu)

    def setup(self):
        self.W1 = self.param("W1", normal_init(self.sigma), (self.num_inputs, self.num_hiddens))
        self.b1 = self.param("b1", nn.initializers.zeros, (self.num_hiddens,))
        self.W2 = self.param("W2", normal_init(self.sigma), (self.num_hiddens, self.num_outputs))
        self.b2 = self.param("b2", nn.initializers.zeros, (self.num_outputs,))


class MLP(Classifier):
    """The concise version: flatten, ``nn.Dense(num_hiddens)`` with ReLU, ``nn.Dense(num_outputs)``."""

    num_outputs: int
    num_hiddens: int
    lr: float

    def setup(self):
        self.hidden = nn.Dense(self.num_hiddens)
        self.output = nn.Dense(self.num_outputs)

    def forward(self, X):
        check_input_features(self, "hidden", X)
        return self.output(nn.relu(self.hidden(X.reshape((X.shape[0], -1)))))


class WeightDecayScratch(LinearRegressionScratch):
    """Linear regression whose loss adds ``lambd * l2_penalty(w)`` (the bias is not penalised)."""

    lambd: float = field(kw_only=True)

    def loss(self, params, X, y, state):
        return super().loss(params, X, y, state) + self.lambd * l2_penalty(params["w"])


def _kernels_only(params):
    """True for the weights (``kernel``), False for the biases: where weight decay applies."""
    return traverse_util.path_aware_map(lambda path, _: path[-1] == "kernel", params)


class WeightDecay(LinearRegression):
    """The concise version: Optax's ``add_decayed_weights(wd)`` on the kernel only, chained before SGD."""

    wd: float = field(kw_only=True)

    def configure_optimizers(self):
        return optax.chain(optax.add_decayed_weights(self.wd, mask=_kernels_only), optax.sgd(self.lr))


def dropout_layer(X, dropout, key: jax.Array | None = None):
    """Zero each element of ``X`` with probability ``dropout`` and scale the rest by ``1 / (1 - dropout)``.

    ``key`` draws the mask (default: ``d2l.get_key()``; inside a model, ``self.make_rng('dropout')``).
    """
    dropout = checks.probability("dropout", dropout)
    if dropout == 1:
        return jnp.zeros_like(X)
    keep = jax.random.uniform(get_key() if key is None else key, X.shape) >= dropout  # all kept when dropout is 0
    return keep.astype(X.dtype) * X / (1.0 - dropout)


class _DropoutMLPFields(Classifier):
    """The hyperparameters of both dropout models, in the book's order, and ``training`` (see above)."""

    num_outputs: int
    num_hiddens_1: int
    num_hiddens_2: int
    dropout_1: float
    dropout_2: float
    lr: float
    training: bool = True


class DropoutMLPScratch(DropoutMLPScratchSteps, _DropoutMLPFields):
    """Two hidden ReLU layers, each followed by ``dropout_layer`` while ``training``, its mask drawn from the
    ``'dropout'`` stream (``forward``: see ``d2lx.mlp.DropoutMLPScratchSteps``)."""

    _relu = staticmethod(relu)

    def setup(self):
        self.lin1 = nn.Dense(self.num_hiddens_1)
        self.lin2 = nn.Dense(self.num_hiddens_2)
        self.lin3 = nn.Dense(self.num_outputs)

    def _dropout(self, H, dropout):
        return dropout_layer(H, dropout, self.make_rng("dropout"))


class DropoutMLP(_DropoutMLPFields):
    """The concise version: ``nn.Dropout`` after each hidden layer, deterministic unless ``training``."""

    def setup(self):
        self.lin1 = nn.Dense(self.num_hiddens_1)
        self.drop1 = nn.Dropout(self.dropout_1)
        self.lin2 = nn.Dense(self.num_hiddens_2)
        self.drop2 = nn.Dropout(self.dropout_2)
        self.lin3 = nn.Dense(self.num_outputs)

    def forward(self, X):
        check_input_features(self, "lin1", X)
        H1 = self.drop1(nn.relu(self.lin1(X.reshape((X.shape[0], -1)))), deterministic=not self.training)
        H2 = self.drop2(nn.relu(self.lin2(H1)), deterministic=not self.training)
        return self.lin3(H2)
