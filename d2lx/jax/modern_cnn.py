"""Modern convolutional networks for JAX (the 1.0 edition's chapter 8), in Flax linen.

As in the book's JAX code, images are NHWC, hyperparameters are dataclass fields, and the models
with dropout or batch normalization have a ``training`` field: dropout then draws from the
``'dropout'`` stream and batch normalization uses the statistics of the batch and updates its
running ones (the ``'batch_stats'`` collection, which the trainer keeps in ``trainer.state``);
with ``training=False`` both are deterministic and the running statistics are only read. The
trainer switches ``training`` itself; ``layer_summary`` is meant for ``Model(training=False)``.

Where the book's JAX code is wrong, d2lx is not (each fix is tested in tests/test_modern_cnn.py):

* ``batch_norm`` averages over the batch, height and width, axes (0, 1, 2) of an NHWC batch (one
  mean per channel); the book's averages over (0, 2, 3), the channels-first axes, which in NHWC
  are batch, width and channels (one mean per row).
* ``NiN`` pools globally, so it works at any input size (the book's pools a fixed 5x5 window,
  right only at 224).
* ``DenseNet``'s transition layers get 96, 112 and 120 channels (the book's JAX code keeps 96).
* ``ResNeXtBlock``'s ``groups`` is the number of groups of its 3x3 convolution (the book passes
  ``bot_channels // groups`` as the number of groups).

The architectures' numbers (GoogLeNet's Inception blocks, ResNet-18, DenseNet, RegNetX-32) are
the core's, shared with the other backends (``d2lx.modern_cnn``). The ReLU networks' kernels start
He-normal (see ``_conv`` below for why), the batch-normalized LeNets' Xavier-uniform.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import jax
from flax import linen as nn
from jax import lax
from jax import numpy as jnp

from d2lx import checks
from d2lx import modern_cnn as core
from d2lx.jax.module import Classifier

# --- layers with weights, and how their kernels start ----------------------------------------------
# The ReLU networks start from He-normal kernels (variance 2 / fan_in), which keep the signal's scale
# through each ReLU. With Flax's default (LeCun normal, the book's JAX code) or Xavier uniform (the
# other frameworks' ``init_cnn``), the deep ones without batch normalization (VGG, NiN, GoogLeNet)
# start with near-zero logits and barely move in their first steps: on one fixed batch of 16 images,
# 8 steps bring VGG's loss from 2.30 to 2.29 (He normal: 2.68 to 1.32). The sigmoid LeNets with batch
# normalization start from Xavier uniform, as d2lx's ``LeNet``.
_conv = partial(nn.Conv, kernel_init=nn.initializers.he_normal())
_dense = partial(nn.Dense, kernel_init=nn.initializers.he_normal())
_xavier_conv = partial(nn.Conv, kernel_init=nn.initializers.xavier_uniform())
_xavier_dense = partial(nn.Dense, kernel_init=nn.initializers.xavier_uniform())


# --- parameter-free layers with names, so that ``layer_summary`` says what each line is ----------
# The book writes these as lambdas, which its layer summary prints as ``function``.
@dataclasses.dataclass(frozen=True)
class MaxPool:
    """Max pooling over ``window`` with ``strides``; ``padding`` as Flax's (``'VALID'``, ``'SAME'``)."""

    window: tuple[int, int]
    strides: tuple[int, int]
    padding: str = "VALID"

    def __call__(self, X):
        return nn.max_pool(X, self.window, strides=self.strides, padding=self.padding)


@dataclasses.dataclass(frozen=True)
class AvgPool:
    """Average pooling over ``window`` with ``strides`` (no padding)."""

    window: tuple[int, int]
    strides: tuple[int, int]

    def __call__(self, X):
        return nn.avg_pool(X, self.window, strides=self.strides)


class GlobalAvgPool:
    """The mean over height and width of an NHWC batch, kept as a 1x1 image: any input size works."""

    def __call__(self, X):
        return X.mean(axis=(1, 2), keepdims=True)


class Flatten:
    """Each example as one row: ``(batch, features)``."""

    def __call__(self, X):
        return X.reshape((X.shape[0], -1))


class ReLU:
    """``max(X, 0)``, elementwise."""

    def __call__(self, X):
        return nn.relu(X)


