"""The 2.0 edition's section 9.7 cells for each framework, as ``test_seq2seq_functional.py`` runs them.

The book defines ``Seq2SeqEncoder`` (saved into its library) and ``Seq2SeqDecoder`` (not saved) in the
chapter's text; each recipe below types them from the book for its framework and joins them with
``d2l.EncoderDecoder``, then calls ``d2l.train_seq2seq`` and ``d2l.predict_seq2seq`` with the book's
arguments. The 2.0 edition has no JAX version: the JAX recipe uses ``d2l.Seq2SeqEncoder`` and the 1.0
edition's JAX decoder (``seq2seq_book.py``), the parameters explicit, as in d2lx's JAX functional API.
Each recipe imports its framework only when called.

A *handle* is what the recipe's ``train`` and ``translate`` take: the net (and, on JAX, its parameters).
``scores(d2l, handle, X, dec_X, X_valid_len)`` is the net's decoder scores with teacher forcing, in
evaluation mode, as numpy; ``predict_step(d2l, handle, batch, num_steps)`` the 1.0 edition's greedy
decode of ``batch`` by the same net (``EncoderDecoder.predict_step``), as numpy.
"""

from __future__ import annotations

import seq2seq_book
from helpers import backend_name, per_backend

from d2lx.plotting import to_numpy


class Torch:
    backend = "torch"

    @staticmethod
    def model(d2l, src_size, tgt_size, embed_size, num_hiddens, num_layers, dropout):
        from torch import nn

        class Seq2SeqEncoder(d2l.Encoder):
            """The RNN encoder for sequence to sequence learning."""

            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
                super(Seq2SeqEncoder, self).__init__(**kwargs)
                self.embedding = nn.Embedding(vocab_size, embed_size)
                self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

            def forward(self, X, *args):
                X = self.embedding(X)
                X = X.permute(1, 0, 2)  # time steps first
                output, state = self.rnn(X)
                return output, state

        class Seq2SeqDecoder(d2l.Decoder):
            """The RNN decoder for sequence to sequence learning."""

            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
                super(Seq2SeqDecoder, self).__init__(**kwargs)
                self.embedding = nn.Embedding(vocab_size, embed_size)
                self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
                self.dense = nn.Linear(num_hiddens, vocab_size)

            def init_state(self, enc_outputs, *args):
                return enc_outputs[1]

            def forward(self, X, state):
                X = self.embedding(X).permute(1, 0, 2)
                context = state[-1].repeat(X.shape[0], 1, 1)  # the context on every step
                X_and_context = d2l.concat((X, context), 2)
                output, state = self.rnn(X_and_context, state)
                output = self.dense(output).permute(1, 0, 2)
                return output, state

        encoder = Seq2SeqEncoder(src_size, embed_size, num_hiddens, num_layers, dropout)
        decoder = Seq2SeqDecoder(tgt_size, embed_size, num_hiddens, num_layers, dropout)
        return d2l.EncoderDecoder(encoder, decoder)

    @staticmethod
    def train(d2l, net, train_iter, lr, num_epochs, tgt_vocab):
        loss = d2l.train_seq2seq(net, train_iter, lr, num_epochs, tgt_vocab, d2l.try_gpu())
        return net, loss

    @staticmethod
    def translate(d2l, net, sentence, src_vocab, tgt_vocab, num_steps, **kwargs):
        return d2l.predict_seq2seq(net, sentence, src_vocab, tgt_vocab, num_steps, d2l.try_gpu(), **kwargs)

    @staticmethod
    def predict_step(d2l, net, batch, num_steps):
        return to_numpy(net.predict_step(batch, d2l.try_gpu(), num_steps)[0])

    @staticmethod
    def scores(d2l, net, X, dec_X, X_valid_len):
        import torch

        net.eval()
        with torch.no_grad():
            return to_numpy(net(*(torch.as_tensor(a, device=d2l.try_gpu()) for a in (X, dec_X, X_valid_len))))


