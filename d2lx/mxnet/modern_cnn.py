"""Modern convolutional networks for MXNet (the 1.0 edition's chapter 8): AlexNet to RegNetX.

The layers are the book's MXNet layers (Gluon, activations fused into ``Conv2D``/``Dense`` where the
book fuses them, ``init.Xavier()`` for the networks the book initialises that way, MXNet's default
initializer for the batch-norm LeNets, which call ``self.initialize()`` in the book). The numbers
shared by every backend (GoogLeNet's Inception channels, ResNet-18's stages, DenseNet's transitions,
RegNetX-32's stages, ResNeXt's groups) come from ``d2lx.modern_cnn``.

Where d2lx differs from the book's MXNet code, on purpose:

* A ``Flatten`` layer before the first dense layer of AlexNet, VGG and the batch-norm LeNets, and at
  the end of GoogLeNet's ``b5``: Gluon's ``Dense`` flattens by itself, so the network computes the
  same function, but ``layer_summary`` now prints the flattened shape as the book's text does.
* ``ResNeXtBlock(groups=g)`` makes a 3x3 convolution of ``g`` groups, as the book's text says (its
  code divides the bottleneck channels by ``groups``), and ``AnyNet.stage`` passes ``groups`` and
  ``bot_mul`` by keyword: the book's MXNet ``stage`` passes ``(num_channels, num_channels, groups,
  bot_mul)`` to all but the first block, which shifts ``groups``, ``bot_mul`` and ``use_1x1conv``.
* The scratch ``BatchNorm`` uses ``eps=1e-5`` (Gluon's ``BatchNorm`` and the book's PyTorch code;
  its MXNet code writes 1e-12), and ``batch_norm`` updates the moving statistics outside autograd.

Training and prediction mode are MXNet's: ``autograd.record()`` (the trainer's training step) is
training mode, so dropout is on and batch norm uses and updates the batch's statistics; validation
runs outside ``record()``, so it uses the moving statistics and leaves them as they are.
"""

from __future__ import annotations

from functools import partial

from mxnet import autograd, init, np, npx
from mxnet.gluon import nn

from d2lx import checks
from d2lx import modern_cnn as core
from d2lx.mxnet.module import Classifier


def _sequential(*layers) -> nn.Sequential:
    """A Gluon ``Sequential`` holding ``layers`` (Gluon 1.x has no constructor arguments for them)."""
    net = nn.Sequential()
    net.add(*layers)
    return net


def _dense_head(num_classes: int) -> list:
    """AlexNet's and VGG's classifier: flatten, two ReLU dense layers of 4096 with dropout 0.5, the output."""
    return [
        nn.Flatten(),
        nn.Dense(4096, activation="relu"),
        nn.Dropout(0.5),
        nn.Dense(4096, activation="relu"),
        nn.Dropout(0.5),
        nn.Dense(num_classes),
    ]


