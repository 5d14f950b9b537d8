"""Convolutional networks for TensorFlow (the 1.0 edition's chapter 7): ``LeNet``.

``corr2d`` is the core's (``d2lx.cnn``). As in the book's TensorFlow code, images are NHWC,
the activation is part of each Keras layer, and weights start with Keras's default (Glorot
uniform, i.e. Xavier). ``_set_parameters`` gives a LeNet the core's numpy-drawn weights
(``d2lx.cnn.lenet_parameters``), converted to Keras's channels-last layout.
"""

from __future__ import annotations

import tensorflow as tf

from d2lx import cnn
from d2lx.tensorflow.module import Classifier


class LeNet(Classifier):
    """LeNet-5 as in the book: two sigmoid convolutions with average pooling, three dense layers."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.models.Sequential(
            [
                tf.keras.layers.Conv2D(filters=6, kernel_size=5, activation="sigmoid", padding="same"),
                tf.keras.layers.AvgPool2D(pool_size=2, strides=2),
                tf.keras.layers.Conv2D(filters=16, kernel_size=5, activation="sigmoid"),
                tf.keras.layers.AvgPool2D(pool_size=2, strides=2),
                tf.keras.layers.Flatten(),
                tf.keras.layers.Dense(120, activation="sigmoid"),
                tf.keras.layers.Dense(84, activation="sigmoid"),
                tf.keras.layers.Dense(num_classes),
            ]
        )


def _set_parameters(model, params: list, X):
    """Give ``model``'s convolutions and dense layers, in order, the channels-first numpy ``params``
    (converted with ``d2lx.cnn.channels_last``). One pass over ``X`` first builds the layers. Returns ``model``."""
    model(X)
    layers = [layer for layer in model.net.layers if isinstance(layer, (tf.keras.layers.Conv2D, tf.keras.layers.Dense))]
    params = cnn.channels_last(params)
    cnn.matching_parameters(model, [tuple(layer.kernel.shape) for layer in layers], params)
    for layer, (weight, bias) in zip(layers, params):
        layer.set_weights([weight, bias])
    return model
