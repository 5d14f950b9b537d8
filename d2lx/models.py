"""The scratch models' framework-free parts (1.0 edition, sections 3.4 and 4.4, and chapter 9's RNN).

A model "from scratch" holds its weights as bare trainable tensors, drawn ``N(0, sigma)``, and its
biases as zeros; its ``forward`` is a few matrix products. That reads the same on every framework once
the framework's calls are named: ``ScratchParameters`` says what a backend gives (its ``ops`` module, the
book's ``d2l.matmul``, ``d2l.reshape``..., and how it makes a trainable tensor), and the mixins here
(``LinearRegressionScratchSteps``, ``SoftmaxRegressionScratchSteps``; ``d2lx.mlp.MLPScratchSteps``,
``d2lx.rnn.RNNScratchSteps``) write the constructor and ``forward`` once with them.

What differs stays in the backend: how the optimizer finds the parameters (``SGD([w, b], lr)`` or
TensorFlow's ``SGD(lr)``), ``get_w_b``, and ``softmax`` and ``cross_entropy``, which the book writes in
each framework's calls. On JAX the models are Flax dataclasses whose ``setup`` names and draws the
parameters, and only ``forward`` comes from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from d2lx import checks


class ScratchParameters:
    """What the scratch mixins take from a backend (a class attribute each): its ``ops`` module (``_ops``),
    and, where the model holds its parameters (PyTorch, MXNet, TensorFlow), ``_normal(shape, sigma)``, an
    ``N(0, sigma)`` parameter from d2lx's seeded stream, and ``_parameter``, which makes a tensor trainable
    (``nn.Parameter``, ``tf.Variable``). A backend whose parameters are made otherwise (MXNet's
    ``attach_grad()``) gives its own ``_zeros``."""

    _ops: Any
    _normal: Callable[[tuple, float], Any]
    _parameter: Callable[[Any], Any]

    def _zeros(self, size: int) -> Any:
        """A trainable vector of ``size`` zeros (a bias)."""
        return self._parameter(self._ops.zeros(size))


class LinearRegressionScratchSteps(ScratchParameters):
    """``LinearRegressionScratch(num_inputs, lr, sigma=0.01)``: ``y = Xw + b``, ``w ~ N(0, sigma)``, ``b = 0``,
    with the squared loss halved. Mixed in before a backend's ``Module``, which adds the optimizer."""

    def __init__(self, num_inputs, lr, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.w = self._normal((num_inputs, 1), sigma)
        self.b = self._zeros(1)

    def forward(self, X):
        checks.matching_features(self, self.num_inputs, X.shape)
        return self._ops.matmul(X, self.w) + self.b

    def loss(self, y_hat, y):
        return self._ops.reduce_mean((y_hat - y) ** 2 / 2)


class SoftmaxRegressionScratchSteps(ScratchParameters):
    """``SoftmaxRegressionScratch(num_inputs, num_outputs, lr, sigma=0.01)``: ``softmax(XW + b)`` on flattened
    images, scored by cross-entropy. The backend gives ``_softmax`` and ``_cross_entropy`` (its own
    ``softmax`` and ``cross_entropy``, as the book writes them in the framework's calls)."""

    _softmax: Callable[[Any], Any]
    _cross_entropy: Callable[[Any, Any], Any]

    def __init__(self, num_inputs, num_outputs, lr, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W = self._normal((num_inputs, num_outputs), sigma)
        self.b = self._zeros(num_outputs)

    def forward(self, X):
        checks.matching_features(self, self.num_inputs, X.shape)
        ops = self._ops
        return self._softmax(ops.matmul(ops.reshape(X, (-1, self.num_inputs)), self.W) + self.b)

    def loss(self, y_hat, y):
        return self._cross_entropy(y_hat, y)
