"""Chapter 8 of the 1.0 edition (modern CNNs): the architectures as data, written once for every backend.

The book writes each model's numbers into its cells, four times over (once per framework), and the
copies drifted: its JAX DenseNet gives every transition layer 96 channels, and its MXNet
``AnyNet.stage`` shifts ``ResNeXtBlock``'s arguments. Here the numbers live in one place and each
backend's ``modern_cnn.py`` builds its layers from them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from d2lx import checks

# GoogLeNet (section 8.4): the Inception blocks of its stages 3, 4 and 5, as
# ``(c1, (c2_reduce, c2), (c3_reduce, c3), c4)``: the 1x1 path, the 1x1-then-3x3 path, the
# 1x1-then-5x5 path and the pool-then-1x1 path.
GOOGLENET_B3 = ((64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64))
GOOGLENET_B4 = (
    (192, (96, 208), (16, 48), 64),
    (160, (112, 224), (24, 64), 64),
    (128, (128, 256), (24, 64), 64),
    (112, (144, 288), (32, 64), 64),
    (256, (160, 320), (32, 128), 128),
)
GOOGLENET_B5 = ((256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128))

# ResNet-18 (section 8.6): (residual blocks, channels) per stage.
RESNET18_ARCH = ((2, 64), (2, 128), (2, 256), (2, 512))


class ResNet18Arch:
    """Mixed in before a backend's ``ResNet`` (PyTorch, MXNet, TensorFlow): the book's
    ``ResNet18(lr=0.1, num_classes=10)``, a ``ResNet`` of ``RESNET18_ARCH``. JAX's Flax model gives
    ``arch`` a default instead."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__(RESNET18_ARCH, lr, num_classes)


# DenseNet (section 8.7): the book's defaults.
DENSENET_DEFAULTS = {"num_channels": 64, "growth_rate": 32, "arch": (4, 4, 4, 4)}

# RegNetX-32 (section 8.8): stem channels, then (depth, channels, groups, bottleneck multiplier) per
# stage. ``groups`` is the number of groups of the 3x3 convolution (see ``resnext_groups``).
REGNETX32_STEM = 32
REGNETX32_ARCH = ((4, 32, 16, 1), (6, 80, 16, 1))


class RegNetX32Arch:
    """Mixed in before a backend's ``AnyNet`` (PyTorch, MXNet, TensorFlow): the book's
    ``RegNetX32(lr=0.1, num_classes=10)``, an ``AnyNet`` of ``REGNETX32_ARCH`` with a stem of
    ``REGNETX32_STEM`` channels."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__(REGNETX32_ARCH, REGNETX32_STEM, lr, num_classes)


def residual_stage(num_residuals: int, first_block: bool = False) -> list[dict]:
    """The keyword arguments of each ``Residual`` of one ResNet stage (``ResNet.block``), after the
    block's ``num_channels``: the first block halves the height and width and passes its shortcut
    through a 1x1 convolution, except in the first stage (``first_block``), which follows the stem's
    pooling and keeps the stem's 64 channels; the rest keep the shape."""
    checks.positive_int("num_residuals", num_residuals)
    halving = {"use_1x1conv": True, "strides": 2}
    return [dict(halving) if i == 0 and not first_block else {} for i in range(num_residuals)]


def densenet_stages(num_channels: int, growth_rate: int, arch) -> list[tuple[int, int | None]]:
    """``(convs of the dense block, channels of the transition after it, or None)`` per stage.

    A dense block adds ``convs * growth_rate`` channels; every transition but the last halves them
    (torch's book code: 96, 112, 120 for the defaults; its JAX code wrongly keeps 96 throughout).
    """
    stages = []
    for i, num_convs in enumerate(arch):
        num_channels += num_convs * growth_rate
        transition = None
        if i != len(arch) - 1:
            num_channels //= 2
            transition = num_channels
        stages.append((num_convs, transition))
    return stages


def bottleneck_channels(num_channels: int, bot_mul: float) -> int:
    """The channels inside a ResNeXt block: ``num_channels * bot_mul``, rounded."""
    return int(round(num_channels * bot_mul))


