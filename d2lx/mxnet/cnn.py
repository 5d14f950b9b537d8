"""Convolutional networks for MXNet (the 1.0 edition's chapter 7): ``LeNet``.

``corr2d`` is the core's (``d2lx.cnn``). As in the book's MXNet code, the activation is part of
each Gluon layer and the network is initialised with ``init.Xavier()``; shapes are deferred to
the first forward pass. ``_set_parameters`` gives a LeNet the core's numpy-drawn weights
(``d2lx.cnn.lenet_parameters``).
"""

from __future__ import annotations

from mxnet import init, np
from mxnet.gluon import nn

from d2lx import cnn
from d2lx.mxnet.module import Classifier


class LeNet(Classifier):
    """LeNet-5 as in the book: two sigmoid convolutions with average pooling, three dense layers."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential()
        self.net.add(
            nn.Conv2D(channels=6, kernel_size=5, padding=2, activation="sigmoid"),
            nn.AvgPool2D(pool_size=2, strides=2),
            nn.Conv2D(channels=16, kernel_size=5, activation="sigmoid"),
            nn.AvgPool2D(pool_size=2, strides=2),
            nn.Dense(120, activation="sigmoid"),
            nn.Dense(84, activation="sigmoid"),
            nn.Dense(num_classes),
        )
        self.net.initialize(init.Xavier())


def _set_parameters(model, params: list, X):
    """Give ``model``'s convolutions and dense layers, in order, the channels-first numpy ``params``.

    One pass over the batch ``X`` first gives the deferred parameters their shapes. Returns ``model``.
    """
    model(X)
    layers = [layer for layer in model.net if isinstance(layer, (nn.Conv2D, nn.Dense))]
    cnn.matching_parameters(model, [layer.weight.shape for layer in layers], params)
    for layer, (weight, bias) in zip(layers, params):
        layer.weight.set_data(np.array(weight))
        layer.bias.set_data(np.array(bias))
    return model
