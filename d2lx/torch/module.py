"""``Module`` and ``Classifier`` for PyTorch: an ``nn.Module`` that plots its own metrics."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from d2lx import cnn
from d2lx.checks import CheckedHyperParameters
from d2lx.hparams import HyperParameters
from d2lx.module import ClassifierBase, ModuleBase


class Module(ModuleBase, nn.Module, CheckedHyperParameters, HyperParameters):
    """The base of every model: ``loss``, ``forward``, ``training_step``, ``validation_step``,
    ``configure_optimizers``, as in d2l 1.0 (``ModuleBase``'s, ahead of ``nn.Module``'s ``forward``)."""

    def apply_init(self, inputs, init=None):
        """Run one forward pass (materialising lazy layers), then apply ``init`` (e.g. a function calling
        ``nn.init.xavier_uniform_`` on each ``nn.Linear``) to ``self.net``, or to every layer of a
        model without ``net`` (``DropoutMLPScratch``)."""
        self.forward(*inputs)
        if init is not None:
            getattr(self, "net", self).apply(init)


class Classifier(ClassifierBase, Module):
    """A ``Module`` whose validation also reports accuracy; the loss is cross-entropy on logits."""

    _d2lx_image_layout = cnn.CHANNELS_FIRST  # how its CNNs take images (the trainer checks a learner's batches)

    def accuracy(self, Y_hat, Y, averaged: bool = True):
        """The fraction (or, with ``averaged=False``, the 0/1 per example) of correct predictions."""
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        correct = (Y_hat.argmax(dim=1).type(Y.dtype) == Y.reshape(-1)).type(torch.float32)
        return correct.mean() if averaged else correct

    def loss(self, Y_hat, Y, averaged: bool = True):
        """Cross-entropy of the logits ``Y_hat`` and the class indices ``Y``. Labels of any integer dtype
        (int32 from a learner's numpy arrays) are taken as int64, the only one ``cross_entropy`` takes
        for indices, as the other frameworks take them."""
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        if Y.dtype != torch.int64 and not Y.dtype.is_floating_point:
            Y = Y.long()
        return F.cross_entropy(Y_hat, Y.reshape((-1,)), reduction="mean" if averaged else "none")

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def layer_summary(self, X_shape):
        """Print each layer of ``self.net`` with the shape of its output for a random ``X_shape`` batch (NCHW)."""
        X = torch.randn(*cnn.summary_shape(self, X_shape, cnn.CHANNELS_FIRST))
        cnn.summarise(self, X_shape, self.net, X, channels_last=False)
