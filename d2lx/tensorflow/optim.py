"""The book's minibatch SGD written from scratch, with the interface of a Keras optimizer."""

from __future__ import annotations

from d2lx import checks
from d2lx.hparams import HyperParameters


class SGD(HyperParameters):
    """``SGD(lr)``; ``apply_gradients(zip(grads, variables))`` does ``variable -= lr * grad`` for each pair."""

    def __init__(self, lr):
        checks.positive_number("lr", lr)
        self.save_hyperparameters()

    def apply_gradients(self, grads_and_vars):
        for grad, param in grads_and_vars:
            if grad is not None:  # a variable the loss does not depend on
                param.assign_sub(self.lr * grad)
