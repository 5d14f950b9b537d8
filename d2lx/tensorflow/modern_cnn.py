"""Modern convolutional networks for TensorFlow (the 1.0 edition's chapter 8), on Keras 3.

Images are NHWC and activations sit inside the Keras layers, as in the book's TensorFlow code; the
architectures' numbers come from the core (``d2lx.modern_cnn``). Three Keras 3 changes meet the
book's cells here:

* ``tf.keras.models.Sequential(self.b1())``: Keras 2 wrapped a single layer in a list, Keras 3
  iterates over its argument (``'Sequential' object is not iterable``). Every block this module
  builds is a ``Sequential`` that iterates as the list of itself, so that call nests it as one
  layer, as on Keras 2, whether a book cell makes it or d2lx does.
* ``Layer.add_update`` is gone: ``BatchNorm`` moves its running statistics with ``assign`` alone
  (which is what ran on Keras 2 as well).
* Keras 3 hands ``training`` only to layers whose ``call`` takes it, and a required ``training``
  fails inside ``Sequential``: ``BatchNorm.call`` takes ``training=None`` (None: evaluation).

The trainer sets ``training`` (``Module.__call__`` passes it to Keras, which passes it on to every
nested ``BatchNormalization`` and ``Dropout``): True for the training steps, False for validation.
"""

from __future__ import annotations

from functools import partial

import tensorflow as tf

from d2lx import checks
from d2lx import modern_cnn as core
from d2lx.tensorflow.module import Classifier
from d2lx.tensorflow.own_errors import KeepsOwnErrors

Conv2D = tf.keras.layers.Conv2D
Dense = tf.keras.layers.Dense
Dropout = tf.keras.layers.Dropout
MaxPool2D = tf.keras.layers.MaxPool2D
BatchNormalization = tf.keras.layers.BatchNormalization


class Sequential(tf.keras.Sequential):
    """``tf.keras.Sequential`` that is also the one-element list of itself.

    Keras 3's ``Sequential(layers)`` loops over ``layers``; the book's ``Sequential(self.b1())``
    passes one block. Iterating over this block yields the block, so the book's call nests it whole
    (its ``layer_summary`` line is the block's, as the book prints it). Its printed name stays
    ``Sequential``.
    """

    def __iter__(self):
        yield self


# --- AlexNet (section 8.1) ---------------------------------------------------------------------
class AlexNet(Classifier):
    """Five convolutions (11x11 stride 4, 5x5, three 3x3) with max pooling, then two dense layers of
    4096 with dropout 0.5; for 224x224 inputs."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.models.Sequential(
            [
                Conv2D(filters=96, kernel_size=11, strides=4, activation="relu"),
                MaxPool2D(pool_size=3, strides=2),
                Conv2D(filters=256, kernel_size=5, padding="same", activation="relu"),
                MaxPool2D(pool_size=3, strides=2),
                Conv2D(filters=384, kernel_size=3, padding="same", activation="relu"),
                Conv2D(filters=384, kernel_size=3, padding="same", activation="relu"),
                Conv2D(filters=256, kernel_size=3, padding="same", activation="relu"),
                MaxPool2D(pool_size=3, strides=2),
                tf.keras.layers.Flatten(),
                Dense(4096, activation="relu"),
                Dropout(0.5),
                Dense(4096, activation="relu"),
                Dropout(0.5),
                Dense(num_classes),
            ]
        )


# --- VGG (section 8.2) -------------------------------------------------------------------------
def _dense_head(num_classes, hidden=4096, dropout=0.5) -> list:
    """Flatten, two ReLU dense layers with dropout, the output layer (AlexNet's and VGG's classifier)."""
    return [
        tf.keras.layers.Flatten(),
        Dense(hidden, activation="relu"),
        Dropout(dropout),
        Dense(hidden, activation="relu"),
        Dropout(dropout),
        Dense(num_classes),
    ]


def vgg_block(num_convs, num_channels):
    """``num_convs`` 3x3 ReLU convolutions of ``num_channels`` (size kept), then 2x2 max pooling (size halved)."""
    checks.hyperparameters({"num_convs": num_convs, "num_channels": num_channels})
    layers = [Conv2D(num_channels, kernel_size=3, padding="same", activation="relu") for _ in range(num_convs)]
    return Sequential([*layers, MaxPool2D(pool_size=2, strides=2)])


class VGG(Classifier):
    """One ``vgg_block`` per ``(num_convs, num_channels)`` of ``arch``, then AlexNet's dense layers.

    The dense layers are ``self.net``'s own (the book's TensorFlow code nests them in one
    ``Sequential``), so that ``layer_summary`` prints each of the book's shapes.
    """

    def __init__(self, arch, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.models.Sequential()
        for num_convs, num_channels in arch:
            self.net.add(vgg_block(num_convs, num_channels))
        for layer in _dense_head(num_classes):
            self.net.add(layer)


# --- NiN (section 8.3) -------------------------------------------------------------------------
def nin_block(out_channels, kernel_size, strides, padding):
    """A convolution (``kernel_size``, ``strides``, Keras ``padding``: 'same' or 'valid') and two 1x1
    convolutions, each followed by a ReLU."""
    checks.hyperparameters({"out_channels": out_channels})
    return Sequential(
        [
            Conv2D(out_channels, kernel_size, strides=strides, padding=padding),
            tf.keras.layers.Activation("relu"),
            Conv2D(out_channels, 1),
            tf.keras.layers.Activation("relu"),
            Conv2D(out_channels, 1),
            tf.keras.layers.Activation("relu"),
        ]
    )


class NiN(Classifier):
    """Three NiN blocks with max pooling, dropout, a last NiN block of ``num_classes`` channels and a
    global average pool: any input size (96, 224, ...) ends in one score per class."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.models.Sequential(
            [
                nin_block(96, kernel_size=11, strides=4, padding="valid"),
                MaxPool2D(pool_size=3, strides=2),
                nin_block(256, kernel_size=5, strides=1, padding="same"),
                MaxPool2D(pool_size=3, strides=2),
                nin_block(384, kernel_size=3, strides=1, padding="same"),
                MaxPool2D(pool_size=3, strides=2),
                Dropout(0.5),
                nin_block(num_classes, kernel_size=3, strides=1, padding="same"),
                tf.keras.layers.GlobalAvgPool2D(),
                tf.keras.layers.Flatten(),
            ]
        )