class Sigmoid:
    """``1 / (1 + exp(-X))``, elementwise."""

    def __call__(self, X):
        return nn.sigmoid(X)


def _pair(name: str, value) -> tuple[int, int]:
    """``value`` (an int or two ints) as ``(height, width)``, else an error naming ``name``."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return checks.positive_int(name, value[0]), checks.positive_int(name, value[1])
    size = checks.positive_int(name, value)
    return size, size


def _as_tuples(value):
    """``value`` with its lists made tuples, at every depth: a Flax field must be hashable for a book
    cell that ``jax.jit``s a method with the model as a static argument."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def _freeze_field(module, name: str) -> None:
    object.__setattr__(module, name, _as_tuples(getattr(module, name)))


class _FixedClassifier(Classifier):
    """The fields of the models whose architecture is fixed (AlexNet, NiN, GoogLeNet, the batch-normalized
    LeNets), in the book's order, so that ``AlexNet(0.01)`` is the learning rate: ``lr``, ``num_classes``
    and ``training`` (dropout and batch normalization's mode; see this module's docstring). The models
    built from an ``arch`` declare the same three after it."""

    lr: float = 0.1
    num_classes: int = 10
    training: bool = True


class _StagedClassifier(Classifier):
    """A classifier built as ``create_net()`` from a frozen ``arch``: ResNet, DenseNet and AnyNet.

    Flax fields must be hashable, so ``arch`` (often a list in a learner's cell) becomes tuples before
    Flax checks the module; ``setup`` then builds the stages that each subclass's ``create_net`` lists.
    """

    def __post_init__(self):
        _freeze_field(self, "arch")
        super().__post_init__()

    def setup(self):
        self.net = self.create_net()


def _stem_7x7(num_channels: int, training: bool) -> nn.Sequential:
    """ResNet's and DenseNet's ``b1``: a 7x7 convolution with stride 2, batch norm, ReLU and 3x3 max pooling
    with stride 2 (a quarter of the resolution in each direction)."""
    return nn.Sequential([
        _conv(num_channels, kernel_size=(7, 7), strides=(2, 2), padding="SAME"), nn.BatchNorm(not training),
        ReLU(), MaxPool((3, 3), (2, 2), "SAME"),
    ])  # fmt: skip


# --- AlexNet (section 8.1) ------------------------------------------------------------------------
class AlexNet(_FixedClassifier):
    """Five convolutions (11x11 stride 4, 5x5, three 3x3) with max pooling, then two dense layers of 4096
    with dropout 0.5 and the output layer; input 224x224."""

    def setup(self):
        dropout = not self.training
        self.net = nn.Sequential([
            _conv(96, kernel_size=(11, 11), strides=4, padding=1), ReLU(), MaxPool((3, 3), (2, 2)),
            _conv(256, kernel_size=(5, 5)), ReLU(), MaxPool((3, 3), (2, 2)),
            _conv(384, kernel_size=(3, 3)), ReLU(),
            _conv(384, kernel_size=(3, 3)), ReLU(),
            _conv(256, kernel_size=(3, 3)), ReLU(), MaxPool((3, 3), (2, 2)),
            Flatten(),
            _dense(4096), ReLU(), nn.Dropout(0.5, deterministic=dropout),
            _dense(4096), ReLU(), nn.Dropout(0.5, deterministic=dropout),
            _dense(self.num_classes),
        ])  # fmt: skip


# --- VGG (section 8.2) ----------------------------------------------------------------------------
def vgg_block(num_convs: int, out_channels: int) -> nn.Sequential:
    """``num_convs`` 3x3 convolutions (padding 1) with ReLU, then 2x2 max pooling: the resolution halves."""
    layers: list = []
    for _ in range(checks.positive_int("num_convs", num_convs)):
        layers += [_conv(checks.positive_int("out_channels", out_channels), kernel_size=(3, 3), padding=1), ReLU()]
    return nn.Sequential([*layers, MaxPool((2, 2), (2, 2))])


