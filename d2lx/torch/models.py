"""Linear and softmax regression for PyTorch, from scratch and with ``torch.nn``."""

from __future__ import annotations

import torch
from torch import nn

from d2lx import checks
from d2lx.torch.module import Classifier, Module
from d2lx.torch.optim import SGD


def _check_features(model, X, num_inputs: int) -> None:
    features = X[0].numel() if X.dim() > 1 else X.numel()
    if features != num_inputs:
        raise ValueError(
            f"{type(model).__name__}(num_inputs={num_inputs}) got examples with {features} features "
            f"(X of shape {tuple(X.shape)}); num_inputs must match the data (e.g. len(w))"
        )


class LinearRegressionScratch(Module):
    """``y = Xw + b`` with ``w ~ N(0, sigma)``, squared loss and the scratch ``SGD``."""

    def __init__(self, num_inputs: int, lr: float, sigma: float = 0.01):
        super().__init__()
        checks.positive_int("num_inputs", num_inputs)
        checks.positive_number("lr", lr)
        checks.non_negative_number("sigma", sigma)
        self.save_hyperparameters()
        self.w = nn.Parameter(torch.normal(0, sigma, (num_inputs, 1)))
        self.b = nn.Parameter(torch.zeros(1))

    def forward(self, X):
        _check_features(self, X, self.num_inputs)
        return torch.matmul(X, self.w) + self.b

    def loss(self, y_hat, y):
        return ((y_hat - y) ** 2 / 2).mean()

    def configure_optimizers(self):
        return SGD([self.w, self.b], self.lr)

    def get_w_b(self):
        return self.w.detach(), self.b.detach()


class LinearRegression(Module):
    """The concise version: ``nn.LazyLinear(1)`` initialised N(0, 0.01), ``nn.MSELoss``, ``torch.optim.SGD``."""

    def __init__(self, lr: float):
        super().__init__()
        checks.positive_number("lr", lr)
        self.save_hyperparameters()
        self.net = nn.LazyLinear(1)
        self.net.weight.data.normal_(0, 0.01)
        self.net.bias.data.fill_(0)

    def forward(self, X):
        return self.net(X)

    def loss(self, y_hat, y):
        return nn.MSELoss()(y_hat, y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), self.lr)

    def get_w_b(self):
        return self.net.weight.data, self.net.bias.data


def softmax(X):
    """Row-wise softmax; subtracting the row maximum keeps ``exp`` from overflowing."""
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def cross_entropy(y_hat, y):
    """Mean negative log-probability of the true classes, for probabilities ``y_hat``."""
    return -torch.log(y_hat[torch.arange(len(y_hat)), y]).mean()


class SoftmaxRegressionScratch(Classifier):
    """``softmax(XW + b)`` on flattened images, trained with the scratch ``SGD``."""

    def __init__(self, num_inputs: int, num_outputs: int, lr: float, sigma: float = 0.01):
        super().__init__()
        checks.positive_int("num_inputs", num_inputs)
        checks.positive_int("num_outputs", num_outputs)
        checks.positive_number("lr", lr)
        self.save_hyperparameters()
        self.W = nn.Parameter(torch.normal(0, sigma, size=(num_inputs, num_outputs)))
        self.b = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X):
        _check_features(self, X, self.num_inputs)
        return softmax(torch.matmul(X.reshape((-1, self.num_inputs)), self.W) + self.b)

    def loss(self, y_hat, y):
        return cross_entropy(y_hat, y)

    def configure_optimizers(self):
        return SGD([self.W, self.b], self.lr)


class SoftmaxRegression(Classifier):
    """The concise version: ``Flatten`` then ``LazyLinear(num_outputs)``, cross-entropy on logits."""

    def __init__(self, num_outputs: int, lr: float):
        super().__init__()
        checks.positive_int("num_outputs", num_outputs)
        checks.positive_number("lr", lr)
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))

    def forward(self, X):
        return self.net(X)