# --- AlexNet (section 8.1) --------------------------------------------------------------------------
class AlexNet(Classifier):
    """Five ReLU convolutions (11x11 stride 4, 5x5, three 3x3) with three max-pools, then two dense
    layers of 4096 with dropout 0.5; the book's input is 224x224 (at least 65x65 works)."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = _sequential(
            nn.Conv2D(96, kernel_size=11, strides=4, activation="relu"),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Conv2D(256, kernel_size=5, padding=2, activation="relu"),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Conv2D(384, kernel_size=3, padding=1, activation="relu"),
            nn.Conv2D(384, kernel_size=3, padding=1, activation="relu"),
            nn.Conv2D(256, kernel_size=3, padding=1, activation="relu"),
            nn.MaxPool2D(pool_size=3, strides=2),
            *_dense_head(num_classes),
        )
        self.net.initialize(init.Xavier())


# --- VGG (section 8.2) ------------------------------------------------------------------------------
def vgg_block(num_convs, num_channels):
    """``num_convs`` padded 3x3 ReLU convolutions of ``num_channels``, then a 2x2 max-pool that halves
    the height and width."""
    checks.hyperparameters({"num_convs": num_convs, "num_channels": num_channels})
    convs = [nn.Conv2D(num_channels, kernel_size=3, padding=1, activation="relu") for _ in range(num_convs)]
    return _sequential(*convs, nn.MaxPool2D(pool_size=2, strides=2))


class VGG(Classifier):
    """One ``vgg_block`` per ``(num_convs, num_channels)`` of ``arch``, then AlexNet's dense head.

    The book summarises VGG-11 (``((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))``) and trains the
    same architecture with a quarter of the channels; each block halves the input, 224 becomes 7.
    """

    def __init__(self, arch, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential()
        for num_convs, num_channels in arch:
            self.net.add(vgg_block(num_convs, num_channels))
        self.net.add(*_dense_head(num_classes))
        self.net.initialize(init.Xavier())


# --- NiN (section 8.3) ------------------------------------------------------------------------------
def nin_block(num_channels, kernel_size, strides, padding):
    """A ReLU convolution (``kernel_size``, ``strides``, ``padding``), then two 1x1 ReLU convolutions:
    a dense layer applied at every pixel."""
    checks.hyperparameters({"num_channels": num_channels})
    return _sequential(
        nn.Conv2D(num_channels, kernel_size, strides, padding, activation="relu"),
        nn.Conv2D(num_channels, kernel_size=1, activation="relu"),
        nn.Conv2D(num_channels, kernel_size=1, activation="relu"),
    )


class NiN(Classifier):
    """Three NiN blocks with max-pools, dropout, a last NiN block with one channel per class, and a
    global average pool as the classifier: no dense layer, and any input size from 67x67 works."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = _sequential(
            nin_block(96, kernel_size=11, strides=4, padding=0),
            nn.MaxPool2D(pool_size=3, strides=2),
            nin_block(256, kernel_size=5, strides=1, padding=2),
            nn.MaxPool2D(pool_size=3, strides=2),
            nin_block(384, kernel_size=3, strides=1, padding=1),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Dropout(0.5),
            nin_block(num_classes, kernel_size=3, strides=1, padding=1),
            nn.GlobalAvgPool2D(),
            nn.Flatten(),
        )
        self.net.initialize(init.Xavier())


# --- GoogLeNet (section 8.4) ------------------------------------------------------------------------
class Inception(core.InceptionSteps, nn.Block):
    """Four parallel paths concatenated along the channels: a 1x1 convolution (``c1`` channels), 1x1
    then 3x3 (``c2 = (reduce, out)``), 1x1 then 5x5 (``c3``), a 3x3 max-pool then 1x1 (``c4``).
    Every path keeps the height and width; the output has ``c1 + c2[1] + c3[1] + c4`` channels.
    The ReLUs are the convolutions' own; ``forward`` is ``d2lx.modern_cnn.InceptionSteps``'s."""

    _concat_channels = staticmethod(partial(np.concatenate, axis=1))

    def __init__(self, c1, c2, c3, c4, **kwargs):
        super().__init__(**kwargs)
        checks.hyperparameters({"c1": c1, "c2": c2, "c3": c3, "c4": c4})
        self.b1_1 = nn.Conv2D(c1, kernel_size=1, activation="relu")
        self.b2_1 = nn.Conv2D(c2[0], kernel_size=1, activation="relu")
        self.b2_2 = nn.Conv2D(c2[1], kernel_size=3, padding=1, activation="relu")
        self.b3_1 = nn.Conv2D(c3[0], kernel_size=1, activation="relu")
        self.b3_2 = nn.Conv2D(c3[1], kernel_size=5, padding=2, activation="relu")
        self.b4_1 = nn.MaxPool2D(pool_size=3, strides=1, padding=1)
        self.b4_2 = nn.Conv2D(c4, kernel_size=1, activation="relu")


def _inceptions(specs) -> list:
    return [Inception(*spec) for spec in specs]


