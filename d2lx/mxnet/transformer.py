"""The Transformer on MXNet (the 1.0 edition's sections 11.6-11.7): ``PositionalEncoding``, ``PositionWiseFFN``,
``AddNorm``, ``TransformerEncoderBlock``, ``TransformerEncoder``; Gluon's layers learn their input sizes from
the first batch.

The table ``P``, the checks, the encoder's forward passes and the numpy references are the core's
(``d2lx.transformer``).
"""

from __future__ import annotations

from mxnet import np
from mxnet.gluon import nn

from d2lx import transformer as core
from d2lx.mxnet.attention import MultiHeadAttention
from d2lx.mxnet.seq2seq import Encoder


class PositionalEncoding(nn.Block):
    """``X + P[:, :num_steps]``, then dropout: the sine/cosine table ``P`` (1, max_len, num_hiddens) gives each
    position its own pattern."""

    def __init__(self, num_hiddens, dropout, max_len=1000):
        super().__init__()
        core.check_arguments(self, num_hiddens=num_hiddens, dropout=dropout, max_len=max_len)
        self.num_hiddens, self.max_len = num_hiddens, max_len
        self.dropout = nn.Dropout(dropout)
        self.P = np.array(core.positional_encoding_table(num_hiddens, max_len))

    def forward(self, X):
        core.check_positions(self, X.shape)
        return self.dropout(X + self.P[:, : X.shape[1], :].as_in_ctx(X.ctx))


class PositionWiseFFN(nn.Block):
    """The same two-layer MLP at every position: ``dense2(dense1(X))``, ``dense1`` with ReLU, the last axis of
    ``X`` becoming ``ffn_num_outputs`` wide."""

    def __init__(self, ffn_num_hiddens, ffn_num_outputs):
        super().__init__()
        core.check_arguments(self, ffn_num_hiddens=ffn_num_hiddens, ffn_num_outputs=ffn_num_outputs)
        self.dense1 = nn.Dense(ffn_num_hiddens, flatten=False, activation="relu")
        self.dense2 = nn.Dense(ffn_num_outputs, flatten=False)

    def forward(self, X):
        return self.dense2(self.dense1(X))


class AddNorm(core.AddNormSteps, nn.Block):
    """The residual connection followed by layer normalization over the last axis: ``ln(dropout(Y) + X)``, ``Y``
    a sublayer's output and ``X`` its input, of the same shape."""

    def __init__(self, dropout):
        super().__init__()
        core.check_arguments(self, dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm()


class TransformerEncoderBlock(core.EncoderBlockSteps, nn.Block):
    """The Transformer encoder block (see ``d2lx.transformer.EncoderBlockSteps``): ``forward(X, valid_lens)`` keeps
    the shape of ``X`` (batch_size, num_steps, num_hiddens)."""

    def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, use_bias=False):
        super().__init__()
        self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout, use_bias)
        self.addnorm1 = AddNorm(dropout)
        self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
        self.addnorm2 = AddNorm(dropout)


class TransformerEncoder(core.EncoderSteps, Encoder):
    """The Transformer encoder, ``num_blks`` encoder blocks over the embedded, position-encoded tokens (see
    ``d2lx.transformer.EncoderSteps``); ``attention_weights`` holds each block's after a forward pass. It
    initialises itself, as the book's."""

    def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout, use_bias=False):
        super().__init__()
        core.check_arguments(self, vocab_size=vocab_size, num_blks=num_blks)
        self.num_hiddens = num_hiddens
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for _ in range(num_blks):
            self.blks.add(TransformerEncoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout, use_bias))
        self.initialize()
