"""Chapter 12 (Optimization Algorithms) for PyTorch: what the framework decides in the chapter's loops.

``train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2)`` trains linear
regression from scratch: ``w`` and ``b`` carry ``requires_grad``, the mean loss is differentiated with
``backward()``, and ``trainer_fn([w, b], states, hyperparams)`` updates them in place (and zeroes their
gradients, as the book's optimizers do). ``train_concise_ch11(trainer_fn, hyperparams, data_iter,
num_epochs=4)`` makes ``trainer_fn(net.parameters(), **hyperparams)`` (``torch.optim.SGD`` and friends)
and trains on ``nn.MSELoss``, which has no factor 1/2, so it reports half of it, as the book does.
The loop's bookkeeping and the data are the core's (``d2lx.optimization``).
"""

from __future__ import annotations

import torch
from torch import nn

from d2lx import checks
from d2lx.functional import linreg
from d2lx.optimization import check_ch11, fit_ch11, make_get_data_ch11, num_features
from d2lx.torch.data import DataModule
from d2lx.torch.functional import evaluate_loss, load_array, squared_loss

get_data_ch11 = make_get_data_ch11(DataModule, load_array)


def train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2):
    """Train ``linreg`` on ``data_iter`` with the book's from-scratch ``trainer_fn(params, states, hyperparams)``."""
    check_ch11(trainer_fn, hyperparams, "a function (params, states, hyperparams) such as the book's sgd")
    feature_dim = checks.positive_int("feature_dim", feature_dim)
    w = torch.normal(mean=0.0, std=0.01, size=(feature_dim, 1), requires_grad=True)
    b = torch.zeros((1,), requires_grad=True)

    def net(X):
        return linreg(X, w, b)

    def step(X, y):
        squared_loss(net(X), y).mean().backward()
        trainer_fn([w, b], states, hyperparams)

    return fit_ch11(step, lambda data: evaluate_loss(net, data, squared_loss), data_iter, num_epochs)


def train_concise_ch11(trainer_fn, hyperparams, data_iter, num_epochs=4):
    """Train a linear layer on ``data_iter`` with the optimizer ``trainer_fn(net.parameters(), **hyperparams)``."""
    check_ch11(trainer_fn, hyperparams, "a torch.optim optimizer class such as torch.optim.SGD")
    net = nn.Sequential(nn.Linear(num_features(data_iter), 1))
    nn.init.normal_(net[0].weight, std=0.01)
    optimizer = trainer_fn(net.parameters(), **hyperparams)
    loss = nn.MSELoss(reduction="none")

    def step(X, y):
        optimizer.zero_grad()
        out = net(X)
        loss(out, y.reshape(out.shape)).mean().backward()
        optimizer.step()

    # nn.MSELoss has no factor 1/2: half of it is the squared loss of the from-scratch loop
    return fit_ch11(step, lambda data: evaluate_loss(net, data, loss) / 2, data_iter, num_epochs)
