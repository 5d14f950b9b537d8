"""Modern convolutional networks for PyTorch (the 1.0 edition's chapter 8): AlexNet to RegNet.

Every model is built as the book's PyTorch cells build it: lazily shaped layers (``LazyConv2d``,
``LazyLinear``, ``LazyBatchNorm2d``) in an ``nn.Sequential`` called ``net``, whose elements are
the stages ``layer_summary`` prints, and ``self.net.apply(init_cnn)`` in ``__init__``. d2lx's
``init_cnn`` waits for each lazy layer to learn its shape (``d2lx.torch.cnn``), so the Xavier
initialisation takes effect whether or not a cell calls ``model.apply_init`` before training.

The architectures' numbers (GoogLeNet's Inception channels, ResNet-18's stages, DenseNet's
transitions, RegNetX-32) come from the core's ``d2lx.modern_cnn``, written once for every backend.
Three of the book's bugs are fixed there and here: ``ResNeXtBlock``'s ``groups`` is the number of
groups of its 3x3 convolution, DenseNet's transitions halve the channels they receive (96, 112,
120), and NiN ends with a global average pool, so it works at any input size.

``batch_norm`` and ``BatchNorm`` are the book's from-scratch batch normalization: see
``batch_norm`` for how it tells training from prediction.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from d2lx import checks
from d2lx import modern_cnn as core
from d2lx.torch.cnn import init_cnn
from d2lx.torch.module import Classifier


def _conv_relu(channels: int, kernel_size: int, stride: int = 1, padding: int = 0) -> list[nn.Module]:
    """A lazily shaped convolution and its ReLU, as two elements (``layer_summary`` prints each)."""
    return [nn.LazyConv2d(channels, kernel_size=kernel_size, stride=stride, padding=padding), nn.ReLU()]


def _overlapping_pool() -> nn.Module:
    """AlexNet's 3x3 max-pool with stride 2 (windows overlap by one row and column), also NiN's."""
    return nn.MaxPool2d(kernel_size=3, stride=2)


def _dropout_mlp(num_classes: int, hidden: int = 4096, dropout: float = 0.5) -> list[nn.Module]:
    """The head of AlexNet and VGG: flatten, two wide ReLU layers with dropout, then the logits."""
    layers: list[nn.Module] = [nn.Flatten()]
    for _ in range(2):
        layers += [nn.LazyLinear(hidden), nn.ReLU(), nn.Dropout(dropout)]
    return [*layers, nn.LazyLinear(num_classes)]


def _global_pool_head(num_classes: int, *before: nn.Module) -> nn.Sequential:
    """``before`` (if any), a global average pool, flatten and the logits: the head of NiN's successors."""
    return nn.Sequential(*before, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(num_classes))


