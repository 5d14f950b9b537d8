"""The book's minibatch SGD written from scratch, for the scratch models."""

from __future__ import annotations

import torch

from d2lx import checks
from d2lx.hparams import HyperParameters


class SGD(HyperParameters):
    """``param -= lr * param.grad`` for each of ``params``."""

    def __init__(self, params, lr):
        checks.positive_number("lr", lr)
        params = list(params)
        self.save_hyperparameters()

    @torch.no_grad()
    def step(self):
        for param in self.params:
            param -= self.lr * param.grad

    def zero_grad(self):
        for param in self.params:
            if param.grad is not None:
                param.grad.zero_()
