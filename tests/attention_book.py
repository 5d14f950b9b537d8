"""Per-framework code of ``test_attention.py``: the attention layers run on given inputs with given weights,
and the 1.0 edition's section 11.4 cells (Bahdanau attention), typed from the book for each framework.

Each weight is given as numpy's ``x @ W`` (inputs, outputs); each class copies it into its framework's layer
(PyTorch's and MXNet's dense layers hold ``W.T``). Every method returns numpy arrays. Each class imports its
framework only when called.
"""

from __future__ import annotations

import numpy as np
from helpers import backend_name, per_backend

from d2lx.plotting import to_numpy


def _np(x) -> np.ndarray:
    return np.asarray(to_numpy(x))


class Torch:
    backend = "torch"

    @staticmethod
    def run(layer, *inputs):
        """``layer(*inputs)`` (numpy in) in evaluation mode: ``(output, attention_weights)`` as numpy."""
        import torch

        layer.eval()
        tensors = [None if x is None else torch.as_tensor(x) for x in inputs]
        with torch.no_grad():
            output = layer(*tensors)
        weights = layer.attention.attention_weights if hasattr(layer, "W_o") else layer.attention_weights
        return _np(output), _np(weights)

    @classmethod
    def dot_product(cls, d2l, queries, keys, values, valid_lens):
        return cls.run(d2l.DotProductAttention(dropout=0.5), queries, keys, values, valid_lens)

    @classmethod
    def _with_weights(cls, layer, inputs, weights: dict):
        import torch

        cls.run(layer, *inputs)  # the lazy layers learn their sizes
        with torch.no_grad():
            for name, W in weights.items():
                getattr(layer, name).weight.copy_(torch.as_tensor(np.asarray(W).T))
        return cls.run(layer, *inputs)

    @classmethod
    def additive(cls, d2l, queries, keys, values, valid_lens, W_q, W_k, w_v):
        layer = d2l.AdditiveAttention(num_hiddens=W_q.shape[1], dropout=0.1)
        return cls._with_weights(layer, (queries, keys, values, valid_lens), {"W_q": W_q, "W_k": W_k, "w_v": w_v})

    @staticmethod
    def multihead_layer(d2l, num_hiddens, num_heads, dropout=0.5):
        return d2l.MultiHeadAttention(num_hiddens, num_heads, dropout)

    @classmethod
    def multihead(cls, d2l, queries, keys, values, valid_lens, num_heads, W_q, W_k, W_v, W_o):
        layer = cls.multihead_layer(d2l, W_o.shape[1], num_heads)
        weights = {"W_q": W_q, "W_k": W_k, "W_v": W_v, "W_o": W_o}
        return cls._with_weights(layer, (queries, keys, values, valid_lens), weights)

    @staticmethod
    def tensor(d2l, x):
        return None if x is None else d2l.tensor(x)

    # --- the 1.0 edition's section 11.4 (Bahdanau attention), the book's cells ---------------------------
    @staticmethod
    def decoder_class(d2l):
        """The book's ``Seq2SeqAttentionDecoder`` cell, on ``d2l.AttentionDecoder``."""
        import torch
        from torch import nn

        class Seq2SeqAttentionDecoder(d2l.AttentionDecoder):
            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
                super().__init__()
                self.attention = d2l.AdditiveAttention(num_hiddens, dropout)
                self.embedding = nn.Embedding(vocab_size, embed_size)
                self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
                self.dense = nn.LazyLinear(vocab_size)
                self.apply(d2l.init_seq2seq)

            def init_state(self, enc_outputs, enc_valid_lens):
                # Shape of outputs: (num_steps, batch_size, num_hiddens).
                # Shape of hidden_state: (num_layers, batch_size, num_hiddens)
                outputs, hidden_state = enc_outputs
                return (outputs.permute(1, 0, 2), hidden_state, enc_valid_lens)

            def forward(self, X, state):
                # Shape of enc_outputs: (batch_size, num_steps, num_hiddens).
                # Shape of hidden_state: (num_layers, batch_size, num_hiddens)
                enc_outputs, hidden_state, enc_valid_lens = state
                # Shape of the output X: (num_steps, batch_size, embed_size)
                X = self.embedding(X).permute(1, 0, 2)
                outputs, self._attention_weights = [], []
                for x in X:
                    # Shape of query: (batch_size, 1, num_hiddens)
                    query = torch.unsqueeze(hidden_state[-1], dim=1)
                    # Shape of context: (batch_size, 1, num_hiddens)
                    context = self.attention(query, enc_outputs, enc_outputs, enc_valid_lens)
                    # Concatenate on the feature dimension
                    x = torch.cat((context, torch.unsqueeze(x, dim=1)), dim=-1)
                    # Reshape x as (1, batch_size, embed_size + num_hiddens)
                    out, hidden_state = self.rnn(x.permute(1, 0, 2), hidden_state)
                    outputs.append(out)
                    self._attention_weights.append(self.attention.attention_weights)
                # After fully connected layer transformation, shape of outputs:
                # (num_steps, batch_size, vocab_size)
                outputs = self.dense(torch.cat(outputs, dim=0))
                return outputs.permute(1, 0, 2), [enc_outputs, hidden_state, enc_valid_lens]

            @property
            def attention_weights(self):
                return self._attention_weights

        return Seq2SeqAttentionDecoder

    @staticmethod
    def shape_cell(d2l, decoder_class):
        """The book's cell testing the decoder: ``(output, state)`` for a batch of 4 x 7 zeros."""
        import torch

        vocab_size, embed_size, num_hiddens, num_layers = 10, 8, 16, 2
        batch_size, num_steps = 4, 7
        encoder = d2l.Seq2SeqEncoder(vocab_size, embed_size, num_hiddens, num_layers)
        decoder = decoder_class(vocab_size, embed_size, num_hiddens, num_layers)
        X = d2l.zeros((batch_size, num_steps), dtype=torch.long)
        state = decoder.init_state(encoder(X), None)
        output, state = decoder(X, state)
        return output, state


