"""The book's backend-neutral tensor names (``d2l.reshape``, ``d2l.numpy``, ...) for JAX, and its keys.

JAX has no global random state: every draw takes a key. ``get_key()`` hands
out fresh sub-keys split from one module-level key, which ``d2l.set_seed``
re-seeds, so a seeded run draws the same numbers every time.
"""

from __future__ import annotations

import jax
import numpy as np
from jax import numpy as jnp

from d2lx import checks
from d2lx.methods import argmax, astype, reduce_mean, reduce_sum, repeat, reshape, size, swapaxes, transpose  # noqa: F401 (re-exported)

_key = jax.random.key(0)


def seed(value: int) -> None:
    """Restart the stream of ``get_key()`` from ``value`` (called by ``d2l.set_seed``)."""
    global _key
    _key = jax.random.key(checks.non_negative_int("seed", value))


def get_key() -> jax.Array:
    """A fresh PRNG key, split off the module-level key."""
    global _key
    _key, subkey = jax.random.split(_key)
    return subkey


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