class VGG(Classifier):
    """One ``vgg_block`` per ``(num_convs, out_channels)`` of ``arch``, then AlexNet's dense layers."""

    arch: tuple
    lr: float = 0.1
    num_classes: int = 10
    training: bool = True

    def __post_init__(self):
        _freeze_field(self, "arch")
        super().__post_init__()

    def setup(self):
        dropout = not self.training
        blocks = [vgg_block(num_convs, out_channels) for num_convs, out_channels in self.arch]
        self.net = nn.Sequential([
            *blocks, Flatten(),
            _dense(4096), ReLU(), nn.Dropout(0.5, deterministic=dropout),
            _dense(4096), ReLU(), nn.Dropout(0.5, deterministic=dropout),
            _dense(self.num_classes),
        ])  # fmt: skip


# --- NiN (section 8.3) ----------------------------------------------------------------------------
def nin_block(out_channels: int, kernel_size, strides, padding) -> nn.Sequential:
    """A convolution then two 1x1 convolutions, each with ReLU: a dense layer at every pixel.

    ``kernel_size`` and ``strides`` are an int or a pair; ``padding`` is an int, a pair or Flax's
    ``'SAME'``/``'VALID'`` (the book's JAX cells pass pairs, its other frameworks ints).
    """
    out_channels = checks.positive_int("out_channels", out_channels)
    return nn.Sequential([
        _conv(out_channels, kernel_size=_pair("kernel_size", kernel_size), strides=_pair("strides", strides),
                padding=padding), ReLU(),
        _conv(out_channels, kernel_size=(1, 1)), ReLU(),
        _conv(out_channels, kernel_size=(1, 1)), ReLU(),
    ])  # fmt: skip


class NiN(_FixedClassifier):
    """Three NiN blocks with max pooling, dropout, a NiN block with one channel per class, and a global
    average pool that gives the logits (no dense layer). Pools globally, so any input size works."""

    def setup(self):
        self.net = nn.Sequential([
            nin_block(96, kernel_size=11, strides=4, padding=0), MaxPool((3, 3), (2, 2)),
            nin_block(256, kernel_size=5, strides=1, padding=2), MaxPool((3, 3), (2, 2)),
            nin_block(384, kernel_size=3, strides=1, padding=1), MaxPool((3, 3), (2, 2)),
            nn.Dropout(0.5, deterministic=not self.training),
            nin_block(self.num_classes, kernel_size=3, strides=1, padding=1),
            GlobalAvgPool(), Flatten(),
        ])  # fmt: skip


# --- GoogLeNet (section 8.4) ----------------------------------------------------------------------
class Inception(core.InceptionSteps, nn.Module):
    """Four parallel paths concatenated along the channels: a 1x1 convolution (``c1`` channels), 1x1 then
    3x3 (``c2``, a pair), 1x1 then 5x5 (``c3``, a pair), 3x3 max pooling then 1x1 (``c4``); all keep the
    height and width (the wiring: ``d2lx.modern_cnn.InceptionSteps.forward``)."""

    _relu = staticmethod(nn.relu)
    _concat_channels = staticmethod(partial(jnp.concatenate, axis=-1))

    c1: int
    c2: tuple
    c3: tuple
    c4: int

    def __post_init__(self):
        _freeze_field(self, "c2")
        _freeze_field(self, "c3")
        checks.hyperparameters({"c1": self.c1, "c2": self.c2, "c3": self.c3, "c4": self.c4})
        super().__post_init__()

    def setup(self):
        self.b1_1 = _conv(self.c1, kernel_size=(1, 1))
        self.b2_1 = _conv(self.c2[0], kernel_size=(1, 1))
        self.b2_2 = _conv(self.c2[1], kernel_size=(3, 3), padding="SAME")
        self.b3_1 = _conv(self.c3[0], kernel_size=(1, 1))
        self.b3_2 = _conv(self.c3[1], kernel_size=(5, 5), padding="SAME")
        self.b4_1 = MaxPool((3, 3), (1, 1), "SAME")
        self.b4_2 = _conv(self.c4, kernel_size=(1, 1))

    def __call__(self, X):
        return self.forward(X)


def _inceptions(specs) -> list[Inception]:
    return [Inception(c1, c2, c3, c4) for c1, c2, c3, c4 in specs]