def _stem(channels: int, kernel_size: int, *, batch_norm: bool, pool: bool) -> nn.Sequential:
    """A strided convolution that halves the resolution, optionally batch-normalized, its ReLU, and
    optionally a 3x3 max-pool that halves it again: the first stage of GoogLeNet, ResNet, DenseNet
    (7x7, pooled) and AnyNet (3x3, not pooled)."""
    layers: list[nn.Module] = [nn.LazyConv2d(channels, kernel_size=kernel_size, stride=2, padding=kernel_size // 2)]
    if batch_norm:
        layers.append(nn.LazyBatchNorm2d())
    layers.append(nn.ReLU())
    if pool:
        layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    return nn.Sequential(*layers)


# --- 8.1 AlexNet ---------------------------------------------------------------------------------
class AlexNet(Classifier):
    """AlexNet as the book streamlines it: five ReLU convolutions (11x11 with stride 4, 5x5, three
    3x3), three max-pools, and two dense layers of 4096 with dropout, for 224x224 inputs."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            *_conv_relu(96, 11, stride=4, padding=1), _overlapping_pool(),
            *_conv_relu(256, 5, padding=2), _overlapping_pool(),
            *_conv_relu(384, 3, padding=1),
            *_conv_relu(384, 3, padding=1),
            *_conv_relu(256, 3, padding=1), _overlapping_pool(),
            *_dropout_mlp(num_classes),
        )  # fmt: skip
        self.net.apply(init_cnn)


# --- 8.2 VGG -------------------------------------------------------------------------------------
def vgg_block(num_convs, out_channels):
    """``num_convs`` 3x3 ReLU convolutions that keep the resolution, then a 2x2 max-pool that halves it."""
    checks.hyperparameters({"num_convs": num_convs, "out_channels": out_channels})
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += _conv_relu(out_channels, 3, padding=1)
    return nn.Sequential(*layers, nn.MaxPool2d(kernel_size=2, stride=2))


class VGG(Classifier):
    """A VGG network: one ``vgg_block`` per ``(num_convs, out_channels)`` of ``arch``, then AlexNet's
    dense head. The book's VGG-11 is ``arch=((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))``."""

    def __init__(self, arch, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        blocks = [vgg_block(num_convs, out_channels) for num_convs, out_channels in arch]
        self.net = nn.Sequential(*blocks, *_dropout_mlp(num_classes))
        self.net.apply(init_cnn)


# --- 8.3 NiN -------------------------------------------------------------------------------------
def nin_block(out_channels, kernel_size, strides, padding):
    """A convolution followed by two 1x1 convolutions (a dense layer at each pixel), all with ReLU."""
    checks.hyperparameters({"out_channels": out_channels})
    return nn.Sequential(
        *_conv_relu(out_channels, kernel_size, stride=strides, padding=padding),
        *_conv_relu(out_channels, 1),
        *_conv_relu(out_channels, 1),
    )


class NiN(Classifier):
    """Network in Network: NiN blocks with AlexNet's kernel sizes, the last with one channel per class,
    then a global average pool (at any input size: the book's JAX code pools a fixed 5x5 window)."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nin_block(96, kernel_size=11, strides=4, padding=0), _overlapping_pool(),
            nin_block(256, kernel_size=5, strides=1, padding=2), _overlapping_pool(),
            nin_block(384, kernel_size=3, strides=1, padding=1), _overlapping_pool(),
            nn.Dropout(0.5),
            nin_block(num_classes, kernel_size=3, strides=1, padding=1),
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
        )  # fmt: skip
        self.net.apply(init_cnn)


# --- 8.4 GoogLeNet -------------------------------------------------------------------------------
class Inception(core.InceptionSteps, nn.Module):
    """The Inception block: four parallel branches whose outputs are stacked along the channels.

    ``c1``: channels of the 1x1 branch; ``c2`` and ``c3``: ``(reduce, out)`` channels of the 1x1-then-3x3
    and 1x1-then-5x5 branches; ``c4``: channels of the 1x1 convolution after a 3x3 max-pool. Every
    branch keeps the height and width, so the block outputs ``c1 + c2[1] + c3[1] + c4`` channels
    (``forward``: ``d2lx.modern_cnn.InceptionSteps``).
    """

    _relu = staticmethod(F.relu)
    _concat_channels = staticmethod(partial(torch.cat, dim=1))

    def __init__(self, c1, c2, c3, c4, **kwargs):
        super().__init__(**kwargs)
        checks.hyperparameters({"c1": c1, "c2": c2, "c3": c3, "c4": c4})
        self.b1_1 = nn.LazyConv2d(c1, kernel_size=1)
        self.b2_1 = nn.LazyConv2d(c2[0], kernel_size=1)
        self.b2_2 = nn.LazyConv2d(c2[1], kernel_size=3, padding=1)
        self.b3_1 = nn.LazyConv2d(c3[0], kernel_size=1)
        self.b3_2 = nn.LazyConv2d(c3[1], kernel_size=5, padding=2)
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.b4_2 = nn.LazyConv2d(c4, kernel_size=1)


def _inception_stage(specs, *after: nn.Module) -> nn.Sequential:
    """One ``Inception`` block per ``(c1, c2, c3, c4)`` of ``specs``, then ``after``."""
    return nn.Sequential(*(Inception(*s) for s in specs), *after)


class GoogleNet(Classifier):
    """GoogLeNet: a stem (``b1``, ``b2``), three stages of Inception blocks (``b3``, ``b4``, ``b5``; the
    last ends with a global average pool) and a dense layer. ``__init__`` builds the network by
    calling the five methods, so a cell that replaces one with ``@d2l.add_to_class(d2l.GoogleNet)``
    changes the networks made after it, as in the book."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(self.b1(), self.b2(), self.b3(), self.b4(), self.b5(), nn.LazyLinear(num_classes))
        self.net.apply(init_cnn)

    def b1(self):
        """A 7x7 convolution of 64 channels with stride 2, then a 3x3 max-pool with stride 2."""
        return _stem(64, 7, batch_norm=False, pool=True)

    def b2(self):
        """A 1x1 convolution of 64 channels, a 3x3 one of 192, then a 3x3 max-pool with stride 2."""
        return nn.Sequential(*_conv_relu(64, 1), *_conv_relu(192, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1))

    def b3(self):
        """Two Inception blocks (256 and 480 channels), then a max-pool that halves the resolution."""
        return _inception_stage(core.GOOGLENET_B3, nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

    def b4(self):
        """Five Inception blocks (512, 512, 512, 528, 832 channels), then a max-pool."""
        return _inception_stage(core.GOOGLENET_B4, nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

    def b5(self):
        """Two Inception blocks (832 and 1024 channels), a global average pool, and flatten."""
        return _inception_stage(core.GOOGLENET_B5, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())


# --- 8.5 Batch normalization ---------------------------------------------------------------------
def _statistics_dims(X: torch.Tensor) -> tuple[int, ...]:
    """The dimensions batch statistics average over: the examples of a (batch, features) input, the
    examples and positions of a (batch, channels, height, width) one (one mean per channel)."""
    if X.dim() == 2:
        return (0,)
    if X.dim() == 4:
        return (0, 2, 3)
    raise ValueError(
        "batch_norm: X must have 2 dimensions (batch, features) or 4 (batch, channels, height, width), "
        f"got shape {tuple(X.shape)}"
    )


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum, *, training=None):
    """Batch normalization from scratch: returns ``(Y, moving_mean, moving_var)``.

    In training mode ``X`` is normalized with the mean and (biased) variance of this batch, per
    feature or per channel, and the moving averages move towards them by ``momentum``; in prediction
    mode it is normalized with the moving averages, which come back unchanged. Either way ``Y`` is
    ``gamma * X_hat + beta``.

    Which mode: ``training`` when given, else the book's rule, ``torch.is_grad_enabled()`` (the
    Trainer computes gradients for training batches and validates under ``torch.no_grad()``).
    ``BatchNorm`` passes its module's mode, so ``model.train()`` and ``model.eval()`` switch it as
    they switch ``nn.BatchNorm2d``. The moving averages come back detached from the graph.
    """
    if training is None:
        training = torch.is_grad_enabled()
    if not training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
        return gamma * X_hat + beta, moving_mean, moving_var
    dims = _statistics_dims(X)
    mean = X.mean(dim=dims, keepdim=True)
    var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
    X_hat = (X - mean) / torch.sqrt(var + eps)
    with torch.no_grad():
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    return gamma * X_hat + beta, moving_mean, moving_var


class BatchNorm(nn.Module):
    """The book's batch normalization layer, from scratch: ``num_features`` outputs of a dense layer
    (``num_dims=2``) or channels of a convolution (``num_dims=4``).

    The scale ``gamma`` (ones) and shift ``beta`` (zeros) are parameters; the moving mean (zeros)
    and variance (ones) are buffers, replaced by each training call as in the book, so they follow
    ``model.to(device)`` and are saved by ``state_dict()`` like ``nn.BatchNorm2d``'s running statistics.
    ``model.eval()`` (as the Trainer's validation sets it) normalizes with them and leaves them alone.
    """

    def __init__(self, num_features, num_dims):
        super().__init__()
        num_features = checks.positive_int("num_features", num_features)
        if num_dims not in (2, 4):
            raise ValueError(
                f"BatchNorm: num_dims must be 2 (after a dense layer) or 4 (after a convolution), got {num_dims!r}"
            )
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.ones(shape))

    def forward(self, X):
        if self.moving_mean.device != X.device:  # a layer used alone, on a batch from another device
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean, self.moving_var, eps=1e-5, momentum=0.1, training=self.training
        )
        return Y


def _bn_lenet(num_classes: int, norm) -> nn.Sequential:
    """LeNet with a batch normalization after each convolution and hidden dense layer, before its
    sigmoid; ``norm(num_features, num_dims)`` makes that layer."""
    layers: list[nn.Module] = []
    for channels in (6, 16):
        layers += [nn.LazyConv2d(channels, kernel_size=5), norm(channels, 4), nn.Sigmoid(), nn.AvgPool2d(2, stride=2)]
    layers.append(nn.Flatten())
    for features in (120, 84):
        layers += [nn.LazyLinear(features), norm(features, 2), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.LazyLinear(num_classes))


class BNLeNetScratch(Classifier):
    """LeNet with the from-scratch ``BatchNorm`` (``model.net[1]`` is the first one). The book's
    training cell initialises it with ``init_cnn``; d2lx applies it in ``__init__`` as well."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = _bn_lenet(num_classes, BatchNorm)
        self.net.apply(init_cnn)


def _lazy_batch_norm(num_features: int, num_dims: int) -> nn.Module:
    """PyTorch's own batch normalization, which learns ``num_features`` from its first batch."""
    return nn.LazyBatchNorm2d() if num_dims == 4 else nn.LazyBatchNorm1d()


class BNLeNet(Classifier):
    """LeNet with PyTorch's batch normalization layers (``LazyBatchNorm2d``, ``LazyBatchNorm1d``)."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = _bn_lenet(num_classes, _lazy_batch_norm)
        self.net.apply(init_cnn)


# --- 8.6 ResNet and ResNeXt ----------------------------------------------------------------------
class Residual(core.ResidualSteps, nn.Module):
    """ResNet's residual block: two batch-normalized 3x3 convolutions, plus the input, then ReLU
    (``forward``: ``d2lx.modern_cnn.ResidualSteps``).

    ``strides=2`` halves the height and width; ``use_1x1conv=True`` passes the input through a 1x1
    convolution (with the same stride), needed whenever the channels or the resolution change.
    """

    _relu = staticmethod(F.relu)

    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        checks.hyperparameters({"num_channels": num_channels})
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()


class ResNet(Classifier):
    """A ResNet: the stem ``b1``, one ``block`` of residual blocks per ``(num_residuals, num_channels)``
    of ``arch`` (every stage but the first halves the resolution), then a global average pool and a
    dense layer (``net.last``)."""

    def __init__(self, arch, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(self.b1())
        for i, stage in enumerate(arch):
            self.net.add_module(f"b{i + 2}", self.block(*stage, first_block=(i == 0)))
        self.net.add_module("last", _global_pool_head(num_classes))
        self.net.apply(init_cnn)

    def b1(self):
        """GoogLeNet's stem with a batch normalization: 7x7 convolution of 64 channels, stride 2, max-pool."""
        return _stem(64, 7, batch_norm=True, pool=True)

    def block(self, num_residuals, num_channels, first_block=False):
        """``num_residuals`` residual blocks of ``num_channels``; the first halves the resolution (with a
        1x1 convolution on its shortcut) unless ``first_block`` (the stem has just pooled)."""
        return nn.Sequential(*(Residual(num_channels, **kw) for kw in core.residual_stage(num_residuals, first_block)))


class ResNet18(core.ResNet18Arch, ResNet):
    """ResNet-18: four stages of two residual blocks, with 64, 128, 256 and 512 channels."""


class ResNeXtBlock(core.ResNeXtSteps, nn.Module):
    """The ResNeXt block: a 1x1 convolution to ``num_channels * bot_mul`` bottleneck channels, a 3x3
    convolution in ``groups`` groups, a 1x1 convolution back to ``num_channels``, each batch-normalized,
    plus the input (through a batch-normalized 1x1 convolution when ``use_1x1conv``), then ReLU
    (``forward``: ``d2lx.modern_cnn.ResNeXtSteps``).

    ``groups`` is the number of groups, as the book's text says (its code passes
    ``bot_channels // groups``, reading it as channels per group); it must divide the bottleneck channels.
    """

    _relu = staticmethod(F.relu)

    def __init__(self, num_channels, groups, bot_mul, use_1x1conv=False, strides=1):
        super().__init__()
        groups = core.resnext_groups(num_channels, groups, bot_mul)
        bot_channels = core.bottleneck_channels(num_channels, bot_mul)
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1)
        self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3, stride=strides, padding=1, groups=groups)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1)
        self.bn1, self.bn2, self.bn3 = nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d()
        if use_1x1conv:
            self.conv4 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
            self.bn4 = nn.LazyBatchNorm2d()
        else:
            self.conv4 = self.bn4 = None


