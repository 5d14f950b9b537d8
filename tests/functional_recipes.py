"""The 2.0 edition's chapter-3 and chapter-6 cells for each framework, as the tests of ``test_functional.py`` run them.

The models are the learner's code (parameters made by hand, a framework's own
layers), so they differ per framework; what the tests check about them does not.
Each recipe imports its framework only when called.

Chapter 6: ``fixed_linear(d2l, W)`` is a net computing ``flatten(X) @ W`` (the arguments of
``evaluate_accuracy_gpu`` before ``data_iter``); ``linear_ch6(d2l, num_classes)`` gives the arguments of
``train_ch6`` before the data, and a function from what ``train_ch6`` returned to the arguments of
``evaluate_accuracy_gpu`` for the trained net.
"""

from __future__ import annotations

from helpers import backend_name, per_backend


class Torch:
    backend = "torch"

    @staticmethod
    def linreg_scratch(d2l, features, labels, batch_size, lr, num_epochs):
        import torch

        w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        for _ in range(num_epochs):
            for X, y in d2l.data_iter(batch_size, features, labels):
                l = d2l.squared_loss(d2l.linreg(X, w, b), y)
                l.sum().backward()
                d2l.sgd([w, b], lr, batch_size)
        return w, b

    @staticmethod
    def softmax_scratch(d2l, train_iter, test_iter, num_epochs, lr):
        import torch

        W = torch.normal(0, 0.01, size=(784, 10), requires_grad=True)
        b = torch.zeros(10, requires_grad=True)

        def net(X):
            X_exp = torch.exp(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)
            return X_exp / X_exp.sum(1, keepdim=True)

        def cross_entropy(y_hat, y):
            return -torch.log(y_hat[range(len(y_hat)), y])

        d2l.train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, lambda n: d2l.sgd([W, b], lr, n))
        return d2l.evaluate_accuracy(net, test_iter), (net,)

    @staticmethod
    def softmax_concise(d2l, train_iter, test_iter, num_epochs, lr):
        import torch
        from torch import nn

        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        nn.init.normal_(net[1].weight, std=0.01)
        loss = nn.CrossEntropyLoss(reduction="none")
        d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, torch.optim.SGD(net.parameters(), lr=lr))
        return d2l.evaluate_accuracy(net, test_iter), (net,)

    @staticmethod
    def linear_net(d2l, w, b):
        return (lambda X: d2l.linreg(X, w, b),)

    @staticmethod
    def fixed_linear(d2l, W):
        import torch
        from torch import nn

        net = nn.Sequential(nn.Flatten(), nn.Linear(W.shape[0], W.shape[1], bias=False))
        with torch.no_grad():
            net[1].weight.copy_(torch.tensor(W.T))
        return (net,)

    @staticmethod
    def linear_ch6(d2l, num_inputs, num_classes):
        from torch import nn

        net = nn.Sequential(nn.Flatten(), nn.Linear(num_inputs, num_classes))
        return (net,), lambda returned: (net,)


class MXNet:
    backend = "mxnet"

    @staticmethod
    def linreg_scratch(d2l, features, labels, batch_size, lr, num_epochs):
        from mxnet import autograd, np

        w = np.random.normal(0, 0.01, (2, 1))
        b = np.zeros(1)
        w.attach_grad()
        b.attach_grad()
        for _ in range(num_epochs):
            for X, y in d2l.data_iter(batch_size, features, labels):
                with autograd.record():
                    l = d2l.squared_loss(d2l.linreg(X, w, b), y)
                l.backward()
                d2l.sgd([w, b], lr, batch_size)
        return w, b

    @staticmethod
    def softmax_scratch(d2l, train_iter, test_iter, num_epochs, lr):
        from mxnet import np

        W = np.random.normal(0, 0.01, (784, 10))
        b = np.zeros(10)
        W.attach_grad()
        b.attach_grad()

        def net(X):
            X_exp = np.exp(np.dot(X.reshape((-1, W.shape[0])), W) + b)
            return X_exp / X_exp.sum(1, keepdims=True)

        def cross_entropy(y_hat, y):
            return -np.log(y_hat[range(len(y_hat)), y])

        d2l.train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, lambda n: d2l.sgd([W, b], lr, n))
        return d2l.evaluate_accuracy(net, test_iter), (net,)

    @staticmethod
    def softmax_concise(d2l, train_iter, test_iter, num_epochs, lr):
        from mxnet import gluon, init
        from mxnet.gluon import nn

        net = nn.Sequential()
        net.add(nn.Dense(10))
        net.initialize(init.Normal(sigma=0.01))
        loss = gluon.loss.SoftmaxCrossEntropyLoss()
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
        d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)
        return d2l.evaluate_accuracy(net, test_iter), (net,)

    linear_net = Torch.linear_net

    @staticmethod
    def fixed_linear(d2l, W):
        from mxnet import init, np
        from mxnet.gluon import nn

        net = nn.Dense(W.shape[1], in_units=W.shape[0], use_bias=False)
        net.initialize(init.Zero())
        net.weight.set_data(np.array(W.T))
        return (net,)

    @staticmethod
    def linear_ch6(d2l, num_inputs, num_classes):
        from mxnet.gluon import nn

        net = nn.Sequential()
        net.add(nn.Dense(num_classes))
        return (net,), lambda returned: (net,)