# --- GoogLeNet (section 8.4) -------------------------------------------------------------------
class Inception(KeepsOwnErrors, core.InceptionSteps, tf.keras.Model):
    """Four parallel paths, concatenated along the channels: a 1x1 convolution (``c1`` channels),
    1x1 then 3x3 (``c2 = (reduce, out)``), 1x1 then 5x5 (``c3``), 3x3 max pooling then 1x1 (``c4``).
    The ReLUs are the convolutions' own; the wiring is ``d2lx.modern_cnn.InceptionSteps.forward``."""

    _concat_channels = staticmethod(partial(tf.concat, axis=-1))

    def __init__(self, c1, c2, c3, c4, **kwargs):
        super().__init__(**kwargs)
        checks.hyperparameters({"c1": c1, "c2": c2, "c3": c3, "c4": c4})
        self.b1_1 = Conv2D(c1, 1, activation="relu")
        self.b2_1 = Conv2D(c2[0], 1, activation="relu")
        self.b2_2 = Conv2D(c2[1], 3, padding="same", activation="relu")
        self.b3_1 = Conv2D(c3[0], 1, activation="relu")
        self.b3_2 = Conv2D(c3[1], 5, padding="same", activation="relu")
        self.b4_1 = MaxPool2D(3, 1, padding="same")
        self.b4_2 = Conv2D(c4, 1, activation="relu")

    def call(self, x):
        return self.forward(x)


class GoogleNet(Classifier):
    """Five stages ``b1()`` .. ``b5()`` and a dense output layer; for 96x96 inputs in the book.

    ``__init__`` calls the stage methods, so a cell that redefines one with
    ``@d2l.add_to_class(d2l.GoogleNet)`` changes the network built next.
    """

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.models.Sequential(
            [self.b1(), self.b2(), self.b3(), self.b4(), self.b5(), Dense(num_classes)]
        )

    def b1(self):
        return Sequential(
            [
                Conv2D(64, 7, strides=2, padding="same", activation="relu"),
                MaxPool2D(pool_size=3, strides=2, padding="same"),
            ]
        )

    def b2(self):
        return Sequential(
            [
                Conv2D(64, 1, activation="relu"),
                Conv2D(192, 3, padding="same", activation="relu"),
                MaxPool2D(pool_size=3, strides=2, padding="same"),
            ]
        )

    def b3(self):
        return Sequential(
            [*(Inception(*spec) for spec in core.GOOGLENET_B3), MaxPool2D(pool_size=3, strides=2, padding="same")]
        )

    def b4(self):
        return Sequential(
            [*(Inception(*spec) for spec in core.GOOGLENET_B4), MaxPool2D(pool_size=3, strides=2, padding="same")]
        )

    def b5(self):
        return Sequential(
            [
                *(Inception(*spec) for spec in core.GOOGLENET_B5),
                tf.keras.layers.GlobalAvgPool2D(),
                tf.keras.layers.Flatten(),
            ]
        )


