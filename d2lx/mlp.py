"""The backend-free halves of the scratch MLP and the weight-decay models (the 1.0 edition's sections 5.2, 3.7).

``MLPScratch`` (section 5.2) is one hidden layer of ReLU units with its parameters written out: its
constructor and ``forward`` read the same on every framework once the framework's calls are named
(``MLPScratchSteps``, on ``d2lx.models.ScratchParameters``); a backend gives its ``relu``.

``DropoutMLPScratch`` (section 5.6) makes its three dense layers in each framework's own classes, but
its ``forward`` reads the same everywhere: ``DropoutMLPScratchSteps``, given the framework's flatten,
ReLU, dropout and training test.

``WeightDecayScratch`` reads the same on every framework whose models are
called as ``model(X)`` and keep ``w`` as an attribute: linear regression from
scratch whose loss adds ``lambd * l2_penalty(w)``. A backend mixes it in
before its ``LinearRegressionScratch``. ``l2_penalty`` is written here for the
frameworks whose tensors have ``.sum()`` (TensorFlow names its own).
``WeightDecay`` shares only its constructor: how the decay reaches the weight
is the framework's (optimizer groups, ``wd_mult``, a Keras regulariser). JAX,
whose models are dataclasses taking parameters explicitly, writes both itself.

The concise ``MLP`` and ``DropoutMLP`` (sections 5.2 and 5.6) are one network
on every framework: flatten, hidden layers with ReLU (each followed by dropout
in ``DropoutMLP``), a linear output layer. Their constructors are written here
(``MLPBase``, ``DropoutMLPBase``); a backend supplies only ``_relu_stack``, the
layers in its framework's own classes. JAX's Flax models write both themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from d2lx import checks
from d2lx.models import ScratchParameters
from d2lx.module import RemembersInputFeatures

# One hidden layer of a concise MLP: its width and the dropout probability after it (None: no dropout).
HiddenLayer = tuple[int, "float | None"]


class MLPScratchSteps(ScratchParameters):
    """``MLPScratch(num_inputs, num_outputs, num_hiddens, lr, sigma=0.01)``: ``relu(X W1 + b1) W2 + b2`` on
    flattened images, weights ``N(0, sigma)``, biases zero. Mixed in before a backend's ``Classifier``; the
    backend gives ``_relu`` (its ``relu``). On JAX, whose ``setup`` draws the parameters, only ``forward``."""

    _relu: Callable[[Any], Any]

    def __init__(self, num_inputs, num_outputs, num_hiddens, lr, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W1 = self._normal((num_inputs, num_hiddens), sigma)
        self.b1 = self._zeros(num_hiddens)
        self.W2 = self._normal((num_hiddens, num_outputs), sigma)
        self.b2 = self._zeros(num_outputs)

    def forward(self, X):
        checks.matching_features(self, self.num_inputs, X.shape)
        ops = self._ops
        H = self._relu(ops.matmul(ops.reshape(X, (-1, self.num_inputs)), self.W1) + self.b1)
        return ops.matmul(H, self.W2) + self.b2


def _identity(X):
    return X


def _flatten_batch(X):
    return X.reshape((X.shape[0], -1))


class DropoutMLPScratchSteps:
    """``DropoutMLPScratch``'s ``forward``, mixed in before a backend's ``Classifier``, whose constructor makes
    the dense layers ``lin1``, ``lin2`` and ``lin3``: the images flattened, two hidden layers, each
    ``relu(lin(H))`` and then, in training only, ``dropout_layer`` with its probability (``dropout_1``,
    ``dropout_2``), then ``lin3``'s scores. The backend gives:

    * ``_dropout(H, dropout)``: its ``dropout_layer`` (JAX: a method that draws the mask's key);
    * ``_relu``: its ReLU, where the dense layers do not apply their own (MXNet's and Keras's do: the
      default is the identity);
    * ``_flatten``, optional: (batch, ...) to (batch, features) (default: ``X.reshape((X.shape[0], -1))``);
    * ``_training()``, optional: whether the model trains (default: its ``training`` flag).
    """

    _dropout: Callable[[Any, float], Any]
    _relu: Callable[[Any], Any] = staticmethod(_identity)
    _flatten: Callable[[Any], Any] = staticmethod(_flatten_batch)

    def _training(self) -> bool:
        return self.training

    def forward(self, X):
        H1 = self._hidden(self.lin1, self._flatten(X), self.dropout_1)
        H2 = self._hidden(self.lin2, H1, self.dropout_2)
        return self.lin3(H2)

    def _hidden(self, layer, X, dropout):
        H = self._relu(layer(X))
        return self._dropout(H, dropout) if self._training() else H


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


class MLPBase(RemembersInputFeatures):
    """``MLP(num_outputs, num_hiddens, lr)``: mixed in before a backend's ``Classifier``, whose
    ``_relu_stack(num_outputs, hidden)`` makes ``self.net`` (the input size comes from the first batch)."""

    _relu_stack: Callable[[int, Sequence[HiddenLayer]], Any]

    def __init__(self, num_outputs, num_hiddens, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = self._relu_stack(num_outputs, [(num_hiddens, None)])


class DropoutMLPBase(RemembersInputFeatures):
    """``DropoutMLP(num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr)``: ``MLPBase``'s
    network with two hidden layers, each followed by the framework's dropout layer (active in training only)."""

    _relu_stack: Callable[[int, Sequence[HiddenLayer]], Any]

    def __init__(self, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = self._relu_stack(num_outputs, [(num_hiddens_1, dropout_1), (num_hiddens_2, dropout_2)])
