"""Chapter 13 (computational performance) for TensorFlow: ``split_batch``, ``resnet18``, ``train_batch_ch13`` and
``evaluate_accuracy_gpus``; ``Benchmark`` and the split arithmetic are the core's (``d2lx.performance``).

d2l has only ``Benchmark`` for TensorFlow; the rest is d2lx's, in the shape of the book's PyTorch and MXNet
code. A device is a ``tf.device`` scope, as ``d2l.try_all_gpus()`` gives: ``split_batch`` copies each shard
inside its scope, and ``train_batch_ch13`` computes each shard's loss and gradients inside its device's
scope, adds the gradients (the summed loss's, as the book's PyTorch ``l.sum().backward()``) and applies
them once with the Keras optimizer. ``tf.distribute.MirroredStrategy`` is the framework's own way of doing
the same for a whole ``fit``.
"""

from __future__ import annotations

import tensorflow as tf

from d2lx import modern_cnn as spec
from d2lx.functional import accuracy
from d2lx.performance import Benchmark, accuracy_over_shards, check_devices, split_bounds
from d2lx.tensorflow.devices import try_all_gpus
from d2lx.tensorflow.functional import _call_loss
from d2lx.tensorflow.modern_cnn import Residual

__all__ = ["Benchmark", "split_batch", "resnet18", "train_batch_ch13", "evaluate_accuracy_gpus"]


def _copy(x, device):
    with device:
        return tf.identity(x)


def split_batch(X, y, devices):
    """Split ``X`` and ``y`` into one shard per device scope (``n // k`` examples each, the first ``n % k`` one
    more): ``(X_shards, y_shards)``, shard ``i`` copied inside ``devices[i]``."""
    bounds = split_bounds(X, y, devices)
    return (
        [_copy(X[a:b], device) for (a, b), device in zip(bounds, devices)],
        [_copy(y[a:b], device) for (a, b), device in zip(bounds, devices)],
    )


def resnet18(num_classes):
    """The chapter's ResNet-18 for small images (channels last): a 3x3 convolution of stride 1 and no
    max-pooling before the four residual stages (64, 128, 256, 512 channels), then global average pooling
    and a dense layer."""
    layers = [
        tf.keras.layers.Conv2D(64, kernel_size=3, strides=1, padding="same"),
        tf.keras.layers.BatchNormalization(),
        tf.keras.layers.Activation("relu"),
    ]
    for i, (num_residuals, num_channels) in enumerate(spec.RESNET18_ARCH):
        stage = [Residual(num_channels, **kw) for kw in spec.residual_stage(num_residuals, first_block=(i == 0))]
        layers.append(tf.keras.Sequential(stage, name=f"resnet_block{i + 1}"))
    layers += [tf.keras.layers.GlobalAvgPool2D(), tf.keras.layers.Dense(num_classes)]
    return tf.keras.Sequential(layers)


def train_batch_ch13(net, X, y, loss, trainer, devices):
    """One minibatch of data-parallel training: the batch split over ``devices``, each shard's summed loss and
    its gradients computed in its device's scope, their sum applied once by ``trainer`` (a Keras optimizer).
    Returns the summed loss and the number of correct predictions."""
    devices = check_devices("train_batch_ch13", devices)
    if not isinstance(trainer, tf.keras.optimizers.Optimizer):
        raise TypeError(
            f"train_batch_ch13: trainer must be a tf.keras.optimizers.Optimizer, got {type(trainer).__name__}"
        )
    X_shards, y_shards = split_batch(X, y, devices)
    total_grads, loss_sum, acc_sum = None, 0.0, 0.0
    for X_shard, y_shard, device in zip(X_shards, y_shards, devices):
        with device, tf.GradientTape() as tape:
            pred = net(X_shard, training=True)
            l = tf.reduce_sum(_call_loss(loss, pred, y_shard))
        grads = tape.gradient(l, net.trainable_variables)
        total_grads = grads if total_grads is None else [a + b for a, b in zip(total_grads, grads)]
        loss_sum += float(l)
        acc_sum += accuracy(pred, y_shard)
    trainer.apply_gradients(zip(total_grads, net.trainable_variables))
    return loss_sum, acc_sum


def evaluate_accuracy_gpus(net, data_iter, split_f=split_batch, devices=None):
    """The accuracy of ``net`` on ``data_iter``, each batch split over ``devices`` (default:
    ``d2l.try_all_gpus()``) and each shard predicted inside its device's scope."""
    devices = try_all_gpus() if devices is None else check_devices("evaluate_accuracy_gpus", devices)

    def predict(X, i):
        with devices[i]:
            return net(X, training=False)

    return accuracy_over_shards(predict, data_iter, split_f, devices)
