"""The book's minibatch SGD written from scratch, as an Optax ``GradientTransformation``.

Optax optimizers are pairs of pure functions: ``init(params)`` makes the
optimizer state and ``update(grads, state, params)`` turns gradients into the
updates that ``TrainState.apply_gradients`` adds to the parameters. Plain SGD
needs no state, and its update is ``-lr * grad``.
"""

from __future__ import annotations

import jax
import optax

from d2lx import checks
from d2lx.hparams import HyperParameters


class SGD(optax.GradientTransformation, HyperParameters):
    """``SGD(lr)``: ``param -= lr * grad``, usable wherever Optax expects a ``GradientTransformation``.

    It is one (a named tuple of ``init`` and ``update``), so ``TrainState``,
    ``optax.chain`` and ``jax.jit`` accept it; ``lr`` is fixed when it is made.
    """

    def __new__(cls, lr):
        checks.positive_number("lr", lr)

        def init(params):
            del params  # plain SGD keeps no state
            return optax.EmptyState()

        def update(updates, state, params=None):
            del params
            return jax.tree_util.tree_map(lambda g: -lr * g, updates), state

        return super().__new__(cls, init, update)

    def __init__(self, lr):
        self.save_hyperparameters()

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr!r})"
