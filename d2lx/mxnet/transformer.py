"""The Transformer's layers on MXNet (the 1.0 edition's sections 11.6-11.7): ``PositionalEncoding``,
``PositionWiseFFN``, ``AddNorm``; Gluon's layers learn their input sizes from the first batch.

The table ``P``, the checks and the numpy references are the core's (``d2lx.transformer``).
"""

from __future__ import annotations

from mxnet import np
from mxnet.gluon import nn

from d2lx import transformer as core


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


class AddNorm(nn.Block):
    """The residual connection followed by layer normalization over the last axis: ``ln(dropout(Y) + X)``, ``Y``
    a sublayer's output and ``X`` its input, of the same shape."""

    def __init__(self, dropout):
        super().__init__()
        core.check_arguments(self, dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm()

    def forward(self, X, Y):
        core.check_residual(self, X.shape, Y.shape)
        return self.ln(self.dropout(Y) + X)
