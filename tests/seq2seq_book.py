"""The 1.0 edition's section 10.7 cells for each framework, as ``test_seq2seq.py`` runs them.

The book defines ``Seq2SeqDecoder`` in the chapter's text (it is not in d2l's library), once per framework:
each class below types it from the book, with the cells that differ per framework (calling the encoder,
``predict_step``'s arguments, the loss's). ``Successor`` is a decoder of this test's own, with no
parameters: its scores pick ``(token + 1) % vocab_size``, so greedy decoding from ``b`` must give ``b + 1,
b + 2, ...``; it checks ``predict_step``'s loop without any training. Each recipe imports its framework
only when called.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from adapters import adapter
from helpers import backend_name, per_backend

from d2lx.plotting import to_numpy
from d2lx.rnn import GRU_GATES


class Torch:
    backend = "torch"

    @staticmethod
    def decoder_class(d2l):
        from torch import nn

        class Seq2SeqDecoder(d2l.Decoder):
            """The RNN decoder for sequence to sequence learning."""

            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
                super().__init__()
                self.embedding = nn.Embedding(vocab_size, embed_size)
                self.rnn = d2l.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout)
                self.dense = nn.LazyLinear(vocab_size)
                self.apply(d2l.init_seq2seq)

            def init_state(self, enc_all_outputs, *args):
                return enc_all_outputs

            def forward(self, X, state):
                embs = self.embedding(d2l.astype(d2l.transpose(X), d2l.int32))
                enc_output, hidden_state = state
                context = enc_output[-1]
                context = context.repeat(embs.shape[0], 1, 1)
                embs_and_context = d2l.concat((embs, context), -1)
                outputs, hidden_state = self.rnn(embs_and_context, hidden_state)
                outputs = d2l.swapaxes(self.dense(outputs), 0, 1)
                return outputs, [enc_output, hidden_state]

        return Seq2SeqDecoder

    @staticmethod
    def successor(d2l, vocab_size):
        import torch
        from torch.nn import functional as F

        class Echo(d2l.Encoder):
            def forward(self, X, *args):
                return X

        class Successor(d2l.Decoder):
            def init_state(self, enc_all_outputs, *args):
                return enc_all_outputs

            def forward(self, X, state):
                return F.one_hot((X.long() + 1) % vocab_size, vocab_size).type(torch.float32), state

        return Echo(), Successor()

    @staticmethod
    def encode(encoder, X):
        return encoder(X)

    @staticmethod
    def encode_with(d2l, encoder, X, table, layers):
        """``encoder(X)`` as numpy, once its embedding holds ``table`` and its GRU ``layers`` (``gru_numpy``'s
        weights, copied in by the concise RNNs' adapter)."""
        import torch

        with torch.no_grad():
            encoder.embedding.weight.copy_(torch.from_numpy(table))
        adapter(d2l).recurrent_outputs(encoder.rnn, table[X.T], layers, GRU_GATES)
        with torch.no_grad():
            return _pair(encoder(d2l.tensor(X)))

    @staticmethod
    def initialised_dense(d2l, num_inputs, num_outputs):
        """A dense layer (a lazy one, as the book's decoder's) after ``apply(init_seq2seq)`` and one pass."""
        import torch
        from torch import nn

        layer = nn.LazyLinear(num_outputs)
        nn.Sequential(layer).apply(d2l.init_seq2seq)
        layer(torch.zeros((1, num_inputs)))
        return layer.weight.detach().numpy(), layer.bias.detach().numpy()

    @staticmethod
    def decode(decoder, enc_all_outputs, X):
        state = decoder.init_state(enc_all_outputs)
        return decoder(X, state)

    @staticmethod
    def seq2seq(d2l, encoder, decoder, tgt_pad, lr):
        return d2l.Seq2Seq(encoder, decoder, tgt_pad=tgt_pad, lr=lr)

    @staticmethod
    def trainer(d2l, max_epochs):
        return d2l.Trainer(max_epochs=max_epochs, gradient_clip_val=1, num_gpus=1)

    @staticmethod
    def predict(d2l, model, trainer, batch, num_steps, **kwargs):
        return model.predict_step(batch, d2l.try_gpu(), num_steps, **kwargs)

    @staticmethod
    def loss(d2l, model, Y_hat, Y):
        return to_numpy(model.loss(d2l.tensor(Y_hat), d2l.tensor(Y)))

    book_loss = loss

    @staticmethod
    def book_loss_class(d2l):
        """The book's ``Seq2Seq`` as its cells build it: the library's class body, then the loss added by
        ``@d2l.add_to_class`` (the cell the library left out)."""
        import torch

        class Seq2Seq(d2l.EncoderDecoder):
            def __init__(self, encoder, decoder, tgt_pad, lr):
                super().__init__(encoder, decoder)
                self.save_hyperparameters()

            def configure_optimizers(self):
                return torch.optim.Adam(self.parameters(), lr=self.lr)

        @d2l.add_to_class(Seq2Seq)
        def loss(self, Y_hat, Y):
            l = super(Seq2Seq, self).loss(Y_hat, Y, averaged=False)
            mask = d2l.astype(d2l.reshape(Y, -1) != self.tgt_pad, d2l.float32)
            return d2l.reduce_sum(l * mask) / d2l.reduce_sum(mask)

        return Seq2Seq


class MXNet(Torch):
    backend = "mxnet"

    @staticmethod
    def decoder_class(d2l):
        from mxnet import init, np
        from mxnet.gluon import nn

        class Seq2SeqDecoder(d2l.Decoder):
            """The RNN decoder for sequence to sequence learning."""

            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
                super().__init__()
                self.embedding = nn.Embedding(vocab_size, embed_size)
                self.rnn = d2l.GRU(num_hiddens, num_layers, dropout)
                self.dense = nn.Dense(vocab_size, flatten=False)
                self.initialize(init.Xavier())

            def init_state(self, enc_all_outputs, *args):
                return enc_all_outputs

            def forward(self, X, state):
                embs = self.embedding(d2l.transpose(X))
                enc_output, hidden_state = state
                context = enc_output[-1]
                context = np.tile(context, (embs.shape[0], 1, 1))
                embs_and_context = d2l.concat((embs, context), -1)
                outputs, hidden_state = self.rnn(embs_and_context, hidden_state)
                outputs = d2l.swapaxes(self.dense(outputs), 0, 1)
                return outputs, [enc_output, hidden_state]

        return Seq2SeqDecoder

    @staticmethod
    def successor(d2l, vocab_size):
        from mxnet import npx

        class Echo(d2l.Encoder):
            def forward(self, X, *args):
                return X

        class Successor(d2l.Decoder):
            def init_state(self, enc_all_outputs, *args):
                return enc_all_outputs

            def forward(self, X, state):
                return npx.one_hot((X + 1) % vocab_size, vocab_size), state

        return Echo(), Successor()

    @staticmethod
    def encode_with(d2l, encoder, X, table, layers):
        from mxnet import np

        encoder.embedding.weight.set_data(np.array(table))
        adapter(d2l).recurrent_outputs(encoder.rnn, table[X.T], layers, GRU_GATES)
        return _pair(encoder(d2l.tensor(X)))

    @staticmethod
    def initialised_dense(d2l, num_inputs, num_outputs):
        from mxnet import init, np
        from mxnet.gluon import nn

        layer = nn.Dense(num_outputs)
        layer.initialize(init.Constant(7.0))
        layer.apply(d2l.init_seq2seq)
        layer(np.zeros((1, num_inputs)))
        return layer.weight.data().asnumpy(), layer.bias.data().asnumpy()

    @staticmethod
    def book_loss_class(d2l):
        from mxnet import gluon

        class Seq2Seq(d2l.EncoderDecoder):
            def __init__(self, encoder, decoder, tgt_pad, lr):
                super().__init__(encoder, decoder)
                self.save_hyperparameters()

            def configure_optimizers(self):
                return gluon.Trainer(self.parameters(), "adam", {"learning_rate": self.lr})

        @d2l.add_to_class(Seq2Seq)
        def loss(self, Y_hat, Y):
            l = super(Seq2Seq, self).loss(Y_hat, Y, averaged=False)
            mask = d2l.astype(d2l.reshape(Y, -1) != self.tgt_pad, d2l.float32)
            return d2l.reduce_sum(l * mask) / d2l.reduce_sum(mask)

        return Seq2Seq


class TensorFlow(Torch):
    backend = "tensorflow"

    @staticmethod
    def decoder_class(d2l):
        import tensorflow as tf

        class Seq2SeqDecoder(d2l.Decoder):
            """The RNN decoder for sequence to sequence learning."""

            def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
                super().__init__()
                self.embedding = tf.keras.layers.Embedding(vocab_size, embed_size)
                self.rnn = d2l.GRU(num_hiddens, num_layers, dropout)
                self.dense = tf.keras.layers.Dense(vocab_size)

            def init_state(self, enc_all_outputs, *args):
                return enc_all_outputs

            def call(self, X, state):
                embs = self.embedding(d2l.transpose(X))
                enc_output, hidden_state = state
                context = enc_output[-1]
                context = tf.tile(tf.expand_dims(context, 0), (embs.shape[0], 1, 1))
                embs_and_context = d2l.concat((embs, context), -1)
                outputs, hidden_state = self.rnn(embs_and_context, hidden_state)
                outputs = d2l.transpose(self.dense(outputs), (1, 0, 2))
                return outputs, [enc_output, hidden_state]

        return Seq2SeqDecoder

    @staticmethod
    def successor(d2l, vocab_size):
        import tensorflow as tf

        class Echo(d2l.Encoder):
            def call(self, X, *args):
                return X

        class Successor(d2l.Decoder):
            def init_state(self, enc_all_outputs, *args):
                return enc_all_outputs

            def call(self, X, state):
                return tf.one_hot((tf.cast(X, tf.int32) + 1) % vocab_size, vocab_size), state

        return Echo(), Successor()

    @staticmethod
    def encode_with(d2l, encoder, X, table, layers):
        encoder(d2l.tensor(X))  # builds the layers
        encoder.embedding.embeddings.assign(table)
        adapter(d2l).recurrent_outputs(encoder.rnn, table[X.T], layers, GRU_GATES)
        return _pair(encoder(d2l.tensor(X), training=False))

    @staticmethod
    def initialised_dense(d2l, num_inputs, num_outputs):
        import tensorflow as tf

        layer = tf.keras.layers.Dense(num_outputs, kernel_initializer="ones", bias_initializer="ones")
        d2l.init_seq2seq(layer)  # before it is built: its initializer is replaced
        layer(tf.zeros((1, num_inputs)))
        return layer.kernel.numpy().T, layer.bias.numpy()

    @staticmethod
    def trainer(d2l, max_epochs):
        return d2l.Trainer(max_epochs=max_epochs, gradient_clip_val=1)

    @staticmethod
    def book_loss_class(d2l):
        import tensorflow as tf

        class Seq2Seq(d2l.EncoderDecoder):
            def __init__(self, encoder, decoder, tgt_pad, lr):
                super().__init__(encoder, decoder)
                self.save_hyperparameters()

            def configure_optimizers(self):
                return tf.keras.optimizers.Adam(learning_rate=self.lr)

        @d2l.add_to_class(Seq2Seq)
        def loss(self, Y_hat, Y):
            l = super(Seq2Seq, self).loss(Y_hat, Y, averaged=False)
            mask = d2l.astype(d2l.reshape(Y, -1) != self.tgt_pad, d2l.float32)
            return d2l.reduce_sum(l * mask) / d2l.reduce_sum(mask)

        return Seq2Seq


class JAX:
    backend = "jax"

    @staticmethod
    def decoder_class(d2l):
        from flax import linen as nn
        from jax import numpy as jnp

        class Seq2SeqDecoder(d2l.Decoder):
            """The RNN decoder for sequence to sequence learning."""

            vocab_size: int
            embed_size: int
            num_hiddens: int
            num_layers: int
            dropout: float = 0

            def setup(self):
                self.embedding = nn.Embed(self.vocab_size, self.embed_size)
                self.rnn = d2l.GRU(self.num_hiddens, self.num_layers, self.dropout)
                self.dense = nn.Dense(self.vocab_size)

            def init_state(self, enc_all_outputs, *args):
                return enc_all_outputs

            def __call__(self, X, state, training=False):
                embs = self.embedding(d2l.astype(d2l.transpose(X), d2l.int32))
                enc_output, hidden_state = state
                context = enc_output[-1]
                context = jnp.tile(context, (embs.shape[0], 1, 1))
                embs_and_context = d2l.concat((embs, context), -1)
                outputs, hidden_state = self.rnn(embs_and_context, hidden_state, training=training)
                outputs = d2l.swapaxes(self.dense(outputs), 0, 1)
                return outputs, [enc_output, hidden_state]

        return Seq2SeqDecoder

    @staticmethod
    def successor(d2l, vocab_size):
        import jax

        class Echo(d2l.Encoder):
            def __call__(self, X, *args, training=False):
                return X

        class Successor(d2l.Decoder):
            def init_state(self, enc_all_outputs, *args):
                return enc_all_outputs

            def __call__(self, X, state, training=False):
                return jax.nn.one_hot((X + 1) % vocab_size, vocab_size), state

        return Echo(), Successor()

    @staticmethod
    def encode(encoder, X):
        import jax

        return jax.jit(encoder.init_with_output)(jax.random.key(0), X)[0]

    @staticmethod
    def encode_with(d2l, encoder, X, table, layers):
        """The adapter writes ``layers`` into the parameters ``init`` gives and applies them: here ``init`` gives
        the encoder's GRU parameters and ``apply`` keeps what was written, for the whole encoder to run on."""
        import jax
        from jax import numpy as jnp

        params = jax.jit(encoder.init)(jax.random.key(0), d2l.tensor(X))["params"]

        class Capture:
            def init(self, key, inputs):
                return {"params": params["rnn"]}

            def apply(self, variables, inputs, state):
                params["rnn"] = variables["params"]
                return jnp.zeros(1), jnp.zeros(1)

        adapter(d2l).recurrent_outputs(Capture(), table[X.T], layers, GRU_GATES)
        params["embedding"] = {"embedding": jnp.asarray(table)}
        return _pair(jax.jit(encoder.apply)({"params": params}, d2l.tensor(X)))

    @staticmethod
    def initialised_dense(d2l, num_inputs, num_outputs):
        import jax
        from jax import numpy as jnp

        params = {"dense": {"kernel": jnp.full((num_inputs, num_outputs), 7.0), "bias": jnp.ones(num_outputs)}}
        params = d2l.init_seq2seq({"params": params}, jax.random.key(3))["params"]
        return np.asarray(params["dense"]["kernel"]).T, np.asarray(params["dense"]["bias"])

    @staticmethod
    def decode(decoder, enc_all_outputs, X):
        import jax

        state = decoder.init_state(enc_all_outputs)
        (outputs, state), _ = jax.jit(decoder.init_with_output)(jax.random.key(1), X, state)
        return outputs, state

    @staticmethod
    def seq2seq(d2l, encoder, decoder, tgt_pad, lr):
        return d2l.Seq2Seq(encoder, decoder, tgt_pad=tgt_pad, lr=lr, training=True)

    @staticmethod
    def trainer(d2l, max_epochs):
        return d2l.Trainer(max_epochs=max_epochs, gradient_clip_val=1, num_gpus=1)

    @staticmethod
    def predict(d2l, model, trainer, batch, num_steps, **kwargs):
        params = trainer.state.params if trainer is not None else {"encoder": {}, "decoder": {}}
        preds, (attention_weights, _) = model.predict_step(params, batch, num_steps, **kwargs)
        return preds, attention_weights

    @staticmethod
    def loss(d2l, model, Y_hat, Y):
        """``model.loss`` as the trainer calls it, with a state whose ``apply_fn`` returns the scores ``Y_hat``."""
        from jax import numpy as jnp

        state = SimpleNamespace(
            apply_fn=lambda variables, *X, **kwargs: (jnp.asarray(Y_hat), {}), batch_stats={}, dropout_rng=None
        )
        l, _ = model.loss({}, (), jnp.asarray(Y), state)
        return to_numpy(l)

    @staticmethod
    def book_loss(d2l, model, Y_hat, Y):
        """The book's jitted loss cell, with a state (a pytree, as ``jax.jit`` needs) giving the scores ``Y_hat``."""
        import jax
        from flax import struct
        from jax import numpy as jnp

        @struct.dataclass
        class State:
            scores: jax.Array
            dropout_rng: jax.Array
            apply_fn: object = struct.field(pytree_node=False, default=None)

        state = State(jnp.asarray(Y_hat), jax.random.key(0), lambda variables, *X, **kwargs: state_scores[0])
        state_scores = [state.scores]
        l, _ = model.loss({}, (), jnp.asarray(Y), state)
        return to_numpy(l)

    @staticmethod
    def book_loss_class(d2l):
        from functools import partial

        import jax
        import optax
        from flax import linen as nn

        class Seq2Seq(d2l.EncoderDecoder):
            encoder: nn.Module
            decoder: nn.Module
            tgt_pad: int
            lr: float

            def configure_optimizers(self):
                return optax.adam(learning_rate=self.lr)

        @d2l.add_to_class(Seq2Seq)
        @partial(jax.jit, static_argnums=(0, 5))
        def loss(self, params, X, Y, state, averaged=False):
            Y_hat = state.apply_fn({"params": params}, *X, rngs={"dropout": state.dropout_rng})
            Y_hat = d2l.reshape(Y_hat, (-1, Y_hat.shape[-1]))
            Y = d2l.reshape(Y, (-1,))
            fn = optax.softmax_cross_entropy_with_integer_labels
            l = fn(Y_hat, Y)
            mask = d2l.astype(d2l.reshape(Y, -1) != self.tgt_pad, d2l.float32)
            return d2l.reduce_sum(l * mask) / d2l.reduce_sum(mask), {}

        return Seq2Seq


BOOKS = per_backend(Torch, MXNet, JAX, TensorFlow)


def book(d2l):
    """The cells of ``d2l``'s framework (the imported ``d2lx.<name>`` module)."""
    return BOOKS[backend_name(d2l)]


def as_numpy(value) -> np.ndarray:
    return np.asarray(to_numpy(value))


def _pair(result) -> tuple:
    outputs, state = result
    return np.asarray(to_numpy(outputs)), np.asarray(to_numpy(state))
