"""Chapter 13 (computational performance) for JAX, which d2l does not cover: ``split_batch``, ``resnet18``,
``train_batch_ch13`` and ``evaluate_accuracy_gpus``; ``Benchmark`` and the split arithmetic are the core's
(``d2lx.performance``).

The shape of the book's PyTorch and MXNet code, in JAX's functional style (the parameters passed and
returned, as in d2lx's JAX ``train_ch3``):

* ``split_batch(X, y, devices)`` puts shard ``i`` on ``devices[i]`` with ``jax.device_put``;
* ``resnet18(num_classes)`` is a Flax module (channels last) with a ``training`` field, as d2lx's JAX
  ``Residual``; its parameters are ``{'params': ..., 'batch_stats': ...}``;
* ``train_batch_ch13(net, params, X, y, loss, trainer, devices)`` computes each shard's summed loss and
  gradients on its device (the parameters copied there), adds the gradients on ``devices[0]`` (the
  summed loss's, as the book's PyTorch ``l.sum().backward()``) and updates once; it returns
  ``(params, (train_loss_sum, train_acc_sum))``. ``net`` is a Flax module (its batch statistics are
  updated from the first shard) or a function ``net(params, X)``; ``trainer`` an Optax optimizer (its
  state kept from one call to the next) or a function ``(params, grads, batch_size) -> params``;
* ``evaluate_accuracy_gpus(net, params, data_iter, split_f=split_batch, devices=None)``: default devices
  are those of ``params``.

JAX's own data parallelism today is a ``jax.sharding.Mesh`` under ``jit``; this keeps the book's explicit
shards, one per device, so that every step of the chapter's scratch version can be seen.
"""

from __future__ import annotations

from typing import Any

import jax
import optax
from flax import linen as nn
from jax import numpy as jnp

from d2lx import modern_cnn as spec
from d2lx.functional import accuracy, updater_error
from d2lx.jax.devices import try_all_gpus
from d2lx.jax.functional import _maybe_compiled
from d2lx.jax.modern_cnn import Residual, _conv, _dense
from d2lx.performance import Benchmark, accuracy_over_shards, check_devices, split_bounds

__all__ = ["Benchmark", "split_batch", "resnet18", "train_batch_ch13", "evaluate_accuracy_gpus"]


def split_batch(X, y, devices):
    """Split ``X`` and ``y`` into one shard per device (``n // k`` examples each, the first ``n % k`` one more):
    ``(X_shards, y_shards)``, shard ``i`` on ``devices[i]``."""
    bounds = split_bounds(X, y, devices)
    return (
        [jax.device_put(X[a:b], device) for (a, b), device in zip(bounds, devices)],
        [jax.device_put(y[a:b], device) for (a, b), device in zip(bounds, devices)],
    )


class _ResNet18(nn.Module):
    """The chapter's ResNet-18 for small images (see ``resnet18``)."""

    num_classes: int
    training: bool = True

    def setup(self):
        self.conv = _conv(64, kernel_size=(3, 3), strides=(1, 1), padding="SAME")
        self.bn = nn.BatchNorm(not self.training)
        self.blocks = [
            Residual(num_channels, training=self.training, **kw)
            for i, (num_residuals, num_channels) in enumerate(spec.RESNET18_ARCH)
            for kw in spec.residual_stage(num_residuals, first_block=(i == 0))
        ]
        self.fc = _dense(self.num_classes)

    def __call__(self, X):
        X = nn.relu(self.bn(self.conv(X)))
        for block in self.blocks:
            X = block(X)
        return self.fc(X.mean(axis=(1, 2)))  # global average pooling over height and width


def resnet18(num_classes, training=True):
    """The chapter's ResNet-18 for small images (channels last): a 3x3 convolution of stride 1 and no
    max-pooling before the four residual stages (64, 128, 256, 512 channels), then global average pooling
    and a dense layer. A Flax module: ``params = net.init(key, X)``, then
    ``net.apply(params, X, mutable=['batch_stats'])`` in training."""
    return _ResNet18(num_classes, training)


def _split_params(params) -> tuple[Any, dict | None]:
    """``(trainable, other collections)``: Flax's ``{'params': ..., 'batch_stats': ...}`` or any pytree."""
    if isinstance(params, dict) and "params" in params:
        return params["params"], {k: v for k, v in params.items() if k != "params"}
    return params, None


