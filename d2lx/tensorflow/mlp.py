"""Multilayer perceptrons, weight decay and dropout for TensorFlow (the 1.0 edition's sections 5.2, 3.7, 5.6).

The scratch models write the layers out (``MLPScratch``'s weights come from
d2lx's seeded stream after ``set_seed``, as every backend's do); the concise
ones use Keras layers. Dropout follows ``model.training``, which the trainer
sets (True while it trains, False while it validates) and ``Module.__call__``
passes on to Keras layers such as ``Dropout``.
"""

from __future__ import annotations

import math

import tensorflow as tf

from d2lx import checks
from d2lx import mlp as core
from d2lx.tensorflow.models import LinearRegression, LinearRegressionScratch, _Scratch
from d2lx.tensorflow.module import Classifier


def relu(X):
    """``max(X, 0)``, elementwise."""
    return tf.math.maximum(X, 0)


class MLPScratch(_Scratch, core.MLPScratchSteps, Classifier):
    """One hidden layer of ``num_hiddens`` ReLU units, parameters written out; weights start ``N(0, sigma)``
    (constructor and ``forward``: see ``d2lx.mlp.MLPScratchSteps``)."""

    _relu = staticmethod(relu)


def _relu_stack(num_outputs: int, hidden: list[core.HiddenLayer]) -> tf.keras.Sequential:
    """The concise MLPs' ``self.net``: ``Flatten``, then per hidden layer a ``Dense`` with ReLU (and
    ``Dropout`` where it has a probability), then ``Dense(num_outputs)``."""
    layers = [tf.keras.layers.Flatten()]
    for num_hiddens, dropout in hidden:
        layers.append(tf.keras.layers.Dense(num_hiddens, activation="relu"))
        if dropout is not None:
            layers.append(tf.keras.layers.Dropout(dropout))
    return tf.keras.models.Sequential([*layers, tf.keras.layers.Dense(num_outputs)])


class MLP(core.MLPBase, Classifier):
    """The concise version: ``Flatten``, ``Dense(num_hiddens, activation='relu')``, ``Dense(num_outputs)``."""

    _relu_stack = staticmethod(_relu_stack)


def l2_penalty(w):
    """Half the squared L2 norm of ``w``."""
    return tf.reduce_sum(w**2) / 2


class WeightDecayScratch(core.WeightDecayScratchBase, LinearRegressionScratch):
    """Linear regression whose loss adds ``lambd * l2_penalty(w)`` (the bias is not penalised)."""

    _l2_penalty = staticmethod(l2_penalty)


class WeightDecay(core.WeightDecayBase, LinearRegression):
    """The concise version: a Keras L2 regulariser on the kernel only, added to the loss.

    Its factor is ``wd / 2`` (the penalty ``wd * l2_penalty(w)``), so that ``wd`` means what it
    means to the other backends' optimizers: each step also subtracts ``lr * wd * w``.
    """

    def __init__(self, wd, lr):
        super().__init__(wd, lr)
        self.net.kernel_regularizer = tf.keras.regularizers.L2(wd / 2)  # read when the layer is built

    def loss(self, y_hat, y):
        return super().loss(y_hat, y) + tf.add_n(self.net.losses)


def dropout_layer(X, dropout):
    """Zero each element of ``X`` with probability ``dropout`` and scale the rest by ``1 / (1 - dropout)``."""
    dropout = checks.probability("dropout", dropout)
    if dropout == 1:
        return tf.zeros_like(X)
    keep = tf.random.uniform(tf.shape(X)) >= dropout  # never false when dropout is 0
    return tf.cast(keep, X.dtype) * X / (1.0 - dropout)


def _static_flatten(X):
    """(batch, ...) to (batch, features), with a static width, which Keras's ``Dense`` needs to build."""
    return tf.reshape(X, (-1, math.prod(X.shape[1:])))


class DropoutMLPScratch(core.DropoutMLPScratchSteps, Classifier):
    """Two hidden ReLU layers (``Dense`` with ``activation='relu'``), each followed by ``dropout_layer`` while
    ``training`` (``forward``: see ``d2lx.mlp.DropoutMLPScratchSteps``)."""

    _flatten = staticmethod(_static_flatten)
    _dropout = staticmethod(dropout_layer)

    def __init__(self, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr):
        super().__init__()
        self.save_hyperparameters()
        self.lin1 = tf.keras.layers.Dense(num_hiddens_1, activation="relu")
        self.lin2 = tf.keras.layers.Dense(num_hiddens_2, activation="relu")
        self.lin3 = tf.keras.layers.Dense(num_outputs)


class DropoutMLP(core.DropoutMLPBase, Classifier):
    """The concise version: Keras's ``Dropout`` after each hidden layer, active only while ``training``."""

    _relu_stack = staticmethod(_relu_stack)
