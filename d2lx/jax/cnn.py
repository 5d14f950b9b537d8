"""Convolutional networks for JAX (the 1.0 edition's chapter 7): ``LeNet``.

``corr2d`` is the core's (``d2lx.cnn``). As in the book's JAX code, images are NHWC, the
layers take ``kernel_init`` (Xavier uniform), and hyperparameters are dataclass fields.
``_set_parameters`` makes a LeNet start from the core's numpy-drawn weights
(``d2lx.cnn.lenet_parameters``), converted to Flax's channels-last layout.
"""

from __future__ import annotations

import re
from types import FunctionType

import jax
from flax import linen as nn
from flax import traverse_util
from jax import numpy as jnp

from d2lx import cnn
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


def _set_parameters(model, params: list, X):
    """Make ``model`` start from the channels-first numpy ``params`` (converted with ``d2lx.cnn.channels_last``).

    A Flax model holds no parameters: here its ``apply_init``, which the ``Trainer`` calls to draw
    them, returns these instead, for the layers with a kernel in the order of the forward pass
    (``nn.Sequential`` names them ``layers_<i>``). The shapes come from tracing ``model.init`` on
    ``X``, without running it. Returns the model bound to the parameters, callable on ``X``.
    """
    shapes = traverse_util.flatten_dict(jax.eval_shape(model.init, jax.random.key(0), X)["params"])
    layers = sorted({path[:-1] for path in shapes if path[-1] == "kernel"}, key=_natural_order)
    params = cnn.channels_last(params)
    cnn.matching_parameters(model, [tuple(shapes[(*layer, "kernel")].shape) for layer in layers], params)
    chosen = {}
    for layer, (weight, bias) in zip(layers, params):
        chosen[(*layer, "kernel")], chosen[(*layer, "bias")] = jnp.asarray(weight), jnp.asarray(bias)
    variables = {"params": traverse_util.unflatten_dict(chosen)}
    object.__setattr__(model, "apply_init", lambda dummy_input, key, init=None: variables)
    return model.bind(variables)


def _natural_order(path: tuple[str, ...]) -> list:
    """A sort key that puts ``layers_2`` before ``layers_11``."""
    return [int(part) if part.isdigit() else part for name in path for part in re.split(r"(\d+)", name)]
