"""Chapter 12 (Optimization Algorithms) for MXNet: what the framework decides in the chapter's loops.

``train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2)`` trains linear
regression from scratch: ``w`` and ``b`` call ``attach_grad()``, the mean loss is recorded under
``autograd.record()`` and differentiated with ``backward()``, and ``trainer_fn([w, b], states,
hyperparams)`` updates them in place. ``train_concise_ch11(tr_name, hyperparams, data_iter,
num_epochs=2)`` takes Gluon's name of an optimizer (``'sgd'``, ``'adam'``...) and its hyperparameters,
as ``gluon.Trainer`` does, and trains a ``Dense(1)`` layer on ``L2Loss`` (half the squared error).
The loop's bookkeeping and the data are the core's (``d2lx.optimization``).
"""

from __future__ import annotations

from mxnet import autograd, gluon, init, np
from mxnet.gluon import nn

from d2lx import checks
from d2lx.functional import linreg, squared_loss
from d2lx.mxnet.data import DataModule
from d2lx.mxnet.functional import evaluate_loss, load_array
from d2lx.optimization import check_ch11, fit_ch11, make_get_data_ch11

get_data_ch11 = make_get_data_ch11(DataModule, load_array)


def train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2):
    """Train ``linreg`` on ``data_iter`` with the book's from-scratch ``trainer_fn(params, states, hyperparams)``."""
    check_ch11(trainer_fn, hyperparams, "a function (params, states, hyperparams) such as the book's sgd")
    feature_dim = checks.positive_int("feature_dim", feature_dim)
    w = np.random.normal(scale=0.01, size=(feature_dim, 1))
    b = np.zeros(1)
    w.attach_grad()
    b.attach_grad()

    def net(X):
        return linreg(X, w, b)

    def step(X, y):
        with autograd.record():
            l = squared_loss(net(X), y).mean()
        l.backward()
        trainer_fn([w, b], states, hyperparams)

    return fit_ch11(step, lambda data: evaluate_loss(net, data, squared_loss), data_iter, num_epochs)


def train_concise_ch11(tr_name, hyperparams, data_iter, num_epochs=2):
    """Train a ``Dense(1)`` layer on ``data_iter`` with ``gluon.Trainer(params, tr_name, hyperparams)``."""
    check_ch11(tr_name, hyperparams, "the name of a Gluon optimizer such as 'sgd'", lambda v: isinstance(v, str))
    net = nn.Sequential()
    net.add(nn.Dense(1))
    net.initialize(init.Normal(sigma=0.01))
    trainer = gluon.Trainer(net.collect_params(), tr_name, hyperparams)
    loss = gluon.loss.L2Loss()

    def step(X, y):
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(X.shape[0])

    return fit_ch11(step, lambda data: evaluate_loss(net, data, loss), data_iter, num_epochs)