class GoogleNet(Classifier):
    """The stem ``b1``, ``b2``, three groups of Inception blocks ``b3``-``b5`` (the last ending in a
    global average pool), and a dense layer. ``__init__`` calls the methods, so a ``b1``-``b5``
    redefined with ``@d2l.add_to_class(d2l.GoogleNet)`` is used by the next model made."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = _sequential(self.b1(), self.b2(), self.b3(), self.b4(), self.b5(), nn.Dense(num_classes))
        self.net.initialize(init.Xavier())

    def b1(self):
        """A 7x7 convolution of 64 channels with stride 2 and a max-pool: 96x96 becomes 24x24."""
        return _sequential(
            nn.Conv2D(64, kernel_size=7, strides=2, padding=3, activation="relu"),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1),
        )

    def b2(self):
        """A 1x1 convolution of 64 channels, a 3x3 of 192, a max-pool."""
        return _sequential(
            nn.Conv2D(64, kernel_size=1, activation="relu"),
            nn.Conv2D(192, kernel_size=3, padding=1, activation="relu"),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1),
        )

    def b3(self):
        """Two Inception blocks (256, then 480 channels) and a max-pool."""
        return _sequential(*_inceptions(core.GOOGLENET_B3), nn.MaxPool2D(pool_size=3, strides=2, padding=1))

    def b4(self):
        """Five Inception blocks (512, 512, 512, 528, 832 channels) and a max-pool."""
        return _sequential(*_inceptions(core.GOOGLENET_B4), nn.MaxPool2D(pool_size=3, strides=2, padding=1))

    def b5(self):
        """Two Inception blocks (832, 1024 channels), a global average pool, flattened."""
        return _sequential(*_inceptions(core.GOOGLENET_B5), nn.GlobalAvgPool2D(), nn.Flatten())


# --- Batch normalization (section 8.5) --------------------------------------------------------------
def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    """Batch normalization of ``X`` (``(batch, features)`` or ``(batch, channels, height, width)``).

    Returns ``(Y, moving_mean, moving_var)``. In training mode (``autograd.is_training()``: inside
    ``autograd.record()``) ``X`` is normalized with its own mean and variance per feature (per channel,
    over the batch and every position), and the moving averages move by ``momentum`` towards them:
    ``(1 - momentum) * moving + momentum * batch``. In prediction mode ``X`` is normalized with the
    moving averages, which are returned unchanged. ``gamma`` and ``beta`` scale and shift the result.
    """
    if X.ndim not in (2, 4):
        raise ValueError(
            f"batch_norm: X must have 2 dimensions (batch, features) or 4 (batch, channels, height, width), "
            f"got shape {X.shape}"
        )
    if not autograd.is_training():
        X_hat = (X - moving_mean) / np.sqrt(moving_var + eps)
        return gamma * X_hat + beta, moving_mean, moving_var
    axes = (0,) if X.ndim == 2 else (0, 2, 3)  # every axis but the features' (channels')
    mean = X.mean(axis=axes, keepdims=True)
    var = ((X - mean) ** 2).mean(axis=axes, keepdims=True)
    X_hat = (X - mean) / np.sqrt(var + eps)
    with autograd.pause():  # the moving averages are statistics, not part of the gradient's graph
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean.reshape(moving_mean.shape)
        moving_var = (1.0 - momentum) * moving_var + momentum * var.reshape(moving_var.shape)
    return gamma * X_hat + beta, moving_mean, moving_var


class BatchNorm(nn.Block):
    """The book's scratch batch-norm layer: ``BatchNorm(num_features, num_dims)``.

    ``num_features`` is the number of outputs of a dense layer or of channels of a convolution,
    ``num_dims`` 2 after a dense layer and 4 after a convolution. ``gamma`` (ones) and ``beta``
    (zeros) are Gluon parameters; ``moving_mean`` (zeros) and ``moving_var`` (ones) are the arrays of
    two more, ``running_mean`` and ``running_var``, which are not trained (``grad_req="null"``): as
    Gluon's own ``BatchNorm`` keeps them, so ``save_parameters`` saves them and ``load_parameters``
    gives them back (the book's plain arrays were lost on a reload, and the reloaded model predicted
    with zeros and ones). ``forward`` replaces them in training mode, on every context they live on.
    """

    eps = 1e-5
    momentum = 0.1

    def __init__(self, num_features, num_dims, **kwargs):
        super().__init__(**kwargs)
        num_features = checks.positive_int("num_features", num_features)
        if num_dims not in (2, 4) or isinstance(num_dims, bool):
            raise ValueError(
                f"BatchNorm: num_dims must be 2 (after a dense layer) or 4 (after a convolution), got {num_dims!r}"
            )
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = self.params.get("gamma", shape=shape, init=init.One())
        self.beta = self.params.get("beta", shape=shape, init=init.Zero())
        statistic = {"shape": shape, "grad_req": "null", "differentiable": False}
        self.running_mean = self.params.get("running_mean", init=init.Zero(), **statistic)
        self.running_var = self.params.get("running_var", init=init.One(), **statistic)

    def _statistic(self, param):
        """``param``'s array on the context of the last input (the first context before any input)."""
        ctx = getattr(self, "_input_ctx", None)
        return param.data(ctx) if ctx in param.list_ctx() else param.list_data()[0]

    moving_mean = property(
        lambda self: self._statistic(self.running_mean), lambda self, value: self.running_mean.set_data(value)
    )
    moving_var = property(
        lambda self: self._statistic(self.running_var), lambda self, value: self.running_var.set_data(value)
    )

    def forward(self, X):
        ctx = self._input_ctx = X.ctx
        Y, mean, var = batch_norm(
            X, self.gamma.data(ctx), self.beta.data(ctx), self.running_mean.data(ctx), self.running_var.data(ctx),
            eps=self.eps, momentum=self.momentum,
        )  # fmt: skip
        if autograd.is_training():
            self.moving_mean, self.moving_var = mean, var
        return Y


