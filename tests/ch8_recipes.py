"""The 2.0 edition's chapter-8 cells for each framework (sections 8.5 and 8.6), as ``test_rnn_functional.py`` runs them.

The models are the learner's code, typed from the book: ``RNNModelScratch`` with its ``get_params``,
``init_rnn_state`` and ``rnn`` (8.5), and the framework's own recurrent layer in ``d2l.RNNModel``
(8.6). The book has no JAX version; its JAX recipe follows d2lx's JAX functional API (the
parameters explicit, as in ``model.apply(params, X, state)``). TensorFlow's concise cell drops
``time_major=True``, which Keras 3 removed (``notebooks/README.md``). Each recipe imports its
framework only when called.

A *handle* is what a recipe's ``train_ch8`` and ``predict_ch8`` take: the net (and, on JAX, its
parameters). ``clipped_step(d2l, handle, batch, lr, scale)`` runs ``train_epoch_ch8`` on the one
minibatch ``batch`` with plain SGD at ``lr`` and the cross-entropy times ``scale``, and returns the
parameters before and after as numpy arrays. ``forward(d2l, handle, X, state=None)`` is the net's
``(scores, state)`` for token indices ``X`` (from the zero state when ``state`` is None).
"""

from __future__ import annotations

from helpers import backend_name, per_backend

from d2lx.plotting import to_numpy


class Torch:
    backend = "torch"

    @staticmethod
    def scratch(d2l, vocab_size, num_hiddens):
        import torch
        from torch.nn import functional as F

        def get_params(vocab_size, num_hiddens, device):
            num_inputs = num_outputs = vocab_size

            def normal(shape):
                return torch.randn(size=shape, device=device) * 0.01

            W_xh = normal((num_inputs, num_hiddens))
            W_hh = normal((num_hiddens, num_hiddens))
            b_h = d2l.zeros(num_hiddens, device=device)
            W_hq = normal((num_hiddens, num_outputs))
            b_q = d2l.zeros(num_outputs, device=device)
            params = [W_xh, W_hh, b_h, W_hq, b_q]
            for param in params:
                param.requires_grad_(True)
            return params

        def init_rnn_state(batch_size, num_hiddens, device):
            return (d2l.zeros((batch_size, num_hiddens), device=device),)

        def rnn(inputs, state, params):
            W_xh, W_hh, b_h, W_hq, b_q = params
            (H,) = state
            outputs = []
            for X in inputs:
                H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
                Y = torch.mm(H, W_hq) + b_q
                outputs.append(Y)
            return torch.cat(outputs, dim=0), (H,)

        class RNNModelScratch:
            def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
                self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
                self.params = get_params(vocab_size, num_hiddens, device)
                self.init_state, self.forward_fn = init_state, forward_fn

            def __call__(self, X, state):
                X = F.one_hot(X.T, self.vocab_size).type(torch.float32)
                return self.forward_fn(X, state, self.params)

            def begin_state(self, batch_size, device):
                return self.init_state(batch_size, self.num_hiddens, device)

        return RNNModelScratch(vocab_size, num_hiddens, d2l.try_gpu(), get_params, init_rnn_state, rnn)

    @staticmethod
    def concise(d2l, vocab_size, num_hiddens):
        from torch import nn

        rnn_layer = nn.RNN(vocab_size, num_hiddens)
        return d2l.RNNModel(rnn_layer, vocab_size=vocab_size).to(d2l.try_gpu())

    @staticmethod
    def train_ch8(d2l, net, train_iter, vocab, lr, num_epochs, use_random_iter=False):
        d2l.train_ch8(net, train_iter, vocab, lr, num_epochs, d2l.try_gpu(), use_random_iter=use_random_iter)
        return net

    @staticmethod
    def predict_ch8(d2l, net, prefix, num_preds, vocab):
        return d2l.predict_ch8(prefix, num_preds, net, vocab, d2l.try_gpu())

    @staticmethod
    def clipped_step(d2l, net, batch, lr, scale):
        import torch
        from torch.nn import functional as F

        before = [to_numpy(p).copy() for p in net.parameters()]
        loss = lambda y_hat, y: scale * F.cross_entropy(y_hat, y, reduction="none")  # noqa: E731
        d2l.train_epoch_ch8(net, [batch], loss, torch.optim.SGD(net.parameters(), lr), d2l.try_gpu(), False)
        return before, [to_numpy(p) for p in net.parameters()]

    @staticmethod
    def forward(d2l, net, X, state=None):
        return net(X, net.begin_state(d2l.try_gpu(), batch_size=X.shape[0]) if state is None else state)