class GoogleNet(_FixedClassifier):
    """Stem (``b1``, ``b2``), three stages of Inception blocks (``b3``-``b5``, the last with a global
    average pool) and a dense layer; input 96x96 in the book. ``setup`` calls the ``b`` methods, so a
    book cell that replaces one with ``@d2l.add_to_class(d2l.GoogleNet)`` changes the network.
    ``training`` (not in the book's JAX code: nothing here depends on it) lets ``GoogleNet(training=False)``
    be written as for the other models."""

    def setup(self):
        self.net = nn.Sequential([self.b1(), self.b2(), self.b3(), self.b4(), self.b5(), _dense(self.num_classes)])

    @nn.nowrap
    def b1(self):
        """A 7x7 convolution with 64 channels, stride 2, then 3x3 max pooling with stride 2."""
        return nn.Sequential([
            _conv(64, kernel_size=(7, 7), strides=(2, 2), padding="SAME"), ReLU(),
            MaxPool((3, 3), (2, 2), "SAME"),
        ])  # fmt: skip

    @nn.nowrap
    def b2(self):
        """A 1x1 convolution with 64 channels, a 3x3 with 192, then 3x3 max pooling with stride 2."""
        return nn.Sequential([
            _conv(64, kernel_size=(1, 1)), ReLU(),
            _conv(192, kernel_size=(3, 3), padding="SAME"), ReLU(),
            MaxPool((3, 3), (2, 2), "SAME"),
        ])  # fmt: skip

    @nn.nowrap
    def b3(self):
        """Two Inception blocks (256, then 480 channels), then max pooling."""
        return nn.Sequential([*_inceptions(core.GOOGLENET_B3), MaxPool((3, 3), (2, 2), "SAME")])

    @nn.nowrap
    def b4(self):
        """Five Inception blocks (512, 512, 512, 528, 832 channels), then max pooling."""
        return nn.Sequential([*_inceptions(core.GOOGLENET_B4), MaxPool((3, 3), (2, 2), "SAME")])

    @nn.nowrap
    def b5(self):
        """Two Inception blocks (832, 1024 channels), then a global average pool, flattened."""
        return nn.Sequential([*_inceptions(core.GOOGLENET_B5), GlobalAvgPool(), Flatten()])


# --- batch normalization (section 8.5) ------------------------------------------------------------
def _statistics_axes(X) -> tuple[int, ...]:
    """The axes batch normalization averages over: the batch (2-D input), or the batch, height and width
    of an NHWC batch (4-D), so that there is one mean and one variance per feature or channel."""
    if X.ndim == 2:
        return (0,)
    if X.ndim == 4:
        return (0, 1, 2)
    raise ValueError(
        f"batch_norm: X must have 2 dimensions (batch, features) or 4 (batch, height, width, channels), "
        f"got shape {tuple(X.shape)}"
    )


def _normalize(X, deterministic: bool, gamma, beta, moving_mean, moving_var, eps: float, momentum: float):
    """``(Y, moving_mean, moving_var)``: the normalized, scaled and shifted ``X`` and the running statistics
    after this batch (unchanged when ``deterministic``). Pure: nothing is stored."""
    if deterministic:  # prediction: the running statistics
        X_hat = (X - moving_mean) / jnp.sqrt(moving_var + eps)
    else:  # training: this batch's statistics, per feature or channel
        axes = _statistics_axes(X)
        mean = X.mean(axis=axes, keepdims=True)
        var = ((X - mean) ** 2).mean(axis=axes, keepdims=True)
        X_hat = (X - mean) / jnp.sqrt(var + eps)
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    return gamma * X_hat + beta, moving_mean, moving_var


def _variable_value(name: str, variable):
    value = getattr(variable, "value", None)
    if value is None:
        raise TypeError(
            f"batch_norm: {name} must be a Flax variable (self.variable('batch_stats', ...)), whose .value "
            f"holds the running statistic and is updated in training, got {type(variable).__name__}"
        )
    return value


