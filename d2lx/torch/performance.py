"""Chapter 13 (computational performance) for PyTorch: ``split_batch``, ``resnet18``, ``train_batch_ch13`` and
``evaluate_accuracy_gpus``; ``Benchmark`` and the split arithmetic are the core's (``d2lx.performance``).

``split_batch`` slices the batch and moves each shard with ``.to(device)``, so it works on CPUs too (the
book's ``nn.parallel.scatter`` is CUDA-only). ``train_batch_ch13`` is the book's: the batch on
``devices[0]``, ``net.train()``, the summed loss's gradients, one ``trainer.step()``; an
``nn.DataParallel`` net spreads the work itself. ``evaluate_accuracy_gpus`` (MXNet's in the book) splits
each batch over the net's devices (a ``DataParallel``'s ``device_ids``, else its parameters' device).
"""

from __future__ import annotations

import torch
from torch import nn

from d2lx import modern_cnn as spec
from d2lx.functional import accuracy
from d2lx.performance import Benchmark, accuracy_over_shards, check_devices, split_bounds
from d2lx.torch.modern_cnn import Residual

__all__ = ["Benchmark", "split_batch", "resnet18", "train_batch_ch13", "evaluate_accuracy_gpus"]


def split_batch(X, y, devices):
    """Split ``X`` and ``y`` into one shard per device (``n // k`` examples each, the first ``n % k`` one more):
    ``(X_shards, y_shards)``, shard ``i`` on ``devices[i]``."""
    bounds = split_bounds(X, y, devices)
    return (
        [X[a:b].to(device) for (a, b), device in zip(bounds, devices)],
        [y[a:b].to(device) for (a, b), device in zip(bounds, devices)],
    )


def _resnet_block(num_channels, num_residuals, first_block=False):
    return nn.Sequential(*(Residual(num_channels, **kw) for kw in spec.residual_stage(num_residuals, first_block)))


def resnet18(num_classes, in_channels=1):
    """The chapter's ResNet-18 for small images: a 3x3 convolution of stride 1 and no max-pooling before the
    four residual stages (64, 128, 256, 512 channels), then global average pooling and a dense layer."""
    net = nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1), nn.BatchNorm2d(64), nn.ReLU())
    for i, (num_residuals, num_channels) in enumerate(spec.RESNET18_ARCH):
        net.add_module(f"resnet_block{i + 1}", _resnet_block(num_channels, num_residuals, first_block=(i == 0)))
    net.add_module("global_avg_pool", nn.AdaptiveAvgPool2d((1, 1)))
    net.add_module("fc", nn.Sequential(nn.Flatten(), nn.Linear(512, num_classes)))
    return net


def _to(X, device):
    return [x.to(device) for x in X] if isinstance(X, list) else X.to(device)


def train_batch_ch13(net, X, y, loss, trainer, devices):
    """One minibatch of training on ``devices[0]`` (``X`` may be a list of tensors): returns the summed loss
    and the number of correct predictions of the batch."""
    devices = check_devices("train_batch_ch13", devices)
    X, y = _to(X, devices[0]), y.to(devices[0])
    net.train()
    trainer.zero_grad()
    pred = net(X)
    l = loss(pred, y)
    l.sum().backward()
    trainer.step()
    return float(l.sum().detach()), accuracy(pred.detach(), y)


def _devices_of(net):
    if isinstance(net, nn.DataParallel) and net.device_ids:
        return [torch.device(net.src_device_obj.type, i) for i in net.device_ids]
    return [next((p.device for p in net.parameters()), torch.device("cpu"))]


def evaluate_accuracy_gpus(net, data_iter, split_f=split_batch):
    """The accuracy of ``net`` on ``data_iter``, each batch split over the net's devices."""
    devices = _devices_of(net)
    module = net.module if isinstance(net, nn.DataParallel) else net
    replicas = nn.parallel.replicate(module, devices) if len(devices) > 1 else [module]
    module.eval()
    with torch.no_grad():
        return accuracy_over_shards(lambda X, i: replicas[i](X), data_iter, split_f, devices)