def _bn_lenet(batch_norm_layer) -> nn.Sequential:
    """LeNet with a batch norm (``batch_norm_layer(features, num_dims)``) before each sigmoid."""
    return _sequential(
        nn.Conv2D(6, kernel_size=5), batch_norm_layer(6, 4), nn.Activation("sigmoid"),
        nn.AvgPool2D(pool_size=2, strides=2),
        nn.Conv2D(16, kernel_size=5), batch_norm_layer(16, 4), nn.Activation("sigmoid"),
        nn.AvgPool2D(pool_size=2, strides=2),
        nn.Flatten(),
        nn.Dense(120), batch_norm_layer(120, 2), nn.Activation("sigmoid"),
        nn.Dense(84), batch_norm_layer(84, 2), nn.Activation("sigmoid"),
    )  # fmt: skip


class BNLeNetScratch(Classifier):
    """LeNet with the scratch ``BatchNorm`` after each convolution and hidden dense layer."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = _bn_lenet(BatchNorm)
        self.net.add(nn.Dense(num_classes))
        self.initialize()


class BNLeNet(Classifier):
    """LeNet with Gluon's ``nn.BatchNorm`` after each convolution and hidden dense layer."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = _bn_lenet(lambda num_features, num_dims: nn.BatchNorm())
        self.net.add(nn.Dense(num_classes))
        self.initialize()