# --- 8.7 DenseNet --------------------------------------------------------------------------------
def conv_block(num_channels):
    """DenseNet's convolution block, in ResNet's later order: batch normalization, ReLU, 3x3 convolution."""
    checks.hyperparameters({"num_channels": num_channels})
    return nn.Sequential(nn.LazyBatchNorm2d(), nn.ReLU(), nn.LazyConv2d(num_channels, kernel_size=3, padding=1))


class DenseBlock(core.DenseBlockSteps, nn.Module):
    """``num_convs`` convolution blocks, each fed the input and all earlier outputs stacked along the
    channels: the block adds ``num_convs * num_channels`` channels (the growth rate is ``num_channels``;
    ``forward``: ``d2lx.modern_cnn.DenseBlockSteps``)."""

    _concat_channels = Inception._concat_channels

    def __init__(self, num_convs, num_channels):
        super().__init__()
        checks.hyperparameters({"num_convs": num_convs, "num_channels": num_channels})
        self.net = nn.Sequential(*(conv_block(num_channels) for _ in range(num_convs)))


def transition_block(num_channels):
    """DenseNet's transition: batch normalization, ReLU, a 1x1 convolution to ``num_channels``, and a
    2x2 average pool that halves the height and width."""
    checks.hyperparameters({"num_channels": num_channels})
    return nn.Sequential(
        nn.LazyBatchNorm2d(), nn.ReLU(), nn.LazyConv2d(num_channels, kernel_size=1), nn.AvgPool2d(2, stride=2)
    )