def batch_norm(X, deterministic, gamma, beta, moving_mean, moving_var, eps, momentum):
    """Batch normalization from scratch, with the book's JAX signature: returns ``Y``.

    ``deterministic`` (prediction) normalizes with the running statistics; otherwise with the mean and
    variance of this batch, per feature (``X`` of shape (batch, features)) or per channel (NHWC), and
    the Flax variables ``moving_mean`` and ``moving_var`` get ``momentum * old + (1 - momentum) * new``
    (the book's ``momentum=0.9`` keeps 90% of the old value).
    """
    mean, var = _variable_value("moving_mean", moving_mean), _variable_value("moving_var", moving_var)
    Y, mean, var = _normalize(X, deterministic, gamma, beta, mean, var, eps, momentum)
    if not deterministic:
        moving_mean.value, moving_var.value = mean, var
    return Y


class BatchNorm(nn.Module):
    """The book's scratch batch normalization layer: ``gamma`` and ``beta`` are parameters, the running
    ``moving_mean`` and ``moving_var`` live in the ``'batch_stats'`` collection.

    ``num_features``: the outputs of a dense layer or the channels of a convolution; ``num_dims``: 2 for
    a dense layer, 4 for a convolution (NHWC). ``deterministic=True`` is prediction mode. The running
    statistics start at 0 and 1 and, as with Flax's ``nn.BatchNorm``, ``init`` does not move them.
    """

    num_features: int
    num_dims: int
    deterministic: bool = False

    def __post_init__(self):
        checks.positive_int("num_features", self.num_features)
        if self.num_dims not in (2, 4):
            raise ValueError(f"BatchNorm: num_dims must be 2 (dense layer) or 4 (convolution), got {self.num_dims!r}")
        super().__post_init__()

    @nn.compact
    def __call__(self, X):
        if X.ndim != self.num_dims or X.shape[-1] != self.num_features:
            raise ValueError(
                f"BatchNorm(num_features={self.num_features}, num_dims={self.num_dims}) got X of shape "
                f"{tuple(X.shape)}: it needs {self.num_dims} dimensions with {self.num_features} features last"
            )
        shape = (1, self.num_features) if self.num_dims == 2 else (1, 1, 1, self.num_features)
        gamma = self.param("gamma", nn.initializers.ones, shape)
        beta = self.param("beta", nn.initializers.zeros, shape)
        moving_mean = self.variable("batch_stats", "moving_mean", jnp.zeros, shape)
        moving_var = self.variable("batch_stats", "moving_var", jnp.ones, shape)
        Y, mean, var = _normalize(
            X, self.deterministic, gamma, beta, moving_mean.value, moving_var.value, eps=1e-5, momentum=0.9
        )
        if not self.deterministic and not self.is_initializing():
            moving_mean.value, moving_var.value = mean, var
        return Y


def _bn_lenet(num_classes: int, norm) -> nn.Sequential:
    """LeNet (Xavier-uniform kernels) with a batch normalization before each sigmoid, after every
    convolution and hidden dense layer: ``norm(num_features, num_dims)`` makes it."""
    return nn.Sequential([
        _xavier_conv(6, kernel_size=(5, 5), padding="VALID"), norm(6, 4), Sigmoid(), AvgPool((2, 2), (2, 2)),
        _xavier_conv(16, kernel_size=(5, 5), padding="VALID"), norm(16, 4), Sigmoid(), AvgPool((2, 2), (2, 2)),
        Flatten(),
        _xavier_dense(120), norm(120, 2), Sigmoid(),
        _xavier_dense(84), norm(84, 2), Sigmoid(),
        _xavier_dense(num_classes),
    ])  # fmt: skip


class BNLeNetScratch(_FixedClassifier):
    """LeNet with the scratch ``BatchNorm`` after every convolution and hidden dense layer, before the
    sigmoid."""

    def setup(self):
        fixed = not self.training
        self.net = _bn_lenet(
            self.num_classes, lambda features, num_dims: BatchNorm(features, num_dims, deterministic=fixed)
        )


class BNLeNet(_FixedClassifier):
    """The same network with Flax's ``nn.BatchNorm``."""

    def setup(self):
        fixed = not self.training
        self.net = _bn_lenet(self.num_classes, lambda features, num_dims: nn.BatchNorm(fixed))