# --- ResNet and ResNeXt (section 8.6) ---------------------------------------------------------------
class Residual(core.ResidualSteps, nn.Block):
    """Two 3x3 convolutions with batch norm, added to the input (through a 1x1 convolution of stride
    ``strides`` when ``use_1x1conv``, which lets the block change the channels and halve the size);
    ``forward`` is ``d2lx.modern_cnn.ResidualSteps``'s."""

    _relu = staticmethod(npx.relu)

    def __init__(self, num_channels, use_1x1conv=False, strides=1, **kwargs):
        super().__init__(**kwargs)
        checks.hyperparameters({"num_channels": num_channels})
        self.conv1 = nn.Conv2D(num_channels, kernel_size=3, padding=1, strides=strides)
        self.conv2 = nn.Conv2D(num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2D(num_channels, kernel_size=1, strides=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm()
        self.bn2 = nn.BatchNorm()


def _stem_7x7(num_channels: int = 64) -> nn.Sequential:
    """ResNet's and DenseNet's first module: a 7x7 convolution of ``num_channels`` (ResNet: 64) with
    stride 2, batch norm, ReLU and a max-pool (96x96 becomes 24x24)."""
    return _sequential(
        nn.Conv2D(num_channels, kernel_size=7, strides=2, padding=3),
        nn.BatchNorm(),
        nn.Activation("relu"),
        nn.MaxPool2D(pool_size=3, strides=2, padding=1),
    )


class ResNet(Classifier):
    """``b1()``, then one ``block(num_residuals, num_channels)`` per pair of ``arch`` (all but the first
    halve the size), a global average pool and a dense layer."""

    def __init__(self, arch, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = _sequential(self.b1())
        for i, (num_residuals, num_channels) in enumerate(arch):
            self.net.add(self.block(num_residuals, num_channels, first_block=(i == 0)))
        self.net.add(nn.GlobalAvgPool2D(), nn.Dense(num_classes))
        self.net.initialize(init.Xavier())

    def b1(self):
        return _stem_7x7()

    def block(self, num_residuals, num_channels, first_block=False):
        """``num_residuals`` residual blocks; the first halves the size and changes the channels, except in
        the first module (``first_block``), which follows a max-pool already."""
        blk = nn.Sequential()
        for kw in core.residual_stage(num_residuals, first_block):
            blk.add(Residual(num_channels, **kw))
        return blk


class ResNet18(core.ResNet18Arch, ResNet):
    """ResNet with two residual blocks in each of four modules of 64, 128, 256, 512 channels."""


class ResNeXtBlock(core.ResNeXtSteps, nn.Block):
    """A bottleneck residual block with a grouped 3x3 convolution (``forward``:
    ``d2lx.modern_cnn.ResNeXtSteps``).

    A 1x1 convolution to ``num_channels * bot_mul`` (rounded) bottleneck channels, a 3x3 convolution
    of ``groups`` groups (with stride ``strides``), a 1x1 convolution back to ``num_channels``, each with
    batch norm; the input is added through a 1x1 convolution with batch norm when ``use_1x1conv``.
    ``groups`` must divide the bottleneck channels.
    """

    _relu = staticmethod(npx.relu)

    def __init__(self, num_channels, groups, bot_mul, use_1x1conv=False, strides=1, **kwargs):
        super().__init__(**kwargs)
        groups = core.resnext_groups(num_channels, groups, bot_mul)
        bot_channels = core.bottleneck_channels(num_channels, bot_mul)
        self.conv1 = nn.Conv2D(bot_channels, kernel_size=1, padding=0, strides=1)
        self.conv2 = nn.Conv2D(bot_channels, kernel_size=3, padding=1, strides=strides, groups=groups)
        self.conv3 = nn.Conv2D(num_channels, kernel_size=1, padding=0, strides=1)
        self.bn1 = nn.BatchNorm()
        self.bn2 = nn.BatchNorm()
        self.bn3 = nn.BatchNorm()
        if use_1x1conv:
            self.conv4 = nn.Conv2D(num_channels, kernel_size=1, strides=strides)
            self.bn4 = nn.BatchNorm()
        else:
            self.conv4 = self.bn4 = None


# --- DenseNet (section 8.7) -------------------------------------------------------------------------
def conv_block(num_channels):
    """Batch norm, ReLU, then a padded 3x3 convolution of ``num_channels``."""
    checks.hyperparameters({"num_channels": num_channels})
    return _sequential(nn.BatchNorm(), nn.Activation("relu"), nn.Conv2D(num_channels, kernel_size=3, padding=1))


class DenseBlock(core.DenseBlockSteps, nn.Block):
    """``num_convs`` conv blocks, each fed the concatenation of the block's input and every earlier
    output: the channels grow by ``num_channels`` (the growth rate) per conv block (``forward`` is
    ``d2lx.modern_cnn.DenseBlockSteps``'s)."""

    _concat_channels = Inception._concat_channels

    def __init__(self, num_convs, num_channels):
        super().__init__()
        checks.hyperparameters({"num_convs": num_convs, "num_channels": num_channels})
        self.net = _sequential(*[conv_block(num_channels) for _ in range(num_convs)])


def transition_block(num_channels):
    """Batch norm, ReLU, a 1x1 convolution to ``num_channels`` and a 2x2 average pool (half the size)."""
    checks.hyperparameters({"num_channels": num_channels})
    return _sequential(
        nn.BatchNorm(),
        nn.Activation("relu"),
        nn.Conv2D(num_channels, kernel_size=1),
        nn.AvgPool2D(pool_size=2, strides=2),
    )


class DenseNet(Classifier):
    """``b1()``, one dense block per entry of ``arch`` with a transition layer that halves the channels
    between them (96, 112, 120 with the defaults), batch norm, ReLU, global average pool, dense."""

    def __init__(self, num_channels=64, growth_rate=32, arch=(4, 4, 4, 4), lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = _sequential(self.b1())
        for num_convs, transition in core.densenet_stages(num_channels, growth_rate, arch):
            self.net.add(DenseBlock(num_convs, growth_rate))
            if transition is not None:
                self.net.add(transition_block(transition))
        self.net.add(nn.BatchNorm(), nn.Activation("relu"), nn.GlobalAvgPool2D(), nn.Dense(num_classes))
        self.net.initialize(init.Xavier())

    def b1(self):
        """ResNet's stem, with ``num_channels`` channels (64 by default, as in the book)."""
        return _stem_7x7(self.num_channels)


# --- AnyNet and RegNetX (section 8.8) ---------------------------------------------------------------
class AnyNet(Classifier):
    """A stem, one stage of ResNeXt blocks per ``(depth, num_channels, groups, bot_mul)`` of ``arch``,
    and a head (global average pool, dense). The stem and every stage halve the height and width."""

    def __init__(self, arch, stem_channels, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = _sequential(self.stem(stem_channels))
        for depth, num_channels, groups, bot_mul in arch:
            self.net.add(self.stage(depth, num_channels, groups, bot_mul))
        self.net.add(self.head(num_classes))
        self.net.initialize(init.Xavier())

    def stem(self, num_channels):
        """A 3x3 convolution with stride 2, batch norm and ReLU."""
        return _sequential(
            nn.Conv2D(num_channels, kernel_size=3, padding=1, strides=2),
            nn.BatchNorm(),
            nn.Activation("relu"),
        )

    def stage(self, depth, num_channels, groups, bot_mul):
        """``depth`` ResNeXt blocks of ``num_channels``; the first halves the size (a 1x1 convolution
        with stride 2 on its shortcut)."""
        net = nn.Sequential()
        for i in range(depth):
            if i == 0:
                net.add(ResNeXtBlock(num_channels, groups=groups, bot_mul=bot_mul, use_1x1conv=True, strides=2))
            else:
                net.add(ResNeXtBlock(num_channels, groups=groups, bot_mul=bot_mul))
        return net

    def head(self, num_classes):
        """A global average pool and a dense layer of ``num_classes``."""
        return _sequential(nn.GlobalAvgPool2D(), nn.Dense(num_classes))


class RegNetX32(core.RegNetX32Arch, AnyNet):
    """The book's 32-layer RegNetX: a stem of 32 channels, stages of 4 and 6 ResNeXt blocks with 32 and
    80 channels, 16 groups, no bottleneck (``bot_mul=1``)."""
