"""The book's minibatch SGD written from scratch, for the scratch models."""

from __future__ import annotations

from d2lx import checks
from d2lx.hparams import HyperParameters


class SGD(HyperParameters):
    """``param -= lr * param.grad`` for each of ``params`` (arrays that called ``attach_grad()``).

    ``step(batch_size)`` takes the argument of ``gluon.Trainer.step`` and, like
    the book's, ignores it: the models' losses are already means over the batch.
    """

    def __init__(self, params, lr):
        checks.positive_number("lr", lr)
        params = list(params)
        self.save_hyperparameters()

    def step(self, _=1):
        for param in self.params:
            if param.grad is None:
                raise RuntimeError(
                    f"SGD got a parameter of shape {param.shape} without a gradient: "
                    "call attach_grad() on it when you create it"
                )
            param -= self.lr * param.grad