class DenseNet(Classifier):
    """DenseNet: the stem ``b1`` (``num_channels`` channels), one ``DenseBlock`` of ``growth_rate``
    channels per entry of ``arch``, transitions that halve the channels in between (96, 112 and 120
    for the defaults: ``d2lx.modern_cnn.densenet_stages``), and a batch-normalized global-pool head."""

    def __init__(self, num_channels=64, growth_rate=32, arch=(4, 4, 4, 4), lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(self.b1())
        for i, (num_convs, transition) in enumerate(core.densenet_stages(num_channels, growth_rate, arch)):
            self.net.add_module(f"dense_blk{i + 1}", DenseBlock(num_convs, growth_rate))
            if transition is not None:
                self.net.add_module(f"tran_blk{i + 1}", transition_block(transition))
        self.net.add_module("last", _global_pool_head(num_classes, nn.LazyBatchNorm2d(), nn.ReLU()))
        self.net.apply(init_cnn)

    def b1(self):
        """ResNet's stem, with ``num_channels`` channels (64 by default, as in the book)."""
        return _stem(self.num_channels, 7, batch_norm=True, pool=True)


# --- 8.8 Designing convolution network architectures ---------------------------------------------
class AnyNet(Classifier):
    """The AnyNet design space: a ``stem`` of ``stem_channels``, one ``stage`` of ResNeXt blocks per
    ``(depth, num_channels, groups, bot_mul)`` of ``arch`` (each halving the resolution), and a ``head``."""

    def __init__(self, arch, stem_channels, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(self.stem(stem_channels))
        for i, stage in enumerate(arch):
            self.net.add_module(f"stage{i + 1}", self.stage(*stage))
        self.net.add_module("head", self.head(num_classes))
        self.net.apply(init_cnn)

    def stem(self, num_channels):
        """A batch-normalized 3x3 convolution with stride 2 and its ReLU: half the resolution."""
        return _stem(num_channels, 3, batch_norm=True, pool=False)

    def stage(self, depth, num_channels, groups, bot_mul):
        """``depth`` ResNeXt blocks of ``num_channels``; the first halves the resolution."""
        checks.positive_int("depth", depth)
        first = ResNeXtBlock(num_channels, groups, bot_mul, use_1x1conv=True, strides=2)
        rest = [ResNeXtBlock(num_channels, groups, bot_mul) for _ in range(depth - 1)]
        return nn.Sequential(first, *rest)

    def head(self, num_classes):
        """A global average pool, flatten and a dense layer of ``num_classes`` logits."""
        return _global_pool_head(num_classes)


class RegNetX32(core.RegNetX32Arch, AnyNet):
    """A 32-layer RegNetX: a stem of 32 channels, then stages of 4 and 6 ResNeXt blocks with 32 and 80
    channels, 16 groups and no bottleneck (``d2lx.modern_cnn.REGNETX32_ARCH``)."""
