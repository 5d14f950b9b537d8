"""Linear and softmax regression for TensorFlow, from scratch (``tf.Variable``) and with Keras layers."""

from __future__ import annotations

import tensorflow as tf

from d2lx import models as core
from d2lx.kaggle_house import make_k_fold
from d2lx.module import RemembersInputFeatures
from d2lx.tensorflow import ops
from d2lx.tensorflow.module import Classifier, Module
from d2lx.tensorflow.optim import SGD
from d2lx.utils import seeded_normal


def normal_variable(shape: tuple[int, ...], sigma: float) -> tf.Variable:
    """``N(0, sigma)`` values: from d2lx's seeded stream after ``set_seed``, else from TensorFlow."""
    values = seeded_normal(shape, sigma)
    return tf.Variable(tf.random.normal(shape, mean=0, stddev=sigma) if values is None else values)


class SeededRandomNormal(tf.keras.initializers.RandomNormal):
    """Keras's ``RandomNormal(stddev=...)``, drawing from d2lx's seeded stream after ``set_seed``
    (so every backend starts from the same numbers)."""

    def __call__(self, shape, dtype=None):
        values = seeded_normal(tuple(shape), self.stddev)
        return super().__call__(shape, dtype) if values is None else tf.constant(values, dtype=dtype or "float32")


class _Scratch:
    """What the scratch models take from TensorFlow (see ``d2lx.models.ScratchParameters``): bare
    ``tf.Variable``s, which d2lx's ``Module`` finds in its attributes and counts in ``trainable_variables``."""

    _ops = ops
    _normal = staticmethod(normal_variable)
    _parameter = tf.Variable


class LinearRegressionScratch(_Scratch, core.LinearRegressionScratchSteps, Module):
    """``y = Xw + b`` (see ``d2lx.models.LinearRegressionScratchSteps``); TensorFlow's part: the scratch
    ``SGD`` takes only ``lr`` (the trainer hands it the model's variables), and ``get_w_b`` returns them."""

    def configure_optimizers(self):
        return SGD(self.lr)

    def get_w_b(self):
        return self.w, self.b


class LinearRegression(RemembersInputFeatures, Module):
    """The concise version: ``Dense(1)`` initialised N(0, 0.01), ``MeanSquaredError``, Keras's ``SGD``."""

    def __init__(self, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.layers.Dense(1, kernel_initializer=SeededRandomNormal(stddev=0.01))

    def loss(self, y_hat, y):
        return tf.keras.losses.MeanSquaredError()(y, y_hat)

    def configure_optimizers(self):
        return tf.keras.optimizers.SGD(float(self.lr))  # Keras 3 refuses an int lr (the book: lr=1)

    def get_w_b(self):
        """``(kernel, bias)`` of the ``Dense`` layer, as numpy arrays (once the model has seen data)."""
        w, b = self.get_weights()
        return w, b


k_fold = make_k_fold(LinearRegression)


def softmax(X):
    """Row-wise softmax; subtracting the row maximum keeps ``exp`` from overflowing."""
    X_exp = tf.exp(X - tf.reduce_max(X, axis=1, keepdims=True))
    return X_exp / tf.reduce_sum(X_exp, axis=1, keepdims=True)


def cross_entropy(y_hat, y):
    """Mean negative log-probability of the true classes, for probabilities ``y_hat``."""
    return -tf.reduce_mean(tf.math.log(tf.gather(y_hat, y, axis=1, batch_dims=1)))


class SoftmaxRegressionScratch(_Scratch, core.SoftmaxRegressionScratchSteps, Classifier):
    """``softmax(XW + b)`` on flattened images, trained with the scratch ``SGD`` (constructor, ``forward`` and
    ``loss``: see ``d2lx.models.SoftmaxRegressionScratchSteps``)."""

    _softmax = staticmethod(softmax)
    _cross_entropy = staticmethod(cross_entropy)

    def parameters(self):
        return [self.W, self.b]

    def configure_optimizers(self):
        return SGD(self.lr)


class SoftmaxRegression(RemembersInputFeatures, Classifier):
    """The concise version: ``Flatten`` then ``Dense(num_outputs)``, cross-entropy on logits."""

    def __init__(self, num_outputs: int, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(num_outputs)])