# --- batch normalization (section 8.5) ---------------------------------------------------------
BATCH_NORM_MOMENTUM = 0.1  # the weight of the new batch in the running statistics
BATCH_NORM_EPS = 1e-5


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps):
    """``gamma * (X - mean) / sqrt(var + eps) + beta`` with the given per-channel ``moving_mean`` and
    ``moving_var`` (the last axis of ``X``), as the book's TensorFlow version: one scale and shift
    per channel, so the whole batch is one multiply and one add."""
    inv = tf.cast(tf.math.rsqrt(moving_var + eps), X.dtype) * gamma
    return X * inv + (beta - moving_mean * inv)


class BatchNorm(KeepsOwnErrors, tf.keras.layers.Layer):
    """Batch normalization from scratch, as the book's TensorFlow layer: the number of features
    comes from the first batch (its last axis), ``gamma`` starts at 1 and ``beta`` at 0, the running
    ``moving_mean`` and ``moving_variance`` at 0 and 1.

    In training (``training=True``) each batch is normalized with its own per-channel statistics
    (over every axis but the last: the examples of a dense layer's output, the examples and pixels
    of an NHWC image), and the running statistics move 10% of the way towards them. Otherwise
    (``training`` False or not given) the running statistics normalize the batch and stay as they are.
    """

    def build(self, input_shape):
        shape = [input_shape[-1]]
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones", trainable=True)
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros", trainable=True)
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape, initializer="ones", trainable=False)
        super().build(input_shape)

    def assign_moving_average(self, variable, value):
        """Move ``variable`` the momentum's share of the way to ``value``; returns the assignment."""
        return variable.assign((1.0 - BATCH_NORM_MOMENTUM) * variable + BATCH_NORM_MOMENTUM * value)

    def call(self, inputs, training=None):
        if training:
            axes = list(range(len(inputs.shape) - 1))
            mean, variance = tf.nn.moments(inputs, axes)
            self.assign_moving_average(self.moving_mean, mean)
            self.assign_moving_average(self.moving_variance, variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return batch_norm(inputs, self.gamma, self.beta, mean, variance, eps=BATCH_NORM_EPS)


def _bn_lenet(normalization) -> list:
    """LeNet with a normalization layer (a fresh one from ``normalization()``) before each sigmoid."""
    AvgPool2D, Activation = tf.keras.layers.AvgPool2D, tf.keras.layers.Activation
    return [
        Conv2D(filters=6, kernel_size=5),
        normalization(),
        Activation("sigmoid"),
        AvgPool2D(pool_size=2, strides=2),
        Conv2D(filters=16, kernel_size=5),
        normalization(),
        Activation("sigmoid"),
        AvgPool2D(pool_size=2, strides=2),
        tf.keras.layers.Flatten(),
        Dense(120),
        normalization(),
        Activation("sigmoid"),
        Dense(84),
        normalization(),
        Activation("sigmoid"),
    ]


class BNLeNetScratch(Classifier):
    """LeNet with the scratch ``BatchNorm`` after each convolution and hidden dense layer.

    The book's first layer also says ``input_shape=(28, 28, 1)``, which Keras 3 warns about; the
    layers here take their sizes from the first batch instead.
    """

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.models.Sequential([*_bn_lenet(BatchNorm), Dense(num_classes)])


class BNLeNet(Classifier):
    """The same LeNet with Keras's ``BatchNormalization`` (momentum 0.99: its running statistics move
    1% of the way per batch, the scratch layer's 10%)."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.models.Sequential([*_bn_lenet(BatchNormalization), Dense(num_classes)])


# --- ResNet and ResNeXt (section 8.6) ----------------------------------------------------------
class Residual(KeepsOwnErrors, core.ResidualSteps, tf.keras.Model):
    """The residual block: two 3x3 convolutions with batch normalization, ReLU in between, added to
    the input (through a 1x1 convolution with ``strides`` when ``use_1x1conv``), then a ReLU (the
    wiring: ``d2lx.modern_cnn.ResidualSteps.forward``)."""

    _relu = staticmethod(tf.keras.activations.relu)

    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        checks.hyperparameters({"num_channels": num_channels})
        self.conv1 = Conv2D(num_channels, padding="same", kernel_size=3, strides=strides)
        self.conv2 = Conv2D(num_channels, kernel_size=3, padding="same")
        self.conv3 = Conv2D(num_channels, kernel_size=1, strides=strides) if use_1x1conv else None
        self.bn1 = BatchNormalization()
        self.bn2 = BatchNormalization()

    def call(self, X):
        return self.forward(X)


def _stem(num_channels, kernel_size, strides, pool: bool):
    """A convolution with batch normalization and ReLU, then (``pool``) 3x3 max pooling with stride 2."""
    layers = [
        Conv2D(num_channels, kernel_size=kernel_size, strides=strides, padding="same"),
        BatchNormalization(),
        tf.keras.layers.Activation("relu"),
    ]
    if pool:
        layers.append(MaxPool2D(pool_size=3, strides=2, padding="same"))
    return Sequential(layers)


class ResNet(Classifier):
    """``b1()`` (7x7 convolution, batch norm, max pooling), one ``block`` per ``(num_residuals,
    num_channels)`` of ``arch`` (each but the first halves height and width), global average pooling
    and a dense layer."""

    def __init__(self, arch, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.models.Sequential([self.b1()])
        for i, b in enumerate(arch):
            self.net.add(self.block(*b, first_block=(i == 0)))
        self.net.add(Sequential([tf.keras.layers.GlobalAvgPool2D(), Dense(units=num_classes)]))

    def b1(self):
        return _stem(64, kernel_size=7, strides=2, pool=True)

    def block(self, num_residuals, num_channels, first_block=False):
        blk = Sequential()
        for kw in core.residual_stage(num_residuals, first_block):
            blk.add(Residual(num_channels, **kw))
        return blk


class ResNet18(core.ResNet18Arch, ResNet):
    """ResNet with two residual blocks in each of four stages of 64, 128, 256 and 512 channels."""


def _block_diagonal(kernel, groups: int):
    """The ``(h, w, in, out)`` kernel of an ordinary convolution that computes the grouped one of
    ``kernel`` (``(h, w, in / groups, out)``): group ``i``'s outputs see only group ``i``'s inputs."""
    in_per_group = kernel.shape[-2]
    blocks = tf.split(kernel, groups, axis=-1)
    padded = [
        tf.pad(block, [[0, 0], [0, 0], [i * in_per_group, (groups - 1 - i) * in_per_group], [0, 0]])
        for i, block in enumerate(blocks)
    ]
    return tf.concat(padded, axis=-1)


class GroupedConv2D(Conv2D):
    """Keras's ``Conv2D(groups=...)`` (same weights, same outputs), computed as one ordinary
    convolution with the block-diagonal kernel.

    TensorFlow has no grouped convolution on the CPU, so Keras 3 compiles one with XLA, a new
    ``tf.function`` on every eager call, and XLA's gradient of it is slow on the CPU: one step of a
    stage of ``RegNetX32`` took about 20 s there, against 0.25 s this way. The price is the dense
    convolution's arithmetic (``groups`` times the grouped one's), small for the book's models.
    """

    def convolution_op(self, inputs, kernel):
        if self.groups > 1:
            kernel = _block_diagonal(kernel, self.groups)
        return super().convolution_op(inputs, kernel)


class ResNeXtBlock(KeepsOwnErrors, core.ResNeXtSteps, tf.keras.Model):
    """The ResNeXt block: 1x1, grouped 3x3 (``groups`` groups, ``strides``) and 1x1 convolutions with
    batch normalization, ``num_channels * bot_mul`` channels inside, added to the input (through a
    1x1 convolution when ``use_1x1conv``).

    ``groups`` is the number of groups, as the book's text says (its code passes
    ``bot_channels // groups``; see ``d2lx.modern_cnn.resnext_groups``). The wiring is
    ``d2lx.modern_cnn.ResNeXtSteps.forward``.
    """

    _relu = staticmethod(tf.keras.activations.relu)

    def __init__(self, num_channels, groups, bot_mul, use_1x1conv=False, strides=1):
        super().__init__()
        groups = core.resnext_groups(num_channels, groups, bot_mul)
        bot_channels = core.bottleneck_channels(num_channels, bot_mul)
        self.conv1 = Conv2D(bot_channels, 1, strides=1)
        self.conv2 = GroupedConv2D(bot_channels, 3, strides=strides, padding="same", groups=groups)
        self.conv3 = Conv2D(num_channels, 1, strides=1)
        self.bn1 = BatchNormalization()
        self.bn2 = BatchNormalization()
        self.bn3 = BatchNormalization()
        if use_1x1conv:
            self.conv4 = Conv2D(num_channels, 1, strides=strides)
            self.bn4 = BatchNormalization()
        else:
            self.conv4 = None

    def call(self, X):
        return self.forward(X)


# --- DenseNet (section 8.7) --------------------------------------------------------------------
def conv_block(num_channels):
    """Batch normalization, ReLU, then a 3x3 convolution of ``num_channels`` (the book's TensorFlow
    ``ConvBlock`` without its concatenation, which ``DenseBlock`` does)."""
    checks.hyperparameters({"num_channels": num_channels})
    return Sequential(
        [BatchNormalization(), tf.keras.layers.ReLU(), Conv2D(num_channels, kernel_size=3, padding="same")]
    )


class DenseBlock(KeepsOwnErrors, core.DenseBlockSteps, tf.keras.layers.Layer):
    """``num_convs`` ``conv_block``s, each fed the concatenation of the block's input and every
    earlier output: the channels grow by ``num_channels`` per convolution (the wiring:
    ``d2lx.modern_cnn.DenseBlockSteps.forward``)."""

    _concat_channels = Inception._concat_channels

    def __init__(self, num_convs, num_channels, **kwargs):
        super().__init__(**kwargs)
        checks.hyperparameters({"num_convs": num_convs, "num_channels": num_channels})
        self.net = [conv_block(num_channels) for _ in range(num_convs)]

    def call(self, X):
        return self.forward(X)


def transition_block(num_channels):
    """Batch normalization, ReLU, a 1x1 convolution to ``num_channels``, 2x2 average pooling with
    stride 2 (the book's TensorFlow ``TransitionBlock``)."""
    checks.hyperparameters({"num_channels": num_channels})
    return Sequential(
        [
            BatchNormalization(),
            tf.keras.layers.ReLU(),
            Conv2D(num_channels, kernel_size=1),
            tf.keras.layers.AvgPool2D(pool_size=2, strides=2),
        ]
    )


class DenseNet(Classifier):
    """``b1()`` (ResNet's), a ``DenseBlock`` per entry of ``arch`` (``growth_rate`` channels per
    convolution) with a transition between two blocks that halves the channels (96, 112, 120 for the
    defaults) and the size, then batch norm, ReLU, global average pooling and a dense layer."""

    def __init__(self, num_channels=64, growth_rate=32, arch=(4, 4, 4, 4), lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.models.Sequential([self.b1()])
        for num_convs, transition in core.densenet_stages(num_channels, growth_rate, arch):
            self.net.add(DenseBlock(num_convs, growth_rate))
            if transition is not None:
                self.net.add(transition_block(transition))
        self.net.add(
            Sequential(
                [
                    BatchNormalization(),
                    tf.keras.layers.ReLU(),
                    tf.keras.layers.GlobalAvgPool2D(),
                    tf.keras.layers.Flatten(),
                    Dense(num_classes),
                ]
            )
        )

    def b1(self):
        """ResNet's stem, with ``num_channels`` channels (64 by default, as in the book)."""
        return _stem(self.num_channels, kernel_size=7, strides=2, pool=True)


# --- AnyNet and RegNet (section 8.8) -----------------------------------------------------------
class AnyNet(Classifier):
    """``stem(stem_channels)`` (a 3x3 convolution with stride 2, batch norm, ReLU), one ``stage`` per
    ``(depth, num_channels, groups, bot_mul)`` of ``arch`` (ResNeXt blocks, the first halving the
    size) and ``head(num_classes)`` (global average pooling and a dense layer)."""

    def __init__(self, arch, stem_channels, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.models.Sequential([self.stem(stem_channels)])
        for s in arch:
            self.net.add(self.stage(*s))
        self.net.add(self.head(num_classes))

    def stem(self, num_channels):
        return _stem(num_channels, kernel_size=3, strides=2, pool=False)

    def stage(self, depth, num_channels, groups, bot_mul):
        net = Sequential()
        for i in range(checks.positive_int("depth", depth)):
            if i == 0:
                net.add(ResNeXtBlock(num_channels, groups, bot_mul, use_1x1conv=True, strides=2))
            else:
                net.add(ResNeXtBlock(num_channels, groups, bot_mul))
        return net

    def head(self, num_classes):
        return Sequential([tf.keras.layers.GlobalAvgPool2D(), Dense(units=num_classes)])


class RegNetX32(core.RegNetX32Arch, AnyNet):
    """The 32-layer RegNetX of the book: a 32-channel stem, stages of 4 and 6 ResNeXt blocks with 32
    and 80 channels, 16 groups, no bottleneck."""
