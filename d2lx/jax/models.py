"""Linear and softmax regression for JAX, from scratch (``self.param``) and with ``flax.linen``.

Hyperparameters are dataclass fields, which ``Module.__post_init__`` checks
(``d2lx.checks.hyperparameters``), so a bad value fails when the model is made,
with the same message as on every backend.
After ``d2l.set_seed``, initial weights come from d2lx's seeded parameter
stream, so every backend starts from the same numbers; before it, from JAX's key.
"""

from __future__ import annotations

import jax
import optax
from flax import linen as nn
from jax import numpy as jnp

from d2lx import checks
from d2lx import models as core
from d2lx.jax import ops
from d2lx.jax.module import Classifier, Module, tracing_initial_values
from d2lx.jax.optim import SGD
from d2lx.kaggle_house import make_k_fold
from d2lx.utils import seeded_normal


def normal_init(sigma: float):
    """``nn.initializers.normal(sigma)``, drawing from d2lx's seeded stream after ``set_seed``."""
    from_key = nn.initializers.normal(sigma)

    def init(key, shape, dtype=jnp.float32):
        if isinstance(key, jax.core.Tracer) and not tracing_initial_values():
            # Flax also runs initializers abstractly, to check the shapes of existing parameters
            # whenever a traced (jitted) ``apply`` reads them: no values are made, so none are drawn
            # (each draw would shift the stream, and the next model would start from other numbers).
            return from_key(key, shape, dtype)
        values = seeded_normal(tuple(shape), sigma)  # shapes are (inputs, outputs), as in every backend
        return from_key(key, shape, dtype) if values is None else jnp.asarray(values, dtype)

    return init


class _Scratch:
    """What the scratch models' ``forward`` takes from JAX (see ``d2lx.models.ScratchParameters``): its
    operations. The parameters are Flax's: each model's ``setup`` names and draws them."""

    _ops = ops


class LinearRegressionScratch(_Scratch, core.LinearRegressionScratchSteps, Module):
    """``y = Xw + b`` with ``w ~ N(0, sigma)``, squared loss and the scratch ``SGD`` (``forward``: see
    ``d2lx.models.LinearRegressionScratchSteps``; Flax's ``setup`` names and draws the parameters)."""

    num_inputs: int
    lr: float
    sigma: float = 0.01

    def setup(self):
        self.w = self.param("w", normal_init(self.sigma), (self.num_inputs, 1))
        self.b = self.param("b", nn.initializers.zeros, (1,))

    def loss(self, params, X, y, state):
        y_hat = state.apply_fn({"params": params}, *X)  # X is the tuple of inputs
        return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).mean()

    def configure_optimizers(self):
        return SGD(self.lr)

    def get_w_b(self, state=None):
        """``(w, b)`` from ``state`` (default: the trainer's state after ``fit``)."""
        params = self._trained_params(state)
        return params["w"], params["b"]


def check_input_features(module: nn.Module, layer: str, X) -> None:
    """Raise a clear ValueError (``checks.same_features``) when ``X`` has not the features that the
    dense ``layer`` of ``module`` was initialised for, instead of Flax's ``ScopeParamShapeError``."""
    if module.is_initializing():
        return
    kernel = module.variables.get("params", {}).get(layer, {}).get("kernel")
    if kernel is not None:
        checks.same_features(module, X.shape, expected=int(kernel.shape[0]))


class LinearRegression(Module):
    """The concise version: ``nn.Dense(1)`` with weights drawn from N(0, 0.01), mean squared error, ``optax.sgd``."""

    lr: float

    def setup(self):
        self.net = nn.Dense(1, kernel_init=normal_init(0.01))

    def forward(self, X):
        check_input_features(self, "net", X)
        return self.net(X)

    def loss(self, params, X, y, state):
        y_hat = state.apply_fn({"params": params}, *X)
        return ((y_hat - y.reshape(y_hat.shape)) ** 2).mean()

    def configure_optimizers(self):
        return optax.sgd(self.lr)

    def get_w_b(self, state=None):
        """``(kernel, bias)`` of the dense layer, from ``state`` (default: the trainer's state after ``fit``)."""
        net = self._trained_params(state)["net"]
        return net["kernel"], net["bias"]


def _bound_to_its_parameters(model, trainer):
    """A fold's model bound to the parameters it was trained to, so that ``model(X)`` predicts."""
    return model.bind({"params": trainer.state.params})


k_fold = make_k_fold(LinearRegression, keep=_bound_to_its_parameters)


def softmax(X):
    """Row-wise softmax; subtracting the row maximum keeps ``exp`` from overflowing."""
    X_exp = jnp.exp(X - X.max(axis=1, keepdims=True))
    return X_exp / X_exp.sum(axis=1, keepdims=True)


def cross_entropy(y_hat, y):
    """Mean negative log-probability of the true classes, for probabilities ``y_hat``."""
    return -jnp.log(jnp.take_along_axis(y_hat, y.reshape(-1, 1), axis=1)).mean()


class SoftmaxRegressionScratch(_Scratch, core.SoftmaxRegressionScratchSteps, Classifier):
    """``softmax(XW + b)`` on flattened images, trained with the scratch ``SGD`` (``forward``: see
    ``d2lx.models.SoftmaxRegressionScratchSteps``; Flax's ``setup`` names and draws the parameters)."""

    num_inputs: int
    num_outputs: int
    lr: float
    sigma: float = 0.01
    _softmax = staticmethod(softmax)

    def setup(self):
        self.W = self.param("W", normal_init(self.sigma), (self.num_inputs, self.num_outputs))
        self.b = self.param("b", nn.initializers.zeros, (self.num_outputs,))

    def loss(self, params, X, y, state):
        y_hat = state.apply_fn({"params": params}, *X)
        return cross_entropy(y_hat, y), {}  # no mutated variables (the book's placeholder)

    def configure_optimizers(self):
        return SGD(self.lr)


class SoftmaxRegression(Classifier):
    """The concise version: flatten, then ``nn.Dense(num_outputs)``; cross-entropy on logits."""

    num_outputs: int
    lr: float

    def setup(self):
        self.net = nn.Dense(self.num_outputs)

    def forward(self, X):
        check_input_features(self, "net", X)
        return self.net(X.reshape((X.shape[0], -1)))
