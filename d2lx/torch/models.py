"""Linear and softmax regression for PyTorch, from scratch and with ``torch.nn``."""

from __future__ import annotations

import torch
from torch import nn

from d2lx import models as core
from d2lx.kaggle_house import make_k_fold
from d2lx.module import RemembersInputFeatures
from d2lx.torch import ops
from d2lx.torch.module import Classifier, Module
from d2lx.torch.optim import SGD
from d2lx.utils import seeded_normal


def normal_parameter(shape: tuple[int, ...], sigma: float) -> nn.Parameter:
    """``N(0, sigma)`` values: from d2lx's seeded stream after ``set_seed``, else from torch."""
    values = seeded_normal(shape, sigma)
    return nn.Parameter(torch.normal(0, sigma, shape) if values is None else torch.from_numpy(values))


class _NormalLazyLinear(nn.LazyLinear):
    """``LazyLinear`` whose weight starts ``N(0, sigma)`` and bias at zero once its input size is known.

    (Setting ``weight.data.normal_`` on a plain ``LazyLinear`` before its first
    forward pass, as the book does, is undone when the layer materialises.)
    """

    def __init__(self, out_features: int, sigma: float):
        self.sigma = sigma
        super().__init__(out_features)

    def reset_parameters(self) -> None:
        if self.has_uninitialized_params() or self.in_features == 0:
            return
        with torch.no_grad():
            self.weight.copy_(normal_parameter((self.in_features, self.out_features), self.sigma).T)
            self.bias.zero_()


class _Scratch:
    """What the scratch models take from PyTorch (see ``d2lx.models.ScratchParameters``): ``nn.Parameter``s,
    which ``nn.Module`` registers when they are set as attributes."""

    _ops = ops
    _normal = staticmethod(normal_parameter)
    _parameter = nn.Parameter


class LinearRegressionScratch(_Scratch, core.LinearRegressionScratchSteps, Module):
    """``y = Xw + b`` (see ``d2lx.models.LinearRegressionScratchSteps``); PyTorch's part: the scratch ``SGD``
    is handed ``w`` and ``b``, and ``get_w_b`` detaches them from the graph."""

    def configure_optimizers(self):
        return SGD([self.w, self.b], self.lr)

    def get_w_b(self):
        return self.w.detach(), self.b.detach()


class LinearRegression(RemembersInputFeatures, Module):
    """The concise version: a lazy linear layer initialised N(0, 0.01), ``nn.MSELoss``, ``torch.optim.SGD``."""

    def __init__(self, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = _NormalLazyLinear(1, sigma=0.01)

    def loss(self, y_hat, y):
        return nn.MSELoss()(y_hat, y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), self.lr)

    def get_w_b(self):
        return self.net.weight.data, self.net.bias.data


k_fold = make_k_fold(LinearRegression)


def softmax(X):
    """Row-wise softmax; subtracting the row maximum keeps ``exp`` from overflowing."""
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def cross_entropy(y_hat, y):
    """Mean negative log-probability of the true classes, for probabilities ``y_hat``."""
    return -torch.log(y_hat[torch.arange(len(y_hat)), y]).mean()


class SoftmaxRegressionScratch(_Scratch, core.SoftmaxRegressionScratchSteps, Classifier):
    """``softmax(XW + b)`` on flattened images, trained with the scratch ``SGD`` (constructor, ``forward`` and
    ``loss``: see ``d2lx.models.SoftmaxRegressionScratchSteps``)."""

    _softmax = staticmethod(softmax)
    _cross_entropy = staticmethod(cross_entropy)

    def configure_optimizers(self):
        return SGD([self.W, self.b], self.lr)


class SoftmaxRegression(RemembersInputFeatures, Classifier):
    """The concise version: ``Flatten`` then ``LazyLinear(num_outputs)``, cross-entropy on logits."""

    def __init__(self, num_outputs: int, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))