class MXNet(Torch):
    backend = "mxnet"

    @staticmethod
    def run(layer, *inputs):
        from mxnet import np as mnp

        if not getattr(layer, "_d2lx_initialised", False):
            layer.initialize()
            layer._d2lx_initialised = True
        output = layer(*[None if x is None else mnp.array(x) for x in inputs])
        weights = layer.attention.attention_weights if hasattr(layer, "W_o") else layer.attention_weights
        return _np(output), _np(weights)

    @classmethod
    def _with_weights(cls, layer, inputs, weights):
        from mxnet import np as mnp

        cls.run(layer, *inputs)
        for name, W in weights.items():
            getattr(layer, name).weight.set_data(mnp.array(np.asarray(W).T))
        return cls.run(layer, *inputs)

    @staticmethod
    def decoder_class(d2l):
        """The book's ``Seq2SeqAttentionDecoder`` cell, on ``d2l.AttentionDecoder``."""
        from mxnet import init, np
        from mxnet.gluon import nn, rnn

        class Seq2SeqAttentionDecoder(d2l.AttentionDecoder):
            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
                super().__init__()
                self.attention = d2l.AdditiveAttention(num_hiddens, dropout)
                self.embedding = nn.Embedding(vocab_size, embed_size)
                self.rnn = rnn.GRU(num_hiddens, num_layers, dropout=dropout)
                self.dense = nn.Dense(vocab_size, flatten=False)
                self.initialize(init.Xavier())

            def init_state(self, enc_outputs, enc_valid_lens):
                # Shape of outputs: (num_steps, batch_size, num_hiddens).
                # Shape of hidden_state: (num_layers, batch_size, num_hiddens)
                outputs, hidden_state = enc_outputs
                return (outputs.swapaxes(0, 1), hidden_state, enc_valid_lens)

            def forward(self, X, state):
                # Shape of enc_outputs: (batch_size, num_steps, num_hiddens).
                # Shape of hidden_state: (num_layers, batch_size, num_hiddens)
                enc_outputs, hidden_state, enc_valid_lens = state
                # Shape of the output X: (num_steps, batch_size, embed_size)
                X = self.embedding(X).swapaxes(0, 1)
                outputs, self._attention_weights = [], []
                for x in X:
                    # Shape of query: (batch_size, 1, num_hiddens)
                    query = np.expand_dims(hidden_state[-1], axis=1)
                    # Shape of context: (batch_size, 1, num_hiddens)
                    context = self.attention(query, enc_outputs, enc_outputs, enc_valid_lens)
                    # Concatenate on the feature dimension
                    x = np.concatenate((context, np.expand_dims(x, axis=1)), axis=-1)
                    # Reshape x as (1, batch_size, embed_size + num_hiddens)
                    out, hidden_state = self.rnn(x.swapaxes(0, 1), hidden_state)
                    hidden_state = hidden_state[0]
                    outputs.append(out)
                    self._attention_weights.append(self.attention.attention_weights)
                # After fully connected layer transformation, shape of outputs:
                # (num_steps, batch_size, vocab_size)
                outputs = self.dense(np.concatenate(outputs, axis=0))
                return outputs.swapaxes(0, 1), [enc_outputs, hidden_state, enc_valid_lens]

            @property
            def attention_weights(self):
                return self._attention_weights

        return Seq2SeqAttentionDecoder

    @staticmethod
    def shape_cell(d2l, decoder_class):
        vocab_size, embed_size, num_hiddens, num_layers = 10, 8, 16, 2
        batch_size, num_steps = 4, 7
        encoder = d2l.Seq2SeqEncoder(vocab_size, embed_size, num_hiddens, num_layers)
        decoder = decoder_class(vocab_size, embed_size, num_hiddens, num_layers)
        X = d2l.zeros((batch_size, num_steps))
        state = decoder.init_state(encoder(X), None)
        output, state = decoder(X, state)
        return output, state