# --- ResNet and ResNeXt (section 8.6) -------------------------------------------------------------
class Residual(core.ResidualSteps, nn.Module):
    """Two 3x3 convolutions with batch normalization, added to the input before the last ReLU; with
    ``use_1x1conv`` a 1x1 convolution (with ``strides``) shapes the input for the sum (the wiring:
    ``d2lx.modern_cnn.ResidualSteps.forward``)."""

    _relu = staticmethod(nn.relu)

    num_channels: int
    use_1x1conv: bool = False
    strides: Any = (1, 1)
    training: bool = True

    def __post_init__(self):
        checks.hyperparameters({"num_channels": self.num_channels})
        super().__post_init__()

    def setup(self):
        fixed = not self.training
        self.conv1 = _conv(self.num_channels, kernel_size=(3, 3), padding="SAME", strides=self.strides)
        self.conv2 = _conv(self.num_channels, kernel_size=(3, 3), padding="SAME")
        self.conv3 = _conv(self.num_channels, kernel_size=(1, 1), strides=self.strides) if self.use_1x1conv else None
        self.bn1 = nn.BatchNorm(fixed)
        self.bn2 = nn.BatchNorm(fixed)

    def __call__(self, X):
        return self.forward(X)


class ResNet(_StagedClassifier):
    """``b1`` (7x7 convolution, batch norm, max pooling), one ``block`` of ``Residual``s per
    ``(num_residuals, num_channels)`` of ``arch``, then global average pooling and a dense layer."""

    arch: tuple
    lr: float = 0.1
    num_classes: int = 10
    training: bool = True

    @nn.nowrap
    def b1(self):
        """A 7x7 convolution with 64 channels and stride 2, batch norm, ReLU, 3x3 max pooling with stride 2."""
        return _stem_7x7(64, self.training)

    @nn.nowrap
    def block(self, num_residuals: int, num_channels: int, first_block: bool = False):
        """``num_residuals`` ``Residual``s; the first halves the resolution with a 1x1 convolution, except in
        the ``first_block`` (which follows ``b1``'s pooling)."""
        stage = core.residual_stage(num_residuals, first_block)
        return nn.Sequential([Residual(num_channels, **kw, training=self.training) for kw in stage])

    @nn.nowrap
    def head(self):
        """Global average pooling, flattened, and the output layer, as one layer."""
        return nn.Sequential([GlobalAvgPool(), Flatten(), _dense(self.num_classes)])

    @nn.nowrap
    def create_net(self):
        stages = [self.block(*spec, first_block=(i == 0)) for i, spec in enumerate(self.arch)]
        return nn.Sequential([self.b1(), *stages, self.head()])


class ResNet18(ResNet):
    """ResNet with two ``Residual``s per stage and 64, 128, 256, 512 channels: 18 layers with weights.

    ``arch`` is keyword-only here, so that ``ResNet18(0.01)`` is the learning rate, as elsewhere.
    """

    arch: tuple = dataclasses.field(default=core.RESNET18_ARCH, kw_only=True)


def grouped_conv_general_dilated(lhs, rhs, *args, feature_group_count: int = 1, dimension_numbers=None, **kwargs):
    """``lax.conv_general_dilated``, with a grouped convolution on the CPU done as ordinary ones.

    XLA's CPU backend computes a grouped convolution (``feature_group_count > 1``) 10-25 times slower
    than the same work done as ungrouped convolutions (RegNetX32's 2- and 5-group 3x3 convolutions,
    forward and backward, measured: 0.16-0.18 s a step against 0.01-0.02 s), which made RegNet the
    slowest model of chapter 8 on a CPU. Up to 8 groups, one convolution with a block-diagonal kernel
    (zeros between the groups): it compiles as fast as the grouped one and does ``groups`` times its
    arithmetic. More groups: one convolution per group (more to compile, no wasted arithmetic). The
    kernel parameter keeps the shape and values of ``nn.Conv(feature_group_count=...)``; only the
    computation changes. GPUs keep XLA's grouped convolution.
    """
    groups = feature_group_count
    if groups == 1 or jax.default_backend() != "cpu":
        return lax.conv_general_dilated(
            lhs, rhs, *args, feature_group_count=groups, dimension_numbers=dimension_numbers, **kwargs
        )
    numbers = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    kernel_in, kernel_out = numbers.rhs_spec[1], numbers.rhs_spec[0]
    kernels = jnp.split(rhs, groups, axis=kernel_out)
    if groups <= 8:  # each group's kernel placed at its own input channels, zeros elsewhere
        width = rhs.shape[kernel_in]
        placed = []
        for i, kernel in enumerate(kernels):
            padding = [(0, 0)] * rhs.ndim
            padding[kernel_in] = (i * width, (groups - 1 - i) * width)
            placed.append(jnp.pad(kernel, padding))
        return lax.conv_general_dilated(
            lhs, jnp.concatenate(placed, axis=kernel_out), *args, dimension_numbers=numbers, **kwargs
        )
    inputs = jnp.split(lhs, groups, axis=numbers.lhs_spec[1])
    outputs = [
        lax.conv_general_dilated(x, k, *args, dimension_numbers=numbers, **kwargs) for x, k in zip(inputs, kernels)
    ]
    return jnp.concatenate(outputs, axis=numbers.out_spec[1])