class TensorFlow:
    backend = "tensorflow"

    @staticmethod
    def linreg_scratch(d2l, features, labels, batch_size, lr, num_epochs):
        import tensorflow as tf

        w = tf.Variable(tf.random.normal(shape=(2, 1), mean=0, stddev=0.01), trainable=True)
        b = tf.Variable(tf.zeros(1), trainable=True)
        for _ in range(num_epochs):
            for X, y in d2l.data_iter(batch_size, features, labels):
                with tf.GradientTape() as g:
                    l = d2l.squared_loss(d2l.linreg(X, w, b), y)
                d2l.sgd([w, b], g.gradient(l, [w, b]), lr, batch_size)
        return w, b

    @staticmethod
    def softmax_scratch(d2l, train_iter, test_iter, num_epochs, lr):
        import tensorflow as tf

        W = tf.Variable(tf.random.normal(shape=(784, 10), mean=0, stddev=0.01))
        b = tf.Variable(tf.zeros(10))

        def net(X):
            X_exp = tf.exp(tf.matmul(tf.reshape(X, (-1, W.shape[0])), W) + b)
            return X_exp / tf.reduce_sum(X_exp, 1, keepdims=True)

        def cross_entropy(y_hat, y):
            return -tf.math.log(tf.boolean_mask(y_hat, tf.one_hot(y, depth=y_hat.shape[-1])))

        d2l.train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, d2l.Updater([W, b], lr=lr))
        return d2l.evaluate_accuracy(net, test_iter), (net,)

    @staticmethod
    def softmax_concise(d2l, train_iter, test_iter, num_epochs, lr):
        import tensorflow as tf

        dense = tf.keras.layers.Dense(10, kernel_initializer=tf.keras.initializers.RandomNormal(mean=0.0, stddev=0.01))
        net = tf.keras.Sequential([tf.keras.layers.Flatten(), dense])
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, tf.keras.optimizers.SGD(learning_rate=lr))
        return d2l.evaluate_accuracy(net, test_iter), (net,)

    linear_net = Torch.linear_net

    @staticmethod
    def fixed_linear(d2l, W):
        import tensorflow as tf

        dense = tf.keras.layers.Dense(W.shape[1], use_bias=False, kernel_initializer=tf.keras.initializers.Constant(W))
        return (tf.keras.Sequential([tf.keras.layers.Flatten(), dense]),)

    @staticmethod
    def linear_ch6(d2l, num_inputs, num_classes):
        import tensorflow as tf

        def net():  # the book's TensorFlow train_ch6 takes a function that builds the model
            return tf.keras.models.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(num_classes)])

        return (net,), lambda returned: (returned,)


class JAX:
    """No 2.0 edition: the net is a function of its parameters, and updaters return new parameters."""

    backend = "jax"

    @staticmethod
    def linreg_scratch(d2l, features, labels, batch_size, lr, num_epochs):
        import jax
        from jax import numpy as jnp

        def loss(params, X, y):
            return d2l.squared_loss(d2l.linreg(X, *params), y).sum()

        grad = jax.jit(jax.grad(loss))
        params = [d2l.normal(0, 0.01, (2, 1)), jnp.zeros(1)]
        for _ in range(num_epochs):
            for X, y in d2l.data_iter(batch_size, features, labels):
                params = d2l.sgd(params, grad(params, X, y), lr, batch_size)
        return tuple(params)

    @staticmethod
    def softmax_scratch(d2l, train_iter, test_iter, num_epochs, lr):
        from jax import numpy as jnp

        def net(params, X):
            W, b = params
            X_exp = jnp.exp(jnp.matmul(X.reshape((-1, W.shape[0])), W) + b)
            return X_exp / X_exp.sum(1, keepdims=True)

        def cross_entropy(y_hat, y):
            return -jnp.log(y_hat[jnp.arange(len(y_hat)), y])

        params = [d2l.normal(0, 0.01, (784, 10)), jnp.zeros(10)]
        updater = lambda params, grads, batch_size: d2l.sgd(params, grads, lr, batch_size)
        params = d2l.train_ch3(net, params, train_iter, test_iter, cross_entropy, num_epochs, updater)
        return d2l.evaluate_accuracy(net, params, test_iter), (net, params)

    @staticmethod
    def softmax_concise(d2l, train_iter, test_iter, num_epochs, lr):
        import optax
        from flax import linen as nn
        from jax import numpy as jnp

        dense = nn.Dense(10, kernel_init=nn.initializers.normal(0.01))
        model = nn.Sequential([lambda X: X.reshape((X.shape[0], -1)), dense])
        params = model.init(d2l.get_key(), jnp.zeros((1, 28, 28, 1)))
        loss = optax.softmax_cross_entropy_with_integer_labels
        params = d2l.train_ch3(model.apply, params, train_iter, test_iter, loss, num_epochs, optax.sgd(lr))
        return d2l.evaluate_accuracy(model.apply, params, test_iter), (model.apply, params)

    @staticmethod
    def linear_net(d2l, w, b):
        return (lambda params, X: d2l.linreg(X, *params), [w, b])

    @staticmethod
    def fixed_linear(d2l, W):
        from jax import numpy as jnp

        return (lambda params, X: X.reshape((X.shape[0], -1)) @ params[0], [jnp.array(W)])

    @staticmethod
    def linear_ch6(d2l, num_inputs, num_classes):
        from flax import linen as nn
        from jax import numpy as jnp

        model = nn.Sequential([lambda X: X.reshape((X.shape[0], -1)), nn.Dense(num_classes)])
        params = model.init(d2l.get_key(), jnp.zeros((1, num_inputs)))
        return (model.apply, params), lambda returned: (model.apply, returned)


RECIPES = per_backend(Torch, MXNet, JAX, TensorFlow)


def recipe(backend):
    """The recipes of ``backend`` (the imported ``d2lx.<name>`` module)."""
    return RECIPES[backend_name(backend)]
