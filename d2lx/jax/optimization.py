"""Chapter 12 (Optimization Algorithms) for JAX, which d2l does not cover: a functional form of the book's cells.

JAX arrays cannot be updated in place, so the book's optimizers take the gradients and return new values
instead of writing into ``p`` (the TensorFlow tab's signature, with results):

* ``trainer_fn(params, grads, states, hyperparams) -> (params, states)``, e.g. the book's ``sgd`` is
  ``return [p - hyperparams['lr'] * g for p, g in zip(params, grads)], states``, and momentum returns its
  new velocities as the states. ``train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim,
  num_epochs=2)`` trains linear regression ``[w, b]`` with it (the loss's gradients come from
  ``jax.grad``, compiled) and returns the book's ``(times, losses)``.
* ``train_concise_ch11(trainer_fn, hyperparams, data_iter, num_epochs=4)`` takes an Optax optimizer
  factory such as ``optax.sgd`` or ``optax.adam``, made as ``trainer_fn(**hyperparams)`` (so Optax's
  names: ``learning_rate``, ``momentum``, ``b1``...; ``learning_rate`` may be an Optax schedule), and
  trains a Flax ``nn.Dense(1)`` on half the squared error, the loss of the from-scratch loop, so the two
  take the same learning rates.

The loop's bookkeeping and the data are the core's (``d2lx.optimization``).
"""

from __future__ import annotations

import jax
import optax
from flax import linen as nn
from jax import numpy as jnp

from d2lx import checks
from d2lx.functional import linreg, squared_loss
from d2lx.jax.data import DataModule
from d2lx.jax.functional import evaluate_loss, load_array
from d2lx.jax.ops import get_key
from d2lx.optimization import check_ch11, fit_ch11, make_get_data_ch11, num_features

get_data_ch11 = make_get_data_ch11(DataModule, load_array)


def _mean_loss(net):
    return jax.jit(jax.grad(lambda params, X, y: squared_loss(net(params, X), y).mean()))


def _returned(result, trainer_fn):
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(
            f"trainer_fn must return (params, states): JAX arrays are not updated in place, got "
            f"{type(result).__name__} from {getattr(trainer_fn, '__name__', trainer_fn)!r}"
        )
    return result


def train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2):
    """Train ``linreg`` on ``data_iter`` with ``trainer_fn(params, grads, states, hyperparams) -> (params, states)``."""
    check_ch11(trainer_fn, hyperparams, "a function (params, grads, states, hyperparams) -> (params, states)")
    feature_dim = checks.positive_int("feature_dim", feature_dim)
    run = {"params": [0.01 * jax.random.normal(get_key(), (feature_dim, 1)), jnp.zeros(1)], "states": states}

    def net(params, X):
        return linreg(X, *params)

    gradient = _mean_loss(net)

    def step(X, y):
        result = trainer_fn(run["params"], gradient(run["params"], X, y), run["states"], hyperparams)
        run["params"], run["states"] = _returned(result, trainer_fn)

    return fit_ch11(step, lambda data: evaluate_loss(net, run["params"], data, squared_loss), data_iter, num_epochs)


def train_concise_ch11(trainer_fn, hyperparams, data_iter, num_epochs=4):
    """Train a Flax ``nn.Dense(1)`` on ``data_iter`` with the Optax optimizer ``trainer_fn(**hyperparams)``."""
    check_ch11(trainer_fn, hyperparams, "an Optax optimizer such as optax.sgd")
    model = nn.Dense(1, kernel_init=nn.initializers.normal(0.01))
    params = model.init(get_key(), jnp.zeros((1, num_features(data_iter))))
    optimizer = trainer_fn(**hyperparams)
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            f"trainer_fn(**hyperparams) must make an Optax optimizer, got {type(optimizer).__name__}: pass the "
            "factory (optax.sgd), not an optimizer already made (optax.sgd(0.1))"
        )
    apply = model.apply  # one bound method: its compiled forms are kept across the evaluations
    gradient = _mean_loss(apply)

    @jax.jit
    def update(params, opt_state, X, y):
        updates, opt_state = optimizer.update(gradient(params, X, y), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    run = {"params": params, "opt_state": optimizer.init(params)}

    def step(X, y):
        run["params"], run["opt_state"] = update(run["params"], run["opt_state"], X, y)

    return fit_ch11(step, lambda data: evaluate_loss(apply, run["params"], data, squared_loss), data_iter, num_epochs)