class ResNeXtBlock(core.ResNeXtSteps, nn.Module):
    """1x1 convolution to ``num_channels * bot_mul`` channels, a 3x3 convolution in ``groups`` groups,
    1x1 back to ``num_channels``, each with batch norm, added to the input (through a 1x1 convolution
    with ``strides`` when ``use_1x1conv``).

    ``groups`` is the number of groups (the book's JAX code divides the channels by it instead).
    The wiring is ``d2lx.modern_cnn.ResNeXtSteps.forward``.
    """

    _relu = staticmethod(nn.relu)

    num_channels: int
    groups: int
    bot_mul: float
    use_1x1conv: bool = False
    strides: Any = (1, 1)
    training: bool = True

    def __post_init__(self):
        core.resnext_groups(self.num_channels, self.groups, self.bot_mul)  # must divide the channels
        super().__post_init__()

    def setup(self):
        fixed = not self.training
        bot_channels = core.bottleneck_channels(self.num_channels, self.bot_mul)
        self.conv1 = _conv(bot_channels, kernel_size=(1, 1))
        self.conv2 = _conv(
            bot_channels, kernel_size=(3, 3), strides=self.strides, padding="SAME",
            feature_group_count=core.resnext_groups(self.num_channels, self.groups, self.bot_mul),
            conv_general_dilated=grouped_conv_general_dilated,
        )  # fmt: skip
        self.conv3 = _conv(self.num_channels, kernel_size=(1, 1))
        self.bn1, self.bn2, self.bn3 = nn.BatchNorm(fixed), nn.BatchNorm(fixed), nn.BatchNorm(fixed)
        if self.use_1x1conv:
            self.conv4 = _conv(self.num_channels, kernel_size=(1, 1), strides=self.strides)
            self.bn4 = nn.BatchNorm(fixed)
        else:
            self.conv4 = self.bn4 = None

    def __call__(self, X):
        return self.forward(X)


# --- DenseNet (section 8.7) -----------------------------------------------------------------------
def conv_block(num_channels: int, training: bool = True) -> nn.Sequential:
    """Batch norm, ReLU and a 3x3 convolution with ``num_channels`` outputs (the "BN, activation,
    convolution" order of DenseNet). The book's JAX ``ConvBlock`` also concatenates its input: here
    ``DenseBlock`` does, as on the other frameworks."""
    return nn.Sequential([
        nn.BatchNorm(not training), ReLU(),
        _conv(checks.positive_int("num_channels", num_channels), kernel_size=(3, 3), padding=1),
    ])  # fmt: skip


class DenseBlock(core.DenseBlockSteps, nn.Module):
    """``num_convs`` ``conv_block``s, each fed the concatenation of the block's input and every earlier
    output: the channels grow by ``num_channels`` (the growth rate) per convolution (the wiring:
    ``d2lx.modern_cnn.DenseBlockSteps.forward``)."""

    _concat_channels = Inception._concat_channels

    num_convs: int
    num_channels: int
    training: bool = True

    def __post_init__(self):
        checks.hyperparameters({"num_convs": self.num_convs, "num_channels": self.num_channels})
        super().__post_init__()

    def setup(self):
        self.net = [conv_block(self.num_channels, self.training) for _ in range(self.num_convs)]

    def __call__(self, X):
        return self.forward(X)


