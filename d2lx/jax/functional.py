"""The functional API of the book's 2.0 edition, designed for JAX (the 2.0 edition has no JAX code).

JAX arrays are immutable and gradients come from ``jax.grad`` of a function,
so the 2.0 edition's functions take the parameters explicitly, always second,
as Flax's ``model.apply(params, X)`` does:

* ``net(params, X)`` is the model: a function of its parameters (any pytree:
  a list ``[W, b]``, Flax's ``{'params': ...}``), e.g. ``model.apply``;
* ``sgd(params, grads, lr, batch_size)`` returns the updated parameters;
* ``updater`` is an Optax optimizer (``optax.sgd(0.1)``, stepped on the mean
  loss's gradients, its state kept across the epochs of one ``train_ch3``), or a
  custom ``updater(params, grads, batch_size) -> new params`` given the summed
  loss's gradients, e.g. ``lambda p, g, n: d2l.sgd(p, g, lr, n)``;
* ``train_ch3(net, params, train_iter, test_iter, loss, num_epochs, updater)``
  returns the trained parameters, ``train_epoch_ch3`` returns
  ``(params, (train_loss, train_acc))``; ``evaluate_accuracy(net, params, data_iter)``,
  ``evaluate_loss(net, params, data_iter, loss)`` and ``predict_ch3(net, params, test_iter, n=6)``.

The loss and its gradients run under ``jax.jit``, as does the net when evaluating
(a ``net`` or ``loss`` that ``jax.jit`` cannot trace runs uncompiled). The loops,
the ``Animator`` and the data functions are the shared core's (``d2lx.functional``).
"""

from __future__ import annotations

import jax
import optax

from d2lx.functional import (
    count_accuracy,
    make_data_functions,
    mean_loss,
    run_epoch,
    show_predictions,
    squared_loss,  # noqa: F401 (re-exported: the same on JAX arrays)
    train_epochs,
    updater_error,
)
from d2lx.jax.data import DataModule, FashionMNIST

synthetic_data, data_iter, load_array, load_data_fashion_mnist = make_data_functions(DataModule, FashionMNIST)


def sgd(params, grads, lr, batch_size):
    """Minibatch SGD: the parameters ``param - lr * grad / batch_size`` (same structure as ``params``)."""
    return jax.tree_util.tree_map(lambda param, grad: param - lr * grad / batch_size, params, grads)


def _maybe_compiled(function):
    """``function`` under ``jax.jit``, or as it is from the first call ``jax.jit`` cannot trace."""
    compiled = jax.jit(function)
    state = {"compile": True}

    def run(*args):
        if state["compile"]:
            try:
                return compiled(*args)
            except jax.errors.JAXTypeError:  # Python control flow on traced values and the like
                state["compile"] = False
        return function(*args)

    return run


class _OptaxUpdater:
    """An Optax optimizer as a custom updater ``(params, grads, batch_size) -> params``, keeping its state."""

    def __init__(self, optimizer: optax.GradientTransformation, params):
        self.state = optimizer.init(params)

        def update(params, state, grads, batch_size):
            grads = jax.tree_util.tree_map(lambda g: g / batch_size, grads)  # the mean loss's gradients
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state

        self._update = jax.jit(update)

    def __call__(self, params, grads, batch_size):
        params, self.state = self._update(params, self.state, grads, batch_size)
        return params


def _as_updater(updater, params):
    if isinstance(updater, optax.GradientTransformation):
        return _OptaxUpdater(updater, params)
    if callable(updater):
        return updater
    raise updater_error(updater, "an Optax optimizer such as optax.sgd(0.1) or a function (params, grads, batch_size)")


def _predictor(net, params):
    compiled = _maybe_compiled(net)
    return lambda X: compiled(params, X)


def evaluate_accuracy(net, params, data_iter) -> float:
    """The accuracy of ``net`` with ``params`` on the whole of ``data_iter``."""
    return count_accuracy(_predictor(net, params), data_iter)


def evaluate_loss(net, params, data_iter, loss) -> float:
    """The mean ``loss`` of ``net`` with ``params`` on ``data_iter`` (labels are reshaped like the outputs)."""
    return mean_loss(_predictor(net, params), data_iter, loss)


# (net, loss, their gradient function): kept, so the epochs of one training run compile once
_latest_gradients: tuple = (None, None, None)


def _gradients(net, loss):
    """``(params, X, y) -> ((summed loss, (loss values, y_hat)), grads)``, compiled if possible."""
    global _latest_gradients
    if _latest_gradients[0] is net and _latest_gradients[1] is loss:
        return _latest_gradients[2]

    def objective(params, X, y):
        y_hat = net(params, X)
        l = loss(y_hat, y)
        return l.sum(), (l, y_hat)

    _latest_gradients = (net, loss, _maybe_compiled(jax.value_and_grad(objective, has_aux=True)))
    return _latest_gradients[2]


def train_epoch_ch3(net, params, train_iter, loss, updater):
    """One epoch of training; returns ``(params, (train_loss, train_acc))`` with the updated parameters."""
    updater = _as_updater(updater, params)
    gradients = _gradients(net, loss)
    current = {"params": params}

    def step(X, y):
        (_, (l, y_hat)), grads = gradients(current["params"], X, y)
        current["params"] = updater(current["params"], grads, X.shape[0])
        return l, y_hat

    metrics = run_epoch(step, train_iter)
    return current["params"], metrics


def train_ch3(net, params, train_iter, test_iter, loss, num_epochs: int, updater):
    """Train ``net`` from ``params`` for ``num_epochs`` epochs, drawing training loss and accuracy and test
    accuracy; returns the trained parameters."""
    updater = _as_updater(updater, params)
    current = {"params": params}

    def train_epoch():
        current["params"], metrics = train_epoch_ch3(net, current["params"], train_iter, loss, updater)
        return metrics

    train_epochs(num_epochs, train_epoch, lambda: evaluate_accuracy(net, current["params"], test_iter))
    return current["params"]


def predict_ch3(net, params, test_iter, n: int = 6) -> None:
    """Show the first ``n`` test images with their true and predicted classes."""
    show_predictions(_predictor(net, params), test_iter, n)
