"""``Module`` and ``Classifier`` for PyTorch: an ``nn.Module`` that plots its own metrics."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from d2lx.board import ProgressBoard
from d2lx.hparams import HyperParameters
from d2lx.module import ModuleBase


class Module(nn.Module, HyperParameters, ModuleBase):
    """The base of every model: ``loss``, ``forward``, ``training_step``, ``validation_step``,
    ``configure_optimizers``, as in d2l 1.0."""

    def __init__(self, plot_train_per_epoch: int = 2, plot_valid_per_epoch: int = 1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError(f"{type(self).__name__} must define loss(self, y_hat, y)")

    def forward(self, X):
        if not hasattr(self, "net"):
            raise NotImplementedError(f"{type(self).__name__} must define forward(self, X) or set self.net")
        return self.net(X)

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", l, train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", l, train=False)

    def configure_optimizers(self):
        raise NotImplementedError(f"{type(self).__name__} must define configure_optimizers(self)")

    def apply_init(self, inputs, init=None):
        """Run one forward pass (materialising lazy layers), then apply ``init`` to ``self.net``."""
        self.forward(*inputs)
        if init is not None:
            self.net.apply(init)


class Classifier(Module):
    """A ``Module`` whose validation also reports accuracy; the loss is cross-entropy on logits."""

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        self.plot("loss", self.loss(Y_hat, batch[-1]), train=False)
        self.plot("acc", self.accuracy(Y_hat, batch[-1]), train=False)

    def accuracy(self, Y_hat, Y, averaged: bool = True):
        """The fraction (or, with ``averaged=False``, the 0/1 per example) of correct predictions."""
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        correct = (Y_hat.argmax(dim=1).type(Y.dtype) == Y.reshape(-1)).type(torch.float32)
        return correct.mean() if averaged else correct

    def loss(self, Y_hat, Y, averaged: bool = True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        return F.cross_entropy(Y_hat, Y.reshape((-1,)), reduction="mean" if averaged else "none")

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)
