"""The Transformer's layers on JAX (the 1.0 edition's sections 11.6-11.7): ``PositionalEncoding``,
``PositionWiseFFN``, ``AddNorm``, Flax modules whose hyperparameters are fields, as in the book's JAX code.

``PositionalEncoding`` sows its table ``P`` into the ``'intermediates'`` collection, where the book's cell reads
it (``apply(..., mutable='intermediates')``). The table, the checks and the numpy references are the core's
(``d2lx.transformer``).
"""

from __future__ import annotations

import dataclasses

from flax import linen as nn
from jax import numpy as jnp

from d2lx import transformer as core


class _CheckedFields(nn.Module):
    """A Flax module whose fields are checked when it is made, by the rules of ``d2lx.checks``, as the other
    backends check their constructors' arguments."""

    def __post_init__(self):
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        core.check_arguments(self, **{k: v for k, v in fields.items() if k not in ("parent", "name")})
        super().__post_init__()


class PositionalEncoding(_CheckedFields):
    """``X + P[:, :num_steps]``, then dropout (``training=True`` only): the sine/cosine table ``P`` (1, max_len,
    num_hiddens) gives each position its own pattern."""

    num_hiddens: int
    dropout: float
    max_len: int = 1000

    def setup(self):
        self.P = jnp.asarray(core.positional_encoding_table(self.num_hiddens, self.max_len))

    @nn.compact
    def __call__(self, X, training=False):
        core.check_positions(self, X.shape)
        self.sow("intermediates", "P", self.P)
        X = X + self.P[:, : X.shape[1], :]
        return nn.Dropout(self.dropout)(X, deterministic=not training)


class PositionWiseFFN(_CheckedFields):
    """The same two-layer MLP at every position: ``dense2(relu(dense1(X)))``, the last axis of ``X`` becoming
    ``ffn_num_outputs`` wide."""

    ffn_num_hiddens: int
    ffn_num_outputs: int

    def setup(self):
        self.dense1 = nn.Dense(self.ffn_num_hiddens)
        self.dense2 = nn.Dense(self.ffn_num_outputs)

    def __call__(self, X):
        return self.dense2(nn.relu(self.dense1(X)))


class AddNorm(_CheckedFields):
    """The residual connection followed by layer normalization over the last axis: ``ln(dropout(Y) + X)``, ``Y``
    a sublayer's output and ``X`` its input, of the same shape (dropout with ``training=True`` only)."""

    dropout: float

    @nn.compact
    def __call__(self, X, Y, training=False):
        core.check_residual(self, X.shape, Y.shape)
        return nn.LayerNorm()(nn.Dropout(self.dropout)(Y, deterministic=not training) + X)
