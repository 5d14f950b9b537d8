"""The book's backend-neutral tensor names (``d2l.reshape``, ``d2l.numpy``, ...) for JAX, and its keys.

JAX has no global random state: every draw takes a key. ``get_key()`` hands
out fresh sub-keys split from one module-level key, which ``d2l.set_seed``
re-seeds, so a seeded run draws the same numbers every time. ``get_seed()`` is
the int seed of the book's ``jax.random.PRNGKey(d2l.get_seed())``: the one given
to ``d2l.set_seed``, or, before any, a random one as in d2l 1.0.
"""

from __future__ import annotations

import random

import flax  # noqa: F401 (re-exported: d2l.flax, as d2l's JAX library has it)
import jax
import numpy as np
from flax import linen
from flax.training import train_state  # noqa: F401 (re-exported)
from jax import numpy as jnp

from d2lx import checks
from d2lx.methods import argmax, astype, reduce_mean, reduce_sum, repeat, reshape, size, swapaxes, transpose  # noqa: F401 (re-exported)

nn_Module = linen.Module  # d2l's alias for the base class of its models
grad, vmap = jax.grad, jax.vmap  # imported by d2l's JAX library, so the book reaches d2l.grad

# The stream's key, made at the first get_key(): making one at import would start XLA's backend there
# (0.14 s of ``from d2lx import jax``, bench/import_cost.py).
_key: jax.Array | None = None
_seed: int | None = None  # the last d2l.set_seed, for get_seed()


def seed(value: int) -> None:
    """Restart the stream of ``get_key()`` from ``value`` (called by ``d2l.set_seed``)."""
    global _key, _seed
    _seed = checks.non_negative_int("seed", value)
    _key = jax.random.key(_seed)


def get_key() -> jax.Array:
    """A fresh PRNG key, split off the module-level key."""
    global _key
    _key, subkey = jax.random.split(jax.random.key(0) if _key is None else _key)
    return subkey


def get_seed() -> int:
    """The seed given to ``d2l.set_seed``; before any, a random int in [0, 10**6], as d2l 1.0's
    ``get_seed`` (the book's cells write ``jax.random.PRNGKey(d2l.get_seed())``)."""
    return _seed if _seed is not None else random.randint(0, 10**6)


ones, ones_like, zeros, zeros_like = jnp.ones, jnp.ones_like, jnp.zeros, jnp.zeros_like
tensor, arange, linspace, meshgrid, eye = jnp.array, jnp.arange, jnp.linspace, jnp.meshgrid, jnp.eye
sin, sinh, cos, cosh, tanh = jnp.sin, jnp.sinh, jnp.cos, jnp.cosh, jnp.tanh
exp, log, abs, sigmoid = jnp.exp, jnp.log, jnp.abs, jax.nn.sigmoid
matmul, batch_matmul, concat, stack, expand_dims = jnp.matmul, jnp.matmul, jnp.concatenate, jnp.stack, jnp.expand_dims
int32, int64, float32 = jnp.int32, jnp.int64, jnp.float32
to = jax.device_put


def normal(mean=0.0, std=1.0, shape=(), key: jax.Array | None = None):
    """Draw from N(``mean``, ``std``²) with ``key`` (default: ``get_key()``)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return mean + std * jax.random.normal(get_key() if key is None else key, shape)


def rand(*shape, key: jax.Array | None = None):
    """Uniform draws in [0, 1) of the given shape (``rand(2, 3)``)."""
    return jax.random.uniform(get_key() if key is None else key, shape)


def randn(*shape, key: jax.Array | None = None):
    """Standard normal draws of the given shape (``randn(2, 3)``)."""
    return jax.random.normal(get_key() if key is None else key, shape)


def numpy(x, *args, **kwargs):
    """A numpy copy of ``x`` (fetched from the device if needed)."""
    return np.asarray(x, *args, **kwargs)
