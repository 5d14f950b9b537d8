"""Convolutional networks for JAX (the 1.0 edition's chapter 7): ``LeNet``.

``corr2d`` is the core's (``d2lx.cnn``). As in the book's JAX code, images are NHWC, the
layers take ``kernel_init`` (Xavier uniform), and hyperparameters are dataclass fields.
"""

from __future__ import annotations

from types import FunctionType

from flax import linen as nn

from d2lx.jax.module import Classifier


def _avg_pool(x):
    return nn.avg_pool(x, window_shape=(2, 2), strides=(2, 2))


def _flatten(x):
    return x.reshape((x.shape[0], -1))


class LeNet(Classifier):
    """LeNet-5 as in the book: two sigmoid convolutions with average pooling, three dense layers."""

    lr: float = 0.1
    num_classes: int = 10
    kernel_init: FunctionType = nn.initializers.xavier_uniform

    def setup(self):
        self.net = nn.Sequential(
            [
                nn.Conv(features=6, kernel_size=(5, 5), padding="SAME", kernel_init=self.kernel_init()),
                nn.sigmoid,
                _avg_pool,
                nn.Conv(features=16, kernel_size=(5, 5), padding="VALID", kernel_init=self.kernel_init()),
                nn.sigmoid,
                _avg_pool,
                _flatten,
                nn.Dense(features=120, kernel_init=self.kernel_init()),
                nn.sigmoid,
                nn.Dense(features=84, kernel_init=self.kernel_init()),
                nn.sigmoid,
                nn.Dense(features=self.num_classes, kernel_init=self.kernel_init()),
            ]
        )