class MXNet:
    backend = "mxnet"

    @staticmethod
    def scratch(d2l, vocab_size, num_hiddens):
        from mxnet import np, npx

        def get_params(vocab_size, num_hiddens, device):
            num_inputs = num_outputs = vocab_size

            def normal(shape):
                return np.random.normal(scale=0.01, size=shape, ctx=device)

            W_xh = normal((num_inputs, num_hiddens))
            W_hh = normal((num_hiddens, num_hiddens))
            b_h = d2l.zeros(num_hiddens, ctx=device)
            W_hq = normal((num_hiddens, num_outputs))
            b_q = d2l.zeros(num_outputs, ctx=device)
            params = [W_xh, W_hh, b_h, W_hq, b_q]
            for param in params:
                param.attach_grad()
            return params

        def init_rnn_state(batch_size, num_hiddens, device):
            return (d2l.zeros((batch_size, num_hiddens), ctx=device),)

        def rnn(inputs, state, params):
            W_xh, W_hh, b_h, W_hq, b_q = params
            (H,) = state
            outputs = []
            for X in inputs:
                H = np.tanh(np.dot(X, W_xh) + np.dot(H, W_hh) + b_h)
                Y = np.dot(H, W_hq) + b_q
                outputs.append(Y)
            return np.concatenate(outputs, axis=0), (H,)

        class RNNModelScratch:
            def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
                self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
                self.params = get_params(vocab_size, num_hiddens, device)
                self.init_state, self.forward_fn = init_state, forward_fn

            def __call__(self, X, state):
                X = npx.one_hot(X.T, self.vocab_size)
                return self.forward_fn(X, state, self.params)

            def begin_state(self, batch_size, ctx):
                return self.init_state(batch_size, self.num_hiddens, ctx)

        return RNNModelScratch(vocab_size, num_hiddens, d2l.try_gpu(), get_params, init_rnn_state, rnn)

    @staticmethod
    def concise(d2l, vocab_size, num_hiddens):
        from mxnet.gluon import rnn

        rnn_layer = rnn.RNN(num_hiddens)
        rnn_layer.initialize()
        net = d2l.RNNModel(rnn_layer, vocab_size)
        net.initialize(force_reinit=True, ctx=d2l.try_gpu())
        return net

    @staticmethod
    def train_ch8(d2l, net, train_iter, vocab, lr, num_epochs, use_random_iter=False):
        d2l.train_ch8(net, train_iter, vocab, lr, num_epochs, d2l.try_gpu(), use_random_iter=use_random_iter)
        return net

    @staticmethod
    def predict_ch8(d2l, net, prefix, num_preds, vocab):
        return d2l.predict_ch8(prefix, num_preds, net, vocab, d2l.try_gpu())

    @staticmethod
    def clipped_step(d2l, net, batch, lr, scale):
        from mxnet import gluon

        X, _ = batch
        net(X, net.begin_state(batch_size=X.shape[0], ctx=d2l.try_gpu()))  # the deferred shapes
        params = lambda: [p.data() for p in net.collect_params().values()]  # noqa: E731
        before = [to_numpy(p).copy() for p in params()]
        cross_entropy = gluon.loss.SoftmaxCrossEntropyLoss()
        loss = lambda y_hat, y: scale * cross_entropy(y_hat, y)  # noqa: E731
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
        d2l.train_epoch_ch8(net, [batch], loss, trainer, d2l.try_gpu(), False)
        return before, [to_numpy(p) for p in params()]

    @staticmethod
    def forward(d2l, net, X, state=None):
        return net(X, net.begin_state(batch_size=X.shape[0], ctx=d2l.try_gpu()) if state is None else state)