def transition_block(num_channels: int, training: bool = True) -> nn.Sequential:
    """Batch norm, ReLU, a 1x1 convolution to ``num_channels`` and 2x2 average pooling with stride 2:
    fewer channels and half the resolution between dense blocks."""
    return nn.Sequential([
        nn.BatchNorm(not training), ReLU(),
        _conv(checks.positive_int("num_channels", num_channels), kernel_size=(1, 1)),
        AvgPool((2, 2), (2, 2)),
    ])  # fmt: skip


class DenseNet(_StagedClassifier):
    """``b1`` (as ResNet's), dense blocks of ``arch[i]`` convolutions with ``growth_rate`` channels each,
    transition layers that halve the channels between them (96, 112, 120 for the defaults), then batch
    norm, ReLU, global average pooling and a dense layer."""

    num_channels: int = core.DENSENET_DEFAULTS["num_channels"]
    growth_rate: int = core.DENSENET_DEFAULTS["growth_rate"]
    arch: tuple = core.DENSENET_DEFAULTS["arch"]
    lr: float = 0.1
    num_classes: int = 10
    training: bool = True

    @nn.nowrap
    def b1(self):
        """A 7x7 convolution with ``num_channels`` (64) channels and stride 2, batch norm, ReLU, max pooling."""
        return _stem_7x7(self.num_channels, self.training)

    @nn.nowrap
    def create_net(self):
        layers = [self.b1()]
        for num_convs, transition in core.densenet_stages(self.num_channels, self.growth_rate, self.arch):
            layers.append(DenseBlock(num_convs, self.growth_rate, training=self.training))
            if transition is not None:
                layers.append(transition_block(transition, training=self.training))
        head = nn.Sequential([
            nn.BatchNorm(not self.training), ReLU(), GlobalAvgPool(), Flatten(), _dense(self.num_classes),
        ])  # fmt: skip
        return nn.Sequential([*layers, head])


# --- AnyNet and RegNetX (section 8.8) -------------------------------------------------------------
class AnyNet(_StagedClassifier):
    """A stem (3x3 convolution with stride 2, batch norm), one ``stage`` of ``ResNeXtBlock``s per
    ``(depth, num_channels, groups, bot_mul)`` of ``arch``, and a head (global average pooling and a
    dense layer)."""

    arch: tuple
    stem_channels: int
    lr: float = 0.1
    num_classes: int = 10
    training: bool = True

    @nn.nowrap
    def stem(self, num_channels: int):
        """A 3x3 convolution with stride 2 (half the resolution), batch norm and ReLU."""
        return nn.Sequential([
            _conv(num_channels, kernel_size=(3, 3), strides=(2, 2), padding=1),
            nn.BatchNorm(not self.training), ReLU(),
        ])  # fmt: skip

    @nn.nowrap
    def stage(self, depth: int, num_channels: int, groups: int, bot_mul: float):
        """``depth`` ``ResNeXtBlock``s; the first halves the resolution."""
        blocks = []
        for i in range(checks.positive_int("depth", depth)):
            if i == 0:
                blocks.append(ResNeXtBlock(num_channels, groups, bot_mul, use_1x1conv=True, strides=(2, 2),
                                           training=self.training))  # fmt: skip
            else:
                blocks.append(ResNeXtBlock(num_channels, groups, bot_mul, training=self.training))
        return nn.Sequential(blocks)

    @nn.nowrap
    def head(self, num_classes: int):
        """Global average pooling, flattened, and a dense layer with ``num_classes`` outputs, as one layer."""
        return nn.Sequential([GlobalAvgPool(), Flatten(), _dense(num_classes)])

    @nn.nowrap
    def create_net(self):
        stages = [self.stage(*spec) for spec in self.arch]
        return nn.Sequential([self.stem(self.stem_channels), *stages, self.head(self.num_classes)])


class RegNetX32(AnyNet):
    """AnyNet with a 32-channel stem and two stages of 4 and 6 blocks with 32 and 80 channels, 16 groups and
    no bottleneck. ``arch`` and ``stem_channels`` are keyword-only, so ``RegNetX32(0.05)`` is the learning rate."""

    arch: tuple = dataclasses.field(default=core.REGNETX32_ARCH, kw_only=True)
    stem_channels: int = dataclasses.field(default=core.REGNETX32_STEM, kw_only=True)