class MXNet(Torch):
    backend = "mxnet"

    @staticmethod
    def model(d2l, src_size, tgt_size, embed_size, num_hiddens, num_layers, dropout):
        from mxnet import np
        from mxnet.gluon import nn, rnn

        class Seq2SeqEncoder(d2l.Encoder):
            """The RNN encoder for sequence to sequence learning."""

            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
                super(Seq2SeqEncoder, self).__init__(**kwargs)
                self.embedding = nn.Embedding(vocab_size, embed_size)
                self.rnn = rnn.GRU(num_hiddens, num_layers, dropout=dropout)

            def forward(self, X, *args):
                X = self.embedding(X)
                X = X.swapaxes(0, 1)  # time steps first
                state = self.rnn.begin_state(batch_size=X.shape[1], ctx=X.ctx)
                output, state = self.rnn(X, state)
                return output, state

        class Seq2SeqDecoder(d2l.Decoder):
            """The RNN decoder for sequence to sequence learning."""

            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
                super(Seq2SeqDecoder, self).__init__(**kwargs)
                self.embedding = nn.Embedding(vocab_size, embed_size)
                self.rnn = rnn.GRU(num_hiddens, num_layers, dropout=dropout)
                self.dense = nn.Dense(vocab_size, flatten=False)

            def init_state(self, enc_outputs, *args):
                return enc_outputs[1]

            def forward(self, X, state):
                X = self.embedding(X).swapaxes(0, 1)
                context = state[0][-1]
                context = np.broadcast_to(context, (X.shape[0], context.shape[0], context.shape[1]))
                X_and_context = d2l.concat((X, context), 2)
                output, state = self.rnn(X_and_context, state)
                output = self.dense(output).swapaxes(0, 1)
                return output, state

        encoder = Seq2SeqEncoder(src_size, embed_size, num_hiddens, num_layers, dropout)
        decoder = Seq2SeqDecoder(tgt_size, embed_size, num_hiddens, num_layers, dropout)
        net = d2l.EncoderDecoder(encoder, decoder)
        net.initialize()
        return net

    @staticmethod
    def predict_step(d2l, net, batch, num_steps):
        from mxnet import np

        batch = tuple(np.array(a, ctx=d2l.try_gpu()) for a in batch)
        return to_numpy(net.predict_step(batch, d2l.try_gpu(), num_steps)[0])

    @staticmethod
    def scores(d2l, net, X, dec_X, X_valid_len):
        from mxnet import np

        return to_numpy(net(*(np.array(a, ctx=d2l.try_gpu()) for a in (X, dec_X, X_valid_len))))


class TensorFlow(Torch):
    backend = "tensorflow"

    @staticmethod
    def model(d2l, src_size, tgt_size, embed_size, num_hiddens, num_layers, dropout):
        import tensorflow as tf

        class Seq2SeqEncoder(d2l.Encoder):
            """The RNN encoder for sequence to sequence learning."""

            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
                super().__init__(*kwargs)
                self.embedding = tf.keras.layers.Embedding(vocab_size, embed_size)
                self.rnn = tf.keras.layers.RNN(
                    tf.keras.layers.StackedRNNCells(
                        [tf.keras.layers.GRUCell(num_hiddens, dropout=dropout) for _ in range(num_layers)]
                    ),
                    return_sequences=True,
                    return_state=True,
                )

            def call(self, X, *args, **kwargs):
                X = self.embedding(X)
                output = self.rnn(X, **kwargs)
                state = output[1:]
                return output[0], state

        class Seq2SeqDecoder(d2l.Decoder):
            """The RNN decoder for sequence to sequence learning."""

            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
                super().__init__(**kwargs)
                self.embedding = tf.keras.layers.Embedding(vocab_size, embed_size)
                self.rnn = tf.keras.layers.RNN(
                    tf.keras.layers.StackedRNNCells(
                        [tf.keras.layers.GRUCell(num_hiddens, dropout=dropout) for _ in range(num_layers)]
                    ),
                    return_sequences=True,
                    return_state=True,
                )
                self.dense = tf.keras.layers.Dense(vocab_size)

            def init_state(self, enc_outputs, *args):
                return enc_outputs[1]

            def call(self, X, state, **kwargs):
                X = self.embedding(X)
                # Keras 3 gives each GRU cell's state as a list of one tensor: the book's state[-1] (Keras 2)
                # is tf.nest.flatten(state)[-1] (notebooks/README.md, the drift table)
                context = tf.repeat(tf.expand_dims(tf.nest.flatten(state)[-1], axis=1), repeats=X.shape[1], axis=1)
                X_and_context = tf.concat((X, context), axis=2)
                rnn_output = self.rnn(X_and_context, state, **kwargs)
                output = self.dense(rnn_output[0])
                return output, rnn_output[1:]

        encoder = Seq2SeqEncoder(src_size, embed_size, num_hiddens, num_layers, dropout)
        decoder = Seq2SeqDecoder(tgt_size, embed_size, num_hiddens, num_layers, dropout)
        return d2l.EncoderDecoder(encoder, decoder)

    @staticmethod
    def translate(d2l, net, sentence, src_vocab, tgt_vocab, num_steps, **kwargs):
        return d2l.predict_seq2seq(net, sentence, src_vocab, tgt_vocab, num_steps, **kwargs)

    @staticmethod
    def scores(d2l, net, X, dec_X, X_valid_len):
        import tensorflow as tf

        return to_numpy(net(*(tf.constant(a) for a in (X, dec_X, X_valid_len)), training=False))


