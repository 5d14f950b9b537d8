"""The backend-free halves of the weight-decay models (the 1.0 edition's section 3.7).

``WeightDecayScratch`` reads the same on every framework whose models are
called as ``model(X)`` and keep ``w`` as an attribute: linear regression from
scratch whose loss adds ``lambd * l2_penalty(w)``. A backend mixes it in
before its ``LinearRegressionScratch``. ``l2_penalty`` is written here for the
frameworks whose tensors have ``.sum()`` (TensorFlow names its own).
``WeightDecay`` shares only its constructor: how the decay reaches the weight
is the framework's (optimizer groups, ``wd_mult``, a Keras regulariser). JAX,
whose models are dataclasses taking parameters explicitly, writes both itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def l2_penalty(w):
    """Half the squared L2 norm of ``w`` (a tensor with ``.sum()``: torch, MXNet, JAX, numpy)."""
    return (w**2).sum() / 2


class WeightDecayScratchBase:
    """``WeightDecayScratch(num_inputs, lambd, lr, sigma=0.01)``: the penalty is on ``w`` only, not ``b``."""

    _l2_penalty: Callable[[Any], Any] = staticmethod(l2_penalty)  # TensorFlow names its own

    def __init__(self, num_inputs, lambd, lr, sigma=0.01):
        super().__init__(num_inputs, lr, sigma)
        self.save_hyperparameters()

    def loss(self, y_hat, y):
        return super().loss(y_hat, y) + self.lambd * self._l2_penalty(self.w)


class WeightDecayBase:
    """``WeightDecay(wd, lr)``: mixed in before a backend's ``LinearRegression``, which adds the decay."""

    def __init__(self, wd, lr):
        super().__init__(lr)
        self.save_hyperparameters()
