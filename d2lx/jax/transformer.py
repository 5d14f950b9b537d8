"""The Transformer on JAX (the 1.0 edition's sections 11.6-11.7): ``PositionalEncoding``, ``PositionWiseFFN``,
``AddNorm``, ``TransformerEncoderBlock``, ``TransformerEncoder``, Flax modules whose hyperparameters are fields,
as in the book's JAX code.

A Flax module keeps nothing between calls, so, as in the book, the encoder block returns ``(output,
attention_weights)`` and the encoder sows its blocks' weights into the ``'intermediates'`` collection as
``'enc_attention_weights'``, where ``predict_step`` collects them; ``PositionalEncoding`` sows its table ``P``
there too, where the book's cell reads it (``apply(..., mutable='intermediates')``). The table, the checks and
the numpy references are the core's (``d2lx.transformer``).
"""

from __future__ import annotations

import dataclasses
import math

from flax import linen as nn
from jax import numpy as jnp

from d2lx import seq2seq
from d2lx import transformer as core
from d2lx.jax.attention import MultiHeadAttention
from d2lx.jax.seq2seq import Encoder


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


class TransformerEncoderBlock(_CheckedFields):
    """The Transformer encoder block: multi-head self-attention then the positionwise feed-forward network, each
    followed by ``AddNorm``. A call ``(X, valid_lens, training=False)`` returns ``(output, attention_weights)``,
    the output of the shape of ``X`` (batch_size, num_steps, num_hiddens)."""

    num_hiddens: int
    ffn_num_hiddens: int
    num_heads: int
    dropout: float
    use_bias: bool = False

    def setup(self):
        self.attention = MultiHeadAttention(self.num_hiddens, self.num_heads, self.dropout, self.use_bias)
        self.addnorm1 = AddNorm(self.dropout)
        self.ffn = PositionWiseFFN(self.ffn_num_hiddens, self.num_hiddens)
        self.addnorm2 = AddNorm(self.dropout)

    def __call__(self, X, valid_lens, training=False):
        output, attention_weights = self.attention(X, X, X, valid_lens, training=training)
        Y = self.addnorm1(X, output, training=training)
        return self.addnorm2(Y, self.ffn(Y), training=training), attention_weights


class TransformerEncoder(Encoder):
    """The Transformer encoder: token embeddings scaled by ``sqrt(num_hiddens)`` plus the positional encoding,
    through ``num_blks`` encoder blocks. Each block's attention weights are sown into ``'intermediates'`` as
    ``'enc_attention_weights'`` (a list, one entry per block)."""

    vocab_size: int
    num_hiddens: int
    ffn_num_hiddens: int
    num_heads: int
    num_blks: int
    dropout: float
    use_bias: bool = False

    def __post_init__(self):
        core.check_arguments(self, vocab_size=self.vocab_size, num_blks=self.num_blks)
        super().__post_init__()

    def setup(self):
        self.embedding = nn.Embed(self.vocab_size, self.num_hiddens)
        self.pos_encoding = PositionalEncoding(self.num_hiddens, self.dropout)
        self.blks = [
            TransformerEncoderBlock(self.num_hiddens, self.ffn_num_hiddens, self.num_heads, self.dropout, self.use_bias)
            for _ in range(self.num_blks)
        ]

    def __call__(self, X, valid_lens, training=False):
        X = self.embedding(seq2seq.checked_tokens(self, X).astype(jnp.int32)) * math.sqrt(self.num_hiddens)
        X = self.pos_encoding(X, training=training)
        attention_weights = [None] * len(self.blks)
        for i, blk in enumerate(self.blks):
            X, attention_weights[i] = blk(X, valid_lens, training=training)
        self.sow("intermediates", "enc_attention_weights", attention_weights)
        return X
