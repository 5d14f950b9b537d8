"""Chapter 13 (computational performance) for MXNet: ``split_batch``, ``resnet18``, ``train_batch_ch13`` and
``evaluate_accuracy_gpus``; ``Benchmark`` and the split arithmetic are the core's (``d2lx.performance``).

The book's MXNet code is the model here: the batch split over contexts, one forward pass per shard under
``autograd.record()``, ``trainer.step(batch_size)`` summing the shards' gradients through the kvstore.
``split_batch`` slices with ``as_in_ctx`` instead of ``gluon.utils.split_and_load``, which refuses a
batch that does not divide evenly: here the first ``n % k`` shards get one example more.
"""

from __future__ import annotations

from mxnet import autograd
from mxnet.gluon import nn

from d2lx import modern_cnn as spec
from d2lx.functional import accuracy
from d2lx.mxnet.modern_cnn import Residual
from d2lx.performance import Benchmark, accuracy_over_shards, check_devices, split_bounds

__all__ = ["Benchmark", "split_batch", "resnet18", "train_batch_ch13", "evaluate_accuracy_gpus"]


def split_batch(X, y, devices):
    """Split ``X`` and ``y`` into one shard per context (``n // k`` examples each, the first ``n % k`` one
    more): ``(X_shards, y_shards)``, shard ``i`` on ``devices[i]``."""
    bounds = split_bounds(X, y, devices)
    return (
        [X[a:b].as_in_ctx(ctx) for (a, b), ctx in zip(bounds, devices)],
        [y[a:b].as_in_ctx(ctx) for (a, b), ctx in zip(bounds, devices)],
    )


def resnet18(num_classes):
    """The chapter's ResNet-18 for small images: a 3x3 convolution of stride 1 and no max-pooling before the
    four residual stages (64, 128, 256, 512 channels), then global average pooling and a dense layer."""

    def resnet_block(num_channels, num_residuals, first_block=False):
        blk = nn.Sequential()
        for kw in spec.residual_stage(num_residuals, first_block):
            blk.add(Residual(num_channels, **kw))
        return blk

    net = nn.Sequential()
    net.add(nn.Conv2D(64, kernel_size=3, strides=1, padding=1), nn.BatchNorm(), nn.Activation("relu"))
    for i, (num_residuals, num_channels) in enumerate(spec.RESNET18_ARCH):
        net.add(resnet_block(num_channels, num_residuals, first_block=(i == 0)))
    net.add(nn.GlobalAvgPool2D(), nn.Dense(num_classes))
    return net


def train_batch_ch13(net, features, labels, loss, trainer, devices, split_f=split_batch):
    """One minibatch of data-parallel training: the batch split over ``devices``, the loss of each shard on its
    context, ``trainer.step(batch_size)``. Returns the summed loss and the number of correct predictions."""
    devices = check_devices("train_batch_ch13", devices)
    X_shards, y_shards = split_f(features, labels, devices)
    with autograd.record():
        pred_shards = [net(X_shard) for X_shard in X_shards]
        ls = [loss(pred, y_shard) for pred, y_shard in zip(pred_shards, y_shards)]
    for l in ls:
        l.backward()
    # ignore_stale_grad: parameters that this batch did not reach (e.g. when fine-tuning) keep their values
    trainer.step(labels.shape[0], ignore_stale_grad=True)
    train_loss_sum = sum(float(l.sum()) for l in ls)
    train_acc_sum = sum(accuracy(pred, y_shard) for pred, y_shard in zip(pred_shards, y_shards))
    return train_loss_sum, train_acc_sum


def evaluate_accuracy_gpus(net, data_iter, split_f=split_batch):
    """The accuracy of ``net`` on ``data_iter``, each batch split over the contexts of the net's parameters."""
    devices = list(net.collect_params().values())[0].list_ctx()
    return accuracy_over_shards(lambda X, i: net(X), data_iter, split_f, devices)