class TensorFlow(Torch):
    backend = "tensorflow"

    @staticmethod
    def run(layer, *inputs):
        import tensorflow as tf

        tensors = [None if x is None else tf.constant(x) for x in inputs]
        output = layer(*tensors, training=False)
        weights = layer.attention.attention_weights if hasattr(layer, "W_o") else layer.attention_weights
        return _np(output), _np(weights)

    @classmethod
    def _with_weights(cls, layer, inputs, weights):
        cls.run(layer, *inputs)
        for name, W in weights.items():
            getattr(layer, name).kernel.assign(np.asarray(W, np.float32))
        return cls.run(layer, *inputs)

    @classmethod
    def additive(cls, d2l, queries, keys, values, valid_lens, W_q, W_k, w_v):
        layer = d2l.AdditiveAttention(keys.shape[-1], queries.shape[-1], W_q.shape[1], 0.1)
        return cls._with_weights(layer, (queries, keys, values, valid_lens), {"W_q": W_q, "W_k": W_k, "w_v": w_v})

    @staticmethod
    def multihead_layer(d2l, num_hiddens, num_heads, dropout=0.5):
        return d2l.MultiHeadAttention(6, 6, 6, num_hiddens, num_heads, dropout)  # the tests' inputs: 6 features

    @staticmethod
    def decoder_class(d2l):
        """The book's ``Seq2SeqAttentionDecoder`` cell, on ``d2l.AttentionDecoder``."""
        import tensorflow as tf

        class Seq2SeqAttentionDecoder(d2l.AttentionDecoder):
            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
                super().__init__()
                self.attention = d2l.AdditiveAttention(num_hiddens, num_hiddens, num_hiddens, dropout)
                self.embedding = tf.keras.layers.Embedding(vocab_size, embed_size)
                self.rnn = tf.keras.layers.RNN(
                    tf.keras.layers.StackedRNNCells(
                        [tf.keras.layers.GRUCell(num_hiddens, dropout=dropout) for _ in range(num_layers)]
                    ),
                    return_sequences=True,
                    return_state=True,
                )
                self.dense = tf.keras.layers.Dense(vocab_size)

            def init_state(self, enc_outputs, enc_valid_lens):
                # Shape of outputs: (batch_size, num_steps, num_hiddens).
                # Length of list hidden_state is num_layers, where the shape of its
                # element is (batch_size, num_hiddens)
                outputs, hidden_state = enc_outputs
                # d2lx: list(...), as the layers' states one by one for Keras's RNN: d2lx's encoder returns them
                # stacked, (num_layers, batch_size, num_hiddens), where d2l's TensorFlow encoder gives a list
                return (tf.transpose(outputs, (1, 0, 2)), list(hidden_state), enc_valid_lens)

            def call(self, X, state, **kwargs):
                # Shape of output enc_outputs: # (batch_size, num_steps, num_hiddens)
                # Length of list hidden_state is num_layers, where the shape of its
                # element is (batch_size, num_hiddens)
                enc_outputs, hidden_state, enc_valid_lens = state
                # Shape of the output X: (num_steps, batch_size, embed_size)
                X = self.embedding(X)  # Input X has shape: (batch_size, num_steps)
                X = tf.transpose(X, perm=(1, 0, 2))
                outputs, self._attention_weights = [], []
                for x in X:
                    # Shape of query: (batch_size, 1, num_hiddens)
                    query = tf.expand_dims(hidden_state[-1], axis=1)
                    # Shape of context: (batch_size, 1, num_hiddens)
                    context = self.attention(query, enc_outputs, enc_outputs, enc_valid_lens, **kwargs)
                    # Concatenate on the feature dimension
                    x = tf.concat((context, tf.expand_dims(x, axis=1)), axis=-1)
                    out = self.rnn(x, hidden_state, **kwargs)
                    hidden_state = out[1:]
                    outputs.append(out[0])
                    self._attention_weights.append(self.attention.attention_weights)
                # After fully connected layer transformation, shape of outputs:
                # (batch_size, num_steps, vocab_size)
                outputs = self.dense(tf.concat(outputs, axis=1))
                return outputs, [enc_outputs, hidden_state, enc_valid_lens]

            @property
            def attention_weights(self):
                return self._attention_weights

        return Seq2SeqAttentionDecoder

    @staticmethod
    def shape_cell(d2l, decoder_class):
        import tensorflow as tf

        vocab_size, embed_size, num_hiddens, num_layers = 10, 8, 16, 2
        batch_size, num_steps = 4, 7
        encoder = d2l.Seq2SeqEncoder(vocab_size, embed_size, num_hiddens, num_layers)
        decoder = decoder_class(vocab_size, embed_size, num_hiddens, num_layers)
        X = tf.zeros((batch_size, num_steps))
        state = decoder.init_state(encoder(X, training=False), None)
        output, state = decoder(X, state, training=False)
        return output, state