def _forward(net, trainable, rest, X):
    """``(y_hat, updated other collections)`` of ``net`` in training."""
    if rest is None:
        return net(trainable, X), None
    variables = {"params": trainable, **rest}
    if not isinstance(net, nn.Module):
        return net(variables, X), rest
    if rest:
        return net.apply(variables, X, mutable=list(rest))
    return net.apply(variables, X), rest


# (net, loss, compiled gradient function): the latest, so that the batches of one training compile once
_latest: tuple = (None, None, None)


def _gradients(net, loss):
    global _latest
    if _latest[0] is net and _latest[1] is loss:
        return _latest[2]

    def objective(trainable, rest, X, y):
        y_hat, rest = _forward(net, trainable, rest, X)
        return loss(y_hat, y).sum(), (y_hat, rest)

    _latest = (net, loss, _maybe_compiled(jax.value_and_grad(objective, has_aux=True)))
    return _latest[2]


# id(optimizer) -> (optimizer, its state): an Optax optimizer's state lives from one batch to the next
_optimizer_states: dict[int, tuple[Any, Any]] = {}


def _update(trainer, trainable, grads, batch_size):
    if isinstance(trainer, optax.GradientTransformation):
        kept = _optimizer_states.get(id(trainer))
        same = kept is not None and kept[0] is trainer
        if not same or jax.tree_util.tree_structure(kept[1]) != jax.tree_util.tree_structure(trainer.init(trainable)):
            kept = (trainer, trainer.init(trainable))
        updates, state = trainer.update(grads, kept[1], trainable)
        _optimizer_states[id(trainer)] = (trainer, state)
        return optax.apply_updates(trainable, updates)
    if callable(trainer):
        return trainer(trainable, grads, batch_size)
    raise updater_error(trainer, "an Optax optimizer such as optax.sgd(0.1) or a function (params, grads, batch_size)")


def train_batch_ch13(net, params, X, y, loss, trainer, devices):
    """One minibatch of data-parallel training over ``devices``; returns ``(params, (train_loss_sum,
    train_acc_sum))`` with the updated parameters (see the module's docstring)."""
    devices = check_devices("train_batch_ch13", devices)
    X_shards, y_shards = split_batch(X, y, devices)
    trainable, rest = _split_params(params)
    gradients = _gradients(net, loss)
    total, loss_sum, acc_sum, new_rest = None, 0.0, 0.0, rest
    for i, (X_shard, y_shard, device) in enumerate(zip(X_shards, y_shards, devices)):
        (l, (y_hat, shard_rest)), grads = gradients(*jax.device_put((trainable, rest), device), X_shard, y_shard)
        grads = jax.device_put(grads, devices[0])
        total = grads if total is None else jax.tree_util.tree_map(jnp.add, total, grads)
        loss_sum += float(l)
        acc_sum += accuracy(y_hat, y_shard)
        if i == 0:
            new_rest = shard_rest
    trainable = _update(trainer, jax.device_put(trainable, devices[0]), total, int(X.shape[0]))
    params = trainable if rest is None else {"params": trainable, **jax.device_put(new_rest, devices[0])}
    return params, (loss_sum, acc_sum)


def _devices_of(params) -> list:
    for leaf in jax.tree_util.tree_leaves(params):
        if isinstance(leaf, jax.Array):
            return sorted(leaf.devices(), key=lambda d: d.id)
    return try_all_gpus()


def evaluate_accuracy_gpus(net, params, data_iter, split_f=split_batch, devices=None):
    """The accuracy of ``net`` with ``params`` on ``data_iter``, each batch split over ``devices`` (default:
    the devices of ``params``); a Flax module with a ``training`` field is evaluated with ``training=False``."""
    devices = _devices_of(params) if devices is None else check_devices("evaluate_accuracy_gpus", devices)
    if isinstance(net, nn.Module):
        module = net.clone(training=False) if hasattr(net, "training") else net
        predict = _maybe_compiled(module.apply)
    else:
        predict = _maybe_compiled(net)
    placed = [jax.device_put(params, device) for device in devices]
    return accuracy_over_shards(lambda X, i: predict(placed[i], X), data_iter, split_f, devices)