def resnext_groups(num_channels: int, groups: int, bot_mul: float) -> int:
    """The ``groups`` of the ResNeXt block's 3x3 convolution, checked with the block's other numbers: the
    number of groups (its cardinality), as the book's text describes. The book's code passes
    ``bot_channels // groups`` instead, which reads ``groups`` as channels per group (d2l-en pull
    request 2730)."""
    checks.hyperparameters({"num_channels": num_channels, "groups": groups, "bot_mul": bot_mul})
    bot_channels = bottleneck_channels(num_channels, bot_mul)
    if bot_channels < 1:
        raise ValueError(
            f"ResNeXtBlock: num_channels={num_channels} times bot_mul={bot_mul} must make at least one "
            f"bottleneck channel, got {bot_channels}"
        )
    if bot_channels % groups:
        raise ValueError(
            f"ResNeXtBlock: groups={groups} must divide the {bot_channels} bottleneck channels "
            f"(num_channels={num_channels} times bot_mul={bot_mul})"
        )
    return int(groups)


# --- the blocks' forward passes, written once ---------------------------------------------------------
# Each backend's ``Inception``, ``Residual``, ``ResNeXtBlock`` and ``DenseBlock`` makes its own layers
# (``b1_1``, ``conv1``, ``bn1``, ``net``, ...) and names its framework's operations (``_relu``,
# ``_concat_channels``); the wiring between the layers is the same on every framework, so it lives here.
# A backend whose layers are called through another method (Keras's ``call``, Flax's ``__call__``) has it
# return ``self.forward(X)``.
def _identity(X):
    return X


class InceptionSteps:
    """Mixed in before a backend's ``Inception``: its four paths on the same input, ``b1_1``; ``b2_1``
    then ``b2_2``; ``b3_1`` then ``b3_2``; ``b4_1`` (the max-pool) then ``b4_2``, stacked along the
    channels by ``_concat_channels``. ``_relu`` follows each convolution where the framework's
    convolutions do not apply it themselves (PyTorch, Flax); MXNet's and Keras's do, so by default it
    is the identity."""

    _relu: Callable[[Any], Any] = staticmethod(_identity)
    _concat_channels: Callable[[tuple], Any]

    def forward(self, x):
        relu = type(self)._relu
        paths = (
            relu(self.b1_1(x)),
            relu(self.b2_2(relu(self.b2_1(x)))),
            relu(self.b3_2(relu(self.b3_1(x)))),
            relu(self.b4_2(self.b4_1(x))),
        )
        return type(self)._concat_channels(paths)


class ResidualSteps:
    """Mixed in before a backend's ``Residual``: ``relu(bn2(conv2(relu(bn1(conv1(X))))) + shortcut)``,
    where the shortcut is ``X`` itself, or ``conv3(X)`` when the block has a 1x1 convolution (``conv3``
    not None) to match a change of channels or resolution."""

    _relu: Callable[[Any], Any]

    def forward(self, X):
        relu = type(self)._relu
        Y = self.bn2(self.conv2(relu(self.bn1(self.conv1(X)))))
        return relu(Y + (X if self.conv3 is None else self.conv3(X)))


class ResNeXtSteps:
    """Mixed in before a backend's ``ResNeXtBlock``: the 1x1, grouped 3x3 and 1x1 convolutions, each
    batch-normalized (ReLU after the first two), plus the shortcut: ``X`` itself, or ``bn4(conv4(X))``
    when the block has a 1x1 convolution (``conv4`` not None); a ReLU after the sum."""

    _relu: Callable[[Any], Any]

    def forward(self, X):
        relu = type(self)._relu
        Y = relu(self.bn2(self.conv2(relu(self.bn1(self.conv1(X))))))
        Y = self.bn3(self.conv3(Y))
        return relu(Y + (X if self.conv4 is None else self.bn4(self.conv4(X))))


class DenseBlockSteps:
    """Mixed in before a backend's ``DenseBlock``: each convolution block of ``net`` reads everything so far,
    the block's input and every earlier block's output stacked along the channels, and its output is
    stacked on by ``_concat_channels`` (Inception's), so the channels grow by the growth rate per block."""

    _concat_channels: Callable[[tuple], Any]

    def forward(self, X):
        for block in self.net:
            X = type(self)._concat_channels((X, block(X)))
        return X