class JAX(Torch):
    backend = "jax"

    @staticmethod
    def run(layer, *inputs, params=None):
        """``layer`` applied with ``params`` (its own ``init``'s where None): ``(output, attention_weights)``."""
        import jax
        from jax import numpy as jnp

        arrays = [None if x is None else jnp.asarray(x) for x in inputs]
        if params is None:
            params = layer.init(jax.random.key(0), *arrays).get("params", {})
        output, weights = layer.apply({"params": params}, *arrays, training=False)
        return _np(output), _np(weights)

    @classmethod
    def _with_weights(cls, layer, inputs, weights):
        import jax
        from jax import numpy as jnp

        arrays = [None if x is None else jnp.asarray(x) for x in inputs]
        params = dict(layer.init(jax.random.key(0), *arrays)["params"])
        for name, W in weights.items():
            assert params[name]["kernel"].shape == np.shape(W)
            params[name] = {**params[name], "kernel": jnp.asarray(W, jnp.float32)}
        return cls.run(layer, *inputs, params=params)

    @staticmethod
    def decoder_class(d2l):
        """The book's JAX ``Seq2SeqAttentionDecoder`` cell, on d2lx's ``d2l.AttentionDecoder`` (the book's class
        derives from ``nn.Module``: d2l has no JAX ``AttentionDecoder``). Its ``setup`` reads the notebook's
        globals ``num_hiddens`` and ``num_layers`` (``d2l.GRU(num_hiddens, num_layers, ...)``), which hold the
        same sizes in the book's notebook; here they are the module's own fields."""
        from flax import linen as nn
        from jax import numpy as jnp

        class Seq2SeqAttentionDecoder(d2l.AttentionDecoder):
            vocab_size: int
            embed_size: int
            num_hiddens: int
            num_layers: int
            dropout: float = 0

            def setup(self):
                self.attention = d2l.AdditiveAttention(self.num_hiddens, self.dropout)
                self.embedding = nn.Embed(self.vocab_size, self.embed_size)
                self.dense = nn.Dense(self.vocab_size)
                self.rnn = d2l.GRU(self.num_hiddens, self.num_layers, dropout=self.dropout)

            def init_state(self, enc_outputs, enc_valid_lens, *args):
                # Shape of outputs: (num_steps, batch_size, num_hiddens).
                # Shape of hidden_state: (num_layers, batch_size, num_hiddens)
                outputs, hidden_state = enc_outputs
                # Attention Weights are returned as part of state; init with None
                return (outputs.transpose(1, 0, 2), hidden_state, enc_valid_lens)

            @nn.compact
            def __call__(self, X, state, training=False):
                # Shape of enc_outputs: (batch_size, num_steps, num_hiddens).
                # Shape of hidden_state: (num_layers, batch_size, num_hiddens)
                # Ignore Attention value in state
                enc_outputs, hidden_state, enc_valid_lens = state
                # Shape of the output X: (num_steps, batch_size, embed_size)
                X = self.embedding(X).transpose(1, 0, 2)
                outputs, attention_weights = [], []
                for x in X:
                    # Shape of query: (batch_size, 1, num_hiddens)
                    query = jnp.expand_dims(hidden_state[-1], axis=1)
                    # Shape of context: (batch_size, 1, num_hiddens)
                    context, attention_w = self.attention(
                        query, enc_outputs, enc_outputs, enc_valid_lens, training=training
                    )
                    # Concatenate on the feature dimension
                    x = jnp.concatenate((context, jnp.expand_dims(x, axis=1)), axis=-1)
                    # Reshape x as (1, batch_size, embed_size + num_hiddens)
                    out, hidden_state = self.rnn(x.transpose(1, 0, 2), hidden_state, training=training)
                    outputs.append(out)
                    attention_weights.append(attention_w)

                # Flax sow API is used to capture intermediate variables
                self.sow("intermediates", "dec_attention_weights", attention_weights)

                # After fully connected layer transformation, shape of outputs:
                # (num_steps, batch_size, vocab_size)
                outputs = self.dense(jnp.concatenate(outputs, axis=0))
                return outputs.transpose(1, 0, 2), [enc_outputs, hidden_state, enc_valid_lens]

        return Seq2SeqAttentionDecoder

    @staticmethod
    def shape_cell(d2l, decoder_class):
        from jax import numpy as jnp

        vocab_size, embed_size, num_hiddens, num_layers = 10, 8, 16, 2
        batch_size, num_steps = 4, 7
        encoder = d2l.Seq2SeqEncoder(vocab_size, embed_size, num_hiddens, num_layers)
        decoder = decoder_class(vocab_size, embed_size, num_hiddens, num_layers)
        X = jnp.zeros((batch_size, num_steps), dtype=jnp.int32)
        state = decoder.init_state(encoder.init_with_output(d2l.get_key(), X, training=False)[0], None)
        (output, state), _ = decoder.init_with_output(d2l.get_key(), X, state, training=False)
        return output, state


BOOKS = per_backend(Torch, MXNet, JAX, TensorFlow)


def book(d2l):
    """The per-framework code of ``d2l``'s framework (the imported ``d2lx.<name>`` module)."""
    return BOOKS[backend_name(d2l)]
