"""The Transformer on PyTorch (the 1.0 edition's sections 11.6-11.7): ``PositionalEncoding``, ``PositionWiseFFN``,
``AddNorm``, ``TransformerEncoderBlock``, ``TransformerEncoder``.

The table ``P``, the checks, the encoder's forward passes and the numpy references are the core's
(``d2lx.transformer``).
"""

from __future__ import annotations

import torch
from torch import nn

from d2lx import transformer as core
from d2lx.torch.attention import MultiHeadAttention
from d2lx.torch.seq2seq import Encoder


class PositionalEncoding(nn.Module):
    """``X + P[:, :num_steps]``, then dropout: the sine/cosine table ``P`` (1, max_len, num_hiddens) gives each
    position its own pattern. ``P`` is a buffer that is not saved: it moves with ``model.to(device)``, where the
    book's plain attribute is copied to ``X``'s device at every call."""

    def __init__(self, num_hiddens, dropout, max_len=1000):
        super().__init__()
        core.check_arguments(self, num_hiddens=num_hiddens, dropout=dropout, max_len=max_len)
        self.num_hiddens, self.max_len = num_hiddens, max_len
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("P", torch.from_numpy(core.positional_encoding_table(num_hiddens, max_len)), False)

    def forward(self, X):
        core.check_positions(self, X.shape)
        return self.dropout(X + self.P[:, : X.shape[1], :].to(X.device))


class PositionWiseFFN(nn.Module):
    """The same two-layer MLP at every position: ``dense2(relu(dense1(X)))``, the last axis of ``X`` becoming
    ``ffn_num_outputs`` wide (lazy layers: the input size comes from the first batch)."""

    def __init__(self, ffn_num_hiddens, ffn_num_outputs):
        super().__init__()
        core.check_arguments(self, ffn_num_hiddens=ffn_num_hiddens, ffn_num_outputs=ffn_num_outputs)
        self.dense1 = nn.LazyLinear(ffn_num_hiddens)
        self.relu = nn.ReLU()
        self.dense2 = nn.LazyLinear(ffn_num_outputs)

    def forward(self, X):
        return self.dense2(self.relu(self.dense1(X)))


class AddNorm(core.AddNormSteps, nn.Module):
    """The residual connection followed by layer normalization: ``ln(dropout(Y) + X)``, ``Y`` a sublayer's output
    and ``X`` its input, of the same shape; ``norm_shape`` is ``nn.LayerNorm``'s (the last axis's size)."""

    def __init__(self, norm_shape, dropout):
        super().__init__()
        core.check_arguments(self, dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(norm_shape)


class TransformerEncoderBlock(core.EncoderBlockSteps, nn.Module):
    """The Transformer encoder block (see ``d2lx.transformer.EncoderBlockSteps``): ``forward(X, valid_lens)`` keeps
    the shape of ``X`` (batch_size, num_steps, num_hiddens)."""

    def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, use_bias=False):
        super().__init__()
        self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout, use_bias)
        self.addnorm1 = AddNorm(num_hiddens, dropout)
        self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
        self.addnorm2 = AddNorm(num_hiddens, dropout)


class TransformerEncoder(core.EncoderSteps, Encoder):
    """The Transformer encoder, ``num_blks`` encoder blocks over the embedded, position-encoded tokens (see
    ``d2lx.transformer.EncoderSteps``); ``attention_weights`` holds each block's after a forward pass."""

    def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout, use_bias=False):
        super().__init__()
        core.check_arguments(self, vocab_size=vocab_size, num_blks=num_blks)
        self.num_hiddens = num_hiddens
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for i in range(num_blks):
            self.blks.add_module(
                f"block{i}", TransformerEncoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout, use_bias)
            )