class JAX:
    backend = "jax"
    _built: dict = {}  # sizes -> (net, its initial variables)

    @staticmethod
    def model(d2l, src_size, tgt_size, embed_size, num_hiddens, num_layers, dropout):
        import jax
        from jax import numpy as jnp

        from d2lx.jax.module import _initial_variables

        Seq2SeqDecoder = seq2seq_book.JAX.decoder_class(d2l)  # the 1.0 edition's JAX cell, as test_seq2seq types it
        sizes = (src_size, tgt_size, embed_size, num_hiddens, num_layers, dropout)
        if sizes in JAX._built:  # the same net: its compiled training step and translation are reused
            net, params = JAX._built[sizes]
            return net, jax.tree_util.tree_map(lambda p: p, params)
        encoder = d2l.Seq2SeqEncoder(src_size, embed_size, num_hiddens, num_layers, dropout)
        decoder = Seq2SeqDecoder(tgt_size, embed_size, num_hiddens, num_layers, dropout)
        net = d2l.EncoderDecoder(encoder, decoder, training=False)
        X = jnp.zeros((1, 2), jnp.int32)
        JAX._built[sizes] = net, _initial_variables(net, d2l.get_key(), (X, X, jnp.array([2])))  # compiled quickly
        return JAX._built[sizes]

    @staticmethod
    def train(d2l, handle, train_iter, lr, num_epochs, tgt_vocab):
        net, params = handle
        params = d2l.train_seq2seq(net, params, train_iter, lr, num_epochs, tgt_vocab, d2l.try_gpu())
        return (net, params), None

    @staticmethod
    def translate(d2l, handle, sentence, src_vocab, tgt_vocab, num_steps, **kwargs):
        net, params = handle
        return d2l.predict_seq2seq(net, params, sentence, src_vocab, tgt_vocab, num_steps, d2l.try_gpu(), **kwargs)

    @staticmethod
    def predict_step(d2l, handle, batch, num_steps):
        net, params = handle
        return to_numpy(net.predict_step(params["params"], batch, num_steps)[0])

    @staticmethod
    def scores(d2l, handle, X, dec_X, X_valid_len):
        from jax import numpy as jnp

        net, params = handle
        return to_numpy(net.apply(params, *(jnp.asarray(a) for a in (X, dec_X, X_valid_len))))


RECIPES = per_backend(Torch, MXNet, JAX, TensorFlow)


def recipe(backend):
    """The section-9.7 recipes of ``backend`` (the imported ``d2lx.<name>`` module)."""
    return RECIPES[backend_name(backend)]
