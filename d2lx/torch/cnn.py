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
from torch.nn.parameter import is_lazy

from d2lx import checks, cnn
from d2lx.torch.module import Classifier


def init_cnn(module: nn.Module) -> None:
    """Xavier-uniform weights for ``nn.Linear`` and ``nn.Conv2d`` layers, as in the book.

    A lazy layer that does not know its input size yet is initialised right after it learns it,
    before its first forward pass computes anything (a pre-hook that runs after the layer's own),
    unless ``load_state_dict`` gives it its values first: those are kept (see ``_when_shaped``).
    """
    if isinstance(module, LazyModuleMixin) and module.has_uninitialized_params():
        _when_shaped(module)
        return
    if type(module) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(module.weight)


def _when_shaped(layer: nn.Module, init=None) -> None:
    """Run ``init`` (default ``init_cnn``) on the lazy ``layer`` at its first forward pass, unless a state dict
    is loaded first.

    ``load_state_dict`` on a fresh model gives each lazy parameter the saved shape and values
    (PyTorch's own load hook materialises it); a Xavier draw at the first forward pass would then
    replace the loaded weights. So loading values for the layer cancels the draw. A lazy layer takes
    any saved shape, also one that contradicts its own arguments (a 10-class head loaded into
    ``LeNet(num_classes=5)``): that is refused here, as ``load_state_dict`` refuses it for a layer
    that has its shapes.
    """
    handles = []

    def initialise(module, args):
        for handle in handles:
            handle.remove()
        (init_cnn if init is None else init)(module)

    def on_load(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        loaded = False
        for name, param in module.named_parameters(recurse=False):
            value = state_dict.get(prefix + name)
            if value is None or is_lazy(value):
                continue
            loaded = True
            expected = _declared_shape(module, name, tuple(value.shape))
            if expected is not None and expected != tuple(value.shape):
                error_msgs.append(checks.saved_shape(prefix + name, value.shape, expected))
        if loaded:
            for handle in handles:
                handle.remove()

    handles.append(layer.register_forward_pre_hook(initialise))
    handles.append(layer.register_load_state_dict_pre_hook(on_load))


def _declared_shape(layer: nn.Module, name: str, saved: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape ``layer``'s arguments give its parameter ``name``, the inferred input size taken from
    ``saved``; None for a layer whose arguments fix nothing (lazy batch normalization)."""
    if isinstance(layer, nn.LazyLinear):
        out, rest = layer.out_features, saved[1:2]
    elif isinstance(layer, nn.LazyConv2d):
        out, rest = layer.out_channels, (*saved[1:2], *layer.kernel_size)
    else:
        return None
    return (out,) if name == "bias" else (out, *rest)


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
