"""Convolutional networks for PyTorch (the 1.0 edition's chapter 7): ``init_cnn`` and ``LeNet``.

``corr2d`` is the core's (``d2lx.cnn``). The book builds its CNNs from lazily shaped layers
(``LazyConv2d``, ``LazyLinear``) and calls ``self.net.apply(d2l.init_cnn)`` in ``__init__``; in
d2l 1.0.3 that does nothing, because a lazy layer becomes a ``Conv2d`` or ``Linear`` only at its
first forward pass. Here ``init_cnn`` on a lazy layer waits for that moment.

``_set_parameters`` gives a LeNet the core's numpy-drawn weights (``d2lx.cnn.lenet_parameters``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

from d2lx import cnn
from d2lx.torch.module import Classifier


def init_cnn(module: nn.Module) -> None:
    """Xavier-uniform weights for ``nn.Linear`` and ``nn.Conv2d`` layers, as in the book.

    A lazy layer that does not know its input size yet is initialised right after it learns it,
    before its first forward pass computes anything (a pre-hook that runs after the layer's own).
    """
    if isinstance(module, LazyModuleMixin) and module.has_uninitialized_params():
        handle = None

        def once_materialised(layer, args):
            handle.remove()
            init_cnn(layer)

        handle = module.register_forward_pre_hook(once_materialised)
        return
    if type(module) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(module.weight)


class LeNet(Classifier):
    """LeNet-5 as in the book: two sigmoid convolutions with average pooling, three dense layers."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5, padding=2),
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5),
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.LazyLinear(120),
            nn.Sigmoid(),
            nn.LazyLinear(84),
            nn.Sigmoid(),
            nn.LazyLinear(num_classes),
        )
        self.net.apply(init_cnn)


def _set_parameters(model: nn.Module, params: list, X: torch.Tensor) -> nn.Module:
    """Give ``model``'s convolutions and dense layers, in order, the channels-first numpy ``params``.

    One pass over the batch ``X`` first gives the lazy layers their shapes. Returns ``model``.
    """
    with torch.no_grad():
        model(X)
        layers = [m for m in model.modules() if type(m) in (nn.Conv2d, nn.Linear)]
        cnn.matching_parameters(model, [tuple(layer.weight.shape) for layer in layers], params)
        for layer, (weight, bias) in zip(layers, params):
            layer.weight.copy_(torch.from_numpy(weight))
            layer.bias.copy_(torch.from_numpy(bias))
    return model