class TensorFlow:
    backend = "tensorflow"

    @staticmethod
    def scratch(d2l, vocab_size, num_hiddens):
        import tensorflow as tf

        def get_params(vocab_size, num_hiddens):
            num_inputs = num_outputs = vocab_size

            def normal(shape):
                return d2l.normal(shape=shape, stddev=0.01, mean=0, dtype=tf.float32)

            W_xh = tf.Variable(normal((num_inputs, num_hiddens)), dtype=tf.float32)
            W_hh = tf.Variable(normal((num_hiddens, num_hiddens)), dtype=tf.float32)
            b_h = tf.Variable(d2l.zeros(num_hiddens), dtype=tf.float32)
            W_hq = tf.Variable(normal((num_hiddens, num_outputs)), dtype=tf.float32)
            b_q = tf.Variable(d2l.zeros(num_outputs), dtype=tf.float32)
            return [W_xh, W_hh, b_h, W_hq, b_q]

        def init_rnn_state(batch_size, num_hiddens):
            return (d2l.zeros((batch_size, num_hiddens)),)

        def rnn(inputs, state, params):
            W_xh, W_hh, b_h, W_hq, b_q = params
            (H,) = state
            outputs = []
            for X in inputs:
                X = tf.reshape(X, [-1, W_xh.shape[0]])
                H = tf.tanh(tf.matmul(X, W_xh) + tf.matmul(H, W_hh) + b_h)
                Y = tf.matmul(H, W_hq) + b_q
                outputs.append(Y)
            return d2l.concat(outputs, axis=0), (H,)

        class RNNModelScratch:
            def __init__(self, vocab_size, num_hiddens, init_state, forward_fn, get_params):
                self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
                self.init_state, self.forward_fn = init_state, forward_fn
                self.trainable_variables = get_params(vocab_size, num_hiddens)

            def __call__(self, X, state):
                X = tf.one_hot(tf.transpose(X), self.vocab_size)
                X = tf.cast(X, tf.float32)
                return self.forward_fn(X, state, self.trainable_variables)

            def begin_state(self, batch_size, *args, **kwargs):
                return self.init_state(batch_size, self.num_hiddens)

        strategy = tf.distribute.OneDeviceStrategy(d2l.try_gpu()._device_name)
        with strategy.scope():
            return RNNModelScratch(vocab_size, num_hiddens, init_rnn_state, rnn, get_params)

    @staticmethod
    def concise(d2l, vocab_size, num_hiddens):
        import tensorflow as tf

        rnn_cell = tf.keras.layers.SimpleRNNCell(num_hiddens, kernel_initializer="glorot_uniform")
        rnn_layer = tf.keras.layers.RNN(rnn_cell, return_sequences=True, return_state=True)  # no time_major
        strategy = tf.distribute.OneDeviceStrategy(d2l.try_gpu()._device_name)
        with strategy.scope():
            return d2l.RNNModel(rnn_layer, vocab_size=vocab_size)

    @staticmethod
    def train_ch8(d2l, net, train_iter, vocab, lr, num_epochs, use_random_iter=False):
        import tensorflow as tf

        strategy = tf.distribute.OneDeviceStrategy(d2l.try_gpu()._device_name)
        d2l.train_ch8(net, train_iter, vocab, lr, num_epochs, strategy, use_random_iter=use_random_iter)
        return net

    @staticmethod
    def predict_ch8(d2l, net, prefix, num_preds, vocab):
        return d2l.predict_ch8(prefix, num_preds, net, vocab)

    @staticmethod
    def clipped_step(d2l, net, batch, lr, scale):
        import tensorflow as tf

        X, _ = batch
        net(X, net.begin_state(batch_size=X.shape[0], dtype=tf.float32))  # builds the layers
        before = [to_numpy(v).copy() for v in net.trainable_variables]
        cross_entropy = tf.keras.losses.sparse_categorical_crossentropy
        loss = lambda y_hat, y: scale * cross_entropy(y, y_hat, from_logits=True)  # noqa: E731
        d2l.train_epoch_ch8(net, [batch], loss, tf.keras.optimizers.SGD(lr), False)
        return before, [to_numpy(v) for v in net.trainable_variables]

    @staticmethod
    def forward(d2l, net, X, state=None):
        return net(X, net.begin_state(batch_size=X.shape[0]) if state is None else state)


class JAX:
    """No 2.0 edition: the parameters are explicit, and ``train_ch8`` returns the trained ones."""

    backend = "jax"

    @staticmethod
    def scratch(d2l, vocab_size, num_hiddens):
        import jax
        from jax import numpy as jnp

        class RNNModelScratch:
            def __init__(self, vocab_size, num_hiddens):
                self.vocab_size, self.num_hiddens = vocab_size, num_hiddens

            def init(self):
                def normal(shape):
                    return d2l.normal(0, 0.01, shape)

                W_xh = normal((self.vocab_size, self.num_hiddens))
                W_hh = normal((self.num_hiddens, self.num_hiddens))
                W_hq = normal((self.num_hiddens, self.vocab_size))
                return [W_xh, W_hh, jnp.zeros(self.num_hiddens), W_hq, jnp.zeros(self.vocab_size)]

            def apply(self, params, X, state):
                W_xh, W_hh, b_h, W_hq, b_q = params
                (H,) = state
                outputs = []
                for X_t in jax.nn.one_hot(X.T, self.vocab_size):
                    H = jnp.tanh(X_t @ W_xh + H @ W_hh + b_h)
                    outputs.append(H @ W_hq + b_q)
                return jnp.concatenate(outputs, axis=0), (H,)

            def begin_state(self, batch_size, device=None):
                return (jnp.zeros((batch_size, self.num_hiddens)),)

        net = RNNModelScratch(vocab_size, num_hiddens)
        return net, net.init()

    @staticmethod
    def concise(d2l, vocab_size, num_hiddens):
        from flax import linen as nn
        from jax import numpy as jnp

        rnn_layer = nn.RNN(nn.SimpleCell(features=num_hiddens))
        net = d2l.RNNModel(rnn_layer, vocab_size=vocab_size)
        params = net.init(d2l.get_key(), jnp.zeros((1, 1), jnp.int32), net.begin_state(1))
        return net, params

    @staticmethod
    def train_ch8(d2l, handle, train_iter, vocab, lr, num_epochs, use_random_iter=False):
        net, params = handle
        params = d2l.train_ch8(net, params, train_iter, vocab, lr, num_epochs, d2l.try_gpu(), use_random_iter)
        return net, params

    @staticmethod
    def predict_ch8(d2l, handle, prefix, num_preds, vocab):
        net, params = handle
        return d2l.predict_ch8(prefix, num_preds, net, params, vocab, d2l.try_gpu())

    @staticmethod
    def clipped_step(d2l, handle, batch, lr, scale):
        import jax
        import optax

        net, params = handle
        loss = lambda y_hat, y: scale * optax.softmax_cross_entropy_with_integer_labels(y_hat, y)  # noqa: E731
        after, _ = d2l.train_epoch_ch8(net, params, [batch], loss, optax.sgd(lr), None, False)
        leaves = jax.tree_util.tree_leaves
        return [to_numpy(p) for p in leaves(params)], [to_numpy(p) for p in leaves(after)]

    _compiled: dict = {}

    @staticmethod
    def forward(d2l, handle, X, state=None):
        import jax

        net, params = handle
        apply = JAX._compiled.setdefault(id(net), (net, jax.jit(net.apply)))[1]  # the net kept alive with its id
        return apply(params, X, net.begin_state(X.shape[0]) if state is None else state)


RECIPES = per_backend(Torch, MXNet, JAX, TensorFlow)


def recipe(backend):
    """The chapter-8 recipes of ``backend`` (the imported ``d2lx.<name>`` module)."""
    return RECIPES[backend_name(backend)]
