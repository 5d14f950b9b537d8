"""Hand-written training loops: the practical lower bound that ``bench.py`` holds d2lx against.

Written the way a practitioner writes a loop for data that fits in memory: the
arrays sit in the framework's memory once, each epoch shuffles an index and
slices whole batches, the step is compiled where the framework offers it
(``hybridize``, ``jax.jit``, ``tf.function``), and the loss reaches Python only
once per epoch. No board, no progress bar, no checks.

``run(backend, arrays, classify, epochs, batch_size, lr)`` trains
``X @ W + b`` (``W`` is ``N(0, 0.01)``, ``b`` zero) with minibatch SGD, and after
each training pass computes the validation loss (and accuracy when ``classify``)
in batches of ``batch_size``, as d2l's ``Trainer`` does. The loss is
cross-entropy on logits when ``classify``, else half the squared error. It
returns the seconds of each epoch (training plus validation) and the final
validation numbers.

``run_cnn(backend, model, arrays, epochs, batch_size, lr, ...)`` does the same for
a convolutional network (``"LeNet"``, ``"ResNet18"``): the images, resized once up
front when ``size`` is given (timed apart from the epochs), sit on the device
(``num_gpus=1``: the first GPU); the model is in training mode for the steps and in
evaluation mode (batch norm on its running statistics) for validation; ``limits``
cap the training and validation batches of an epoch. The network is d2lx's
(``d2l.<Model>(lr).net``, or the Flax module itself on JAX), built with d2lx's
initialisation: what is compared is the loop around it, not the layers.

The epoch loop is written once (``_epochs``); each framework supplies one
training step on a batch of row indices (returning the batch's loss, left in
the framework, or None) and one evaluation of a slice of the validation rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _batches(n: int, size: int):
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _epochs(sizes, epochs, batch_size, rng, to_index, step, evaluate, limits=(None, None), phase=None):
    """``step(index)`` on each shuffled training batch, then ``evaluate(lo, hi) -> (summed loss, correct)``
    on the validation rows in order; the sums stay in the framework until the epoch's end.

    ``limits`` keep the first training and validation batches of each epoch (None: all of them).
    ``phase(training)``, when given, switches the model between training and evaluation mode before
    each half of the epoch. The training loss (the mean over the epoch's batches) is reported when
    ``step`` returns the batch's loss; reading it, like the validation sums, waits for the device.
    """
    n, n_val = sizes
    train_batches = _batches(n, batch_size)[: limits[0]]
    val_batches = _batches(n_val, batch_size)[: limits[1]]
    validated = sum(hi - lo for lo, hi in val_batches)
    seconds, last, train_losses = [], {}, []
    for _ in range(epochs):
        start = time.perf_counter()
        order = to_index(rng.permutation(n))
        if phase is not None:
            phase(True)
        train_total = None
        for lo, hi in train_batches:
            loss = step(order[lo:hi])
            if loss is not None:
                train_total = loss if train_total is None else train_total + loss
        if phase is not None:
            phase(False)
        total = correct = 0.0
        for lo, hi in val_batches:
            batch_loss, batch_correct = evaluate(lo, hi)
            total, correct = total + batch_loss, correct + batch_correct
        last = {"val_loss": float(total) / validated, "val_acc": float(correct) / validated}
        if train_total is not None:
            last["train_loss"] = float(train_total) / len(train_batches)
            train_losses.append(last["train_loss"])
            last["train_losses"] = train_losses  # each epoch's
        seconds.append(time.perf_counter() - start)
    return seconds, last


def _layer_sizes(inputs: int, hiddens: tuple[int, ...], outputs: int) -> list[tuple[int, int]]:
    """(inputs, outputs) of each dense layer: softmax regression has one, section 5.2's MLP two (ReLU between)."""
    sizes = [inputs, *hiddens, outputs]
    return list(zip(sizes[:-1], sizes[1:]))


def _initial_weight(rng, inputs: int, outputs: int) -> np.ndarray:
    return rng.normal(0, 0.01, (inputs, outputs)).astype(np.float32)


def _torch(arrays, classify, outputs, lr, rng, hiddens=()):
    import torch
    from torch.nn import functional as F

    # on the first GPU when bench runs with --num-gpus (JAX's arrays go to its default device, the GPU)
    device = torch.device("cuda:0" if int(os.environ.get("BENCH_NUM_GPUS", "0")) else "cpu")
    X, y, X_val, y_val = (torch.from_numpy(a).to(device) for a in arrays)
    if classify:  # torch's cross-entropy wants int64 labels
        y, y_val = y.long(), y_val.long()
    layers = [
        (torch.from_numpy(_initial_weight(rng, i, o)).to(device).requires_grad_(),
         torch.zeros(o, device=device, requires_grad=True))
        for i, o in _layer_sizes(X.shape[1], hiddens, outputs)
    ]  # fmt: skip
    params = [p for layer in layers for p in layer]
    # torch.optim, as a PyTorch user writes the loop and as d2lx's Trainer (the book's configure_optimizers)
    # must: the first optimizer a process makes imports torch._dynamo (about a second on a 2-core CPU), a cost
    # of PyTorch that both sides of the comparison now pay inside the fit
    optimizer = torch.optim.SGD(params, lr=lr)

    def net(X):
        for k, (W, b) in enumerate(layers):
            X = X @ W + b
            X = torch.relu(X) if k < len(layers) - 1 else X
        return X

    def losses(out, target):
        return F.cross_entropy(out, target, reduction="none") if classify else ((out - target) ** 2 / 2).reshape(-1)

    def step(index):
        losses(net(X[index]), y[index]).mean().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    @torch.no_grad()
    def evaluate(lo, hi):
        out = net(X_val[lo:hi])
        return losses(out, y_val[lo:hi]).sum(), (out.argmax(dim=1) == y_val[lo:hi]).sum() if classify else 0

    return (lambda order: torch.from_numpy(order).to(device)), step, evaluate


def _mxnet(arrays, classify, outputs, lr, rng, hiddens=()):
    import mxnet as mx
    from mxnet import autograd, gluon, npx
    from mxnet import np as mnp

    npx.set_np()
    X, y, X_val, y_val = (mnp.array(a, dtype=a.dtype) for a in arrays)
    net = gluon.nn.HybridSequential()
    net.add(*(gluon.nn.Dense(h, activation="relu") for h in hiddens), gluon.nn.Dense(outputs))
    net.initialize(mx.init.Normal(0.01))  # the bias starts at zero
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss() if classify else gluon.loss.L2Loss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})

    def step(index):
        with autograd.record():  # np.take: much faster than X[index] in MXNet
            loss = loss_fn(net(mnp.take(X, index, axis=0)), mnp.take(y, index, axis=0))
        loss.backward()
        trainer.step(index.shape[0])  # the loss is per example: step divides the summed gradient

    def evaluate(lo, hi):
        out = net(X_val[lo:hi])
        correct = (out.argmax(axis=1).astype(y_val.dtype) == y_val[lo:hi]).sum() if classify else 0
        return loss_fn(out, y_val[lo:hi]).sum(), correct

    return (lambda order: mnp.array(order, dtype="int64")), step, evaluate


def _jax(arrays, classify, outputs, lr, rng, hiddens=()):
    import jax
    import optax
    from jax import numpy as jnp

    X, y, X_val, y_val = (jnp.asarray(a) for a in arrays)
    params = [
        {"W": jnp.asarray(_initial_weight(rng, i, o)), "b": jnp.zeros(o)}
        for i, o in _layer_sizes(X.shape[1], hiddens, outputs)
    ]
    tx = optax.sgd(lr)
    state = {"params": params, "opt": tx.init(params)}

    def losses(params, X, y):
        out = X
        for k, layer in enumerate(params):
            out = out @ layer["W"] + layer["b"]
            out = jax.nn.relu(out) if k < len(params) - 1 else out
        if classify:
            return optax.softmax_cross_entropy_with_integer_labels(out, y), out
        return ((out - y) ** 2 / 2).reshape(-1), out

    @jax.jit
    def update(params, opt_state, X, y):
        grads = jax.grad(lambda p: losses(p, X, y)[0].mean())(params)
        updates, opt_state = tx.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state

    @jax.jit
    def evaluate_batch(params, X, y):
        loss, out = losses(params, X, y)
        return loss.sum(), (out.argmax(axis=1) == y).sum() if classify else 0

    def step(index):
        state["params"], state["opt"] = update(state["params"], state["opt"], X[index], y[index])

    def evaluate(lo, hi):
        return evaluate_batch(state["params"], X_val[lo:hi], y_val[lo:hi])

    return (lambda order: order), step, evaluate


def _tensorflow(arrays, classify, outputs, lr, rng, hiddens=()):
    import tensorflow as tf

    X, y, X_val, y_val = (tf.constant(a) for a in arrays)
    layers = [
        (tf.Variable(_initial_weight(rng, i, o)), tf.Variable(tf.zeros(o)))
        for i, o in _layer_sizes(X.shape[1], hiddens, outputs)
    ]
    params = [p for layer in layers for p in layer]

    def losses(X, y):
        out = X
        for k, (W, b) in enumerate(layers):
            out = out @ W + b
            out = tf.nn.relu(out) if k < len(layers) - 1 else out
        if classify:
            return tf.nn.sparse_softmax_cross_entropy_with_logits(y, out), out
        return tf.reshape((out - y) ** 2 / 2, [-1]), out

    @tf.function(reduce_retracing=True)
    def update(X, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(losses(X, y)[0])
        for param, grad in zip(params, tape.gradient(loss, params)):
            param.assign_sub(lr * grad)

    @tf.function(reduce_retracing=True)
    def evaluate_batch(X, y):
        loss, out = losses(X, y)
        if not classify:
            return tf.reduce_sum(loss), 0.0
        return tf.reduce_sum(loss), tf.reduce_sum(tf.cast(tf.argmax(out, axis=1, output_type=y.dtype) == y, tf.float32))

    def step(index):
        update(tf.gather(X, index), tf.gather(y, index))

    def evaluate(lo, hi):
        return evaluate_batch(X_val[lo:hi], y_val[lo:hi])

    return tf.constant, step, evaluate


LOOPS = {"torch": _torch, "mxnet": _mxnet, "jax": _jax, "tensorflow": _tensorflow}


def run(backend: str, arrays, classify: bool, epochs: int, batch_size: int, lr: float, seed: int = 0,
        hiddens: tuple[int, ...] = (), limits=(None, None)):  # fmt: skip
    """Train on ``arrays = (X, y, X_val, y_val)`` (numpy); return (seconds per epoch, final validation numbers).

    ``hiddens``: the widths of ReLU hidden layers before the output layer (none: softmax or linear
    regression; ``(256,)``: section 5.2's concise MLP); ``limits``: the first (training, validation) batches
    of each epoch (None: all)."""
    rng = np.random.default_rng(seed)
    to_index, step, evaluate = LOOPS[backend](arrays, classify, 10 if classify else 1, lr, rng, hiddens)
    return _epochs((len(arrays[0]), len(arrays[2])), epochs, batch_size, rng, to_index, step, evaluate, limits)


# ====================================================================================================
# Convolutional networks: LeNet (28x28) and ResNet-18 (96x96), on the CPU or the first GPU
# ====================================================================================================
@dataclasses.dataclass
class _Images:
    """The four arrays, resident on ``device`` (images resized, with their channel axis), and the
    seconds it took to put them there: the set-up, timed apart from training."""

    device: Any
    X: Any
    y: Any
    X_val: Any
    y_val: Any
    setup_s: float


@dataclasses.dataclass
class _Loop:
    """One framework's part of ``_epochs``, and the device scope to run it in (TensorFlow's)."""

    to_index: Callable
    step: Callable
    evaluate: Callable
    phase: Callable | None = None
    scope: Any = dataclasses.field(default_factory=contextlib.nullcontext)


def _resize_matrices(height: int, width: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(R_h, R_w)`` with ``R_h @ X @ R_w.T`` the bilinear resize of each image of ``X`` to ``size``:
    the map d2lx's loaders apply per batch (``d2lx.data.fashion_mnist.resize_matrix``), applied here
    once to the whole set."""
    from d2lx.data.fashion_mnist import resize_matrix

    return resize_matrix(height, size), resize_matrix(width, size)


def _torch_images(arrays, size: int | None, num_gpus: int) -> _Images:
    import torch

    device = torch.device("cuda:0" if num_gpus else "cpu")
    start = time.perf_counter()
    X, y, X_val, y_val = (torch.from_numpy(a).to(device) for a in arrays)
    if size is not None:
        R_h, R_w = (torch.from_numpy(m).to(device) for m in _resize_matrices(*X.shape[1:], size))
        X, X_val = (R_h @ a @ R_w.T for a in (X, X_val))
    X, X_val = X.unsqueeze(1), X_val.unsqueeze(1)  # NCHW
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return _Images(device, X, y.long(), X_val, y_val.long(), time.perf_counter() - start)


def _torch_cnn(name: str, images: _Images, lr: float, seed: int) -> _Loop:
    import torch
    from torch.nn import functional as F

    d2l = importlib.import_module("d2lx.torch")
    torch.manual_seed(seed)
    net = getattr(d2l, name)(lr=lr).net
    with torch.no_grad():  # the lazy layers learn their shapes (d2lx's init_cnn then draws their Xavier
        net.eval()  # weights); in evaluation mode, so that no batch-norm statistic moves
        net(torch.zeros(1, *images.X.shape[1:]))
    net.to(images.device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    X, y, X_val, y_val = images.X, images.y, images.X_val, images.y_val

    def step(index):
        loss = F.cross_entropy(net(X[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def evaluate(lo, hi):
        out, target = net(X_val[lo:hi]), y_val[lo:hi]
        return F.cross_entropy(out, target, reduction="sum"), (out.argmax(dim=1) == target).sum()

    return _Loop(lambda order: torch.from_numpy(order).to(images.device), step, evaluate, phase=net.train)


def _mxnet_images(arrays, size: int | None, num_gpus: int) -> _Images:
    import mxnet as mx
    from mxnet import np as mnp
    from mxnet import npx

    npx.set_np()
    ctx = mx.gpu(0) if num_gpus else mx.cpu()
    start = time.perf_counter()
    X, y, X_val, y_val = (mnp.array(a, dtype=a.dtype, ctx=ctx) for a in arrays)
    if size is not None:
        R_h, R_w = (mnp.array(m, ctx=ctx) for m in _resize_matrices(*X.shape[1:], size))
        X, X_val = (_resized_by_2d_products(a, R_h, R_w) for a in (X, X_val))
    X, X_val = mnp.expand_dims(X, 1), mnp.expand_dims(X_val, 1)  # NCHW
    X.wait_to_read()
    X_val.wait_to_read()
    return _Images(ctx, X, y, X_val, y_val, time.perf_counter() - start)


def _resized_by_2d_products(X, R_h, R_w):
    """``R_h @ X @ R_w.T`` for a stack ``X`` of shape ``(n, h, w)``, as two plain matrix products: on
    the CPU MXNet's broadcasting ``matmul`` was no quicker (20 s against 18 s for the training images,
    on two cores under load), and its ``einsum`` is slow (bench/RESULTS.md, the 224x224 loader)."""
    from mxnet import np as mnp

    n, h, w = X.shape
    rows = mnp.dot(X.reshape(n * h, w), R_w.T).reshape(n, h, -1)  # (n, h, W)
    columns = mnp.dot(rows.transpose(0, 2, 1).reshape(-1, h), R_h.T)  # (n * W, H)
    return columns.reshape(n, -1, R_h.shape[0]).transpose(0, 2, 1)  # (n, H, W)


def _hybrid(net):
    """A Gluon ``Sequential`` whose layers are all hybridizable, as one ``HybridSequential``: compiled
    as one graph, as MXNet's own warning advises. ResNet's residual blocks are plain ``Block``s (the
    book's), so that network stays as it is and ``hybridize`` compiles its hybridizable layers one by one."""
    from mxnet.gluon import nn

    layers = [net[i] for i in range(len(net))]
    if not all(isinstance(layer, nn.HybridBlock) for layer in layers):
        return net
    hybrid = nn.HybridSequential()
    hybrid.add(*layers)
    return hybrid


def _mxnet_cnn(name: str, images: _Images, lr: float, seed: int) -> _Loop:
    import mxnet as mx
    from mxnet import autograd, gluon
    from mxnet import np as mnp

    d2l = importlib.import_module("d2lx.mxnet")
    mx.random.seed(seed)
    net = _hybrid(getattr(d2l, name)(lr=lr).net)  # initialised with init.Xavier(); shapes wait for the first batch
    net.collect_params().reset_ctx(images.device)
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
    X, y, X_val, y_val = images.X, images.y, images.X_val, images.y_val

    def step(index):
        with autograd.record():  # training mode: batch norm on the batch's statistics
            loss = loss_fn(net(mnp.take(X, index, axis=0)), mnp.take(y, index, axis=0))
        loss.backward()
        trainer.step(index.shape[0])  # the loss is per example: step divides the summed gradient
        return loss.mean()

    def evaluate(lo, hi):  # outside autograd.record(): prediction mode, on the running statistics
        out, target = net(X_val[lo:hi]), y_val[lo:hi]
        return loss_fn(out, target).sum(), (out.argmax(axis=1).astype(target.dtype) == target).sum()

    return _Loop(lambda order: mnp.array(order, dtype="int64", ctx=images.device), step, evaluate)


def _jax_images(arrays, size: int | None, num_gpus: int) -> _Images:
    import jax
    from jax import numpy as jnp

    device = jax.devices("gpu")[0] if num_gpus else jax.devices("cpu")[0]
    start = time.perf_counter()
    X, y, X_val, y_val = jax.device_put(tuple(arrays), device)
    if size is not None:
        R_h, R_w = jax.device_put(_resize_matrices(*X.shape[1:], size), device)
        X, X_val = (jnp.matmul(jnp.matmul(R_h, a), R_w.T) for a in (X, X_val))
    X, X_val = jax.block_until_ready((X[..., None], X_val[..., None]))  # NHWC
    return _Images(device, X, y, X_val, y_val, time.perf_counter() - start)


def _jax_cnn(name: str, images: _Images, lr: float, seed: int) -> _Loop:
    import jax
    import optax

    d2l = importlib.import_module("d2lx.jax")
    model = getattr(d2l, name)(lr=lr)  # a Flax module; with batch norm it has a ``training`` field
    has_mode = "training" in {f.name for f in dataclasses.fields(model)}
    evaluator = model.clone(training=False) if has_mode else model
    params_key, dropout_key = jax.random.split(jax.random.key(seed))
    variables = model.init({"params": params_key, "dropout": dropout_key}, images.X[:1])
    variables = jax.device_put(variables, images.device)
    tx = optax.sgd(lr)
    state = {"params": variables["params"], "stats": variables.get("batch_stats", {})}
    state["opt"] = tx.init(state["params"])

    def loss_of(params, stats, X, y):
        logits, updated = model.apply({"params": params, "batch_stats": stats}, X, mutable=["batch_stats"])
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), updated.get("batch_stats", stats)

    @jax.jit
    def update(params, stats, opt_state, X, y):
        (loss, stats), grads = jax.value_and_grad(loss_of, has_aux=True)(params, stats, X, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), stats, opt_state, loss

    @jax.jit
    def evaluate_batch(params, stats, X, y):
        logits = evaluator.apply({"params": params, "batch_stats": stats}, X)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y)
        return loss.sum(), (logits.argmax(axis=1) == y).sum()

    def step(index):
        # The batch is gathered outside the compiled step: given the whole set and the index, XLA on
        # the CPU took twice as long per ResNet-18 step (8 s against 16 s, measured).
        batch = (images.X[index], images.y[index])
        *new_state, loss = update(state["params"], state["stats"], state["opt"], *batch)
        state["params"], state["stats"], state["opt"] = new_state
        return loss

    def evaluate(lo, hi):
        return evaluate_batch(state["params"], state["stats"], images.X_val[lo:hi], images.y_val[lo:hi])

    return _Loop(lambda order: jax.device_put(order.astype(np.int32), images.device), step, evaluate)


def _tensorflow_images(arrays, size: int | None, num_gpus: int) -> _Images:
    import tensorflow as tf

    device = "/GPU:0" if num_gpus else "/CPU:0"
    start = time.perf_counter()
    with tf.device(device):
        X, y, X_val, y_val = (tf.constant(a) for a in arrays)
        if size is not None:
            R_h, R_w = (tf.constant(m) for m in _resize_matrices(*X.shape[1:], size))
            X, X_val = (tf.einsum("hi,nij,wj->nhw", R_h, a, R_w) for a in (X, X_val))
        X, X_val = X[..., None], X_val[..., None]  # NHWC
        float(tf.reduce_sum(X_val[-1]))  # waits for the resize (GPU kernels run asynchronously)
    return _Images(device, X, y, X_val, y_val, time.perf_counter() - start)


def _tensorflow_cnn(name: str, images: _Images, lr: float, seed: int) -> _Loop:
    import tensorflow as tf

    d2l = importlib.import_module("d2lx.tensorflow")
    tf.keras.utils.set_random_seed(seed)
    X, y, X_val, y_val = images.X, images.y, images.X_val, images.y_val
    with tf.device(images.device):
        net = getattr(d2l, name)(lr=lr).net  # a Keras Sequential; kernels start Glorot-uniform (Xavier)
        net(X[:1], training=False)  # builds the layers, leaving the batch-norm statistics as they are
        optimizer = tf.keras.optimizers.SGD(lr)
        optimizer.build(net.trainable_variables)
    variables = net.trainable_variables

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64)])
    def update(index):
        with tf.GradientTape() as tape:
            logits = net(tf.gather(X, index), training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.gather(y, index), logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    @tf.function(input_signature=[tf.TensorSpec([None, *X_val.shape[1:]]), tf.TensorSpec([None], y_val.dtype)])
    def evaluate_batch(X, y):
        logits = net(X, training=False)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        return loss, tf.reduce_sum(tf.cast(tf.argmax(logits, axis=1, output_type=y.dtype) == y, tf.float32))

    return _Loop(
        tf.constant,
        update,
        lambda lo, hi: evaluate_batch(X_val[lo:hi], y_val[lo:hi]),
        scope=tf.device(images.device),
    )


CNN_LOOPS = {
    "torch": (_torch_images, _torch_cnn),
    "mxnet": (_mxnet_images, _mxnet_cnn),
    "jax": (_jax_images, _jax_cnn),
    "tensorflow": (_tensorflow_images, _tensorflow_cnn),
}


def run_cnn(
    backend: str,
    model: str,
    arrays,
    epochs: int,
    batch_size: int,
    lr: float,
    *,
    size: int | None = None,
    limits: tuple[int | None, int | None] = (None, None),
    num_gpus: int = 0,
    seed: int = 0,
) -> dict:
    """Train d2lx's ``model`` (``"LeNet"``, ``"ResNet18"``) with SGD and cross-entropy on ``arrays =
    (X, y, X_val, y_val)`` (numpy; images ``(N, H, W)`` in [0, 1], int labels), resized to ``size`` x
    ``size`` first when given; ``limits`` cap the training and validation batches per epoch.

    Returns ``setup_s`` (the arrays to the device and resized), ``fit_s`` (the network built and
    every epoch; ``build_s`` of it the building, which on JAX is initialising op by op), ``epoch_s``
    (each epoch), the last epoch's ``train_loss``, ``val_loss`` and ``val_acc``, the batches per
    epoch and the device.
    """
    place, build = CNN_LOOPS[backend]
    importlib.import_module(f"d2lx.{backend}")  # the networks' module, imported before any clock starts
    images = place(arrays, size, num_gpus)
    rng = np.random.default_rng(seed)
    sizes = (len(arrays[0]), len(arrays[2]))
    start = time.perf_counter()
    loop = build(model, images, lr, seed)
    build_s = time.perf_counter() - start
    with loop.scope:
        seconds, last = _epochs(
            sizes, epochs, batch_size, rng, loop.to_index, loop.step, loop.evaluate, limits, loop.phase
        )
    return {
        "setup_s": images.setup_s,
        "build_s": build_s,
        "fit_s": time.perf_counter() - start,
        "epoch_s": seconds,
        **last,
        "train_batches": len(_batches(sizes[0], batch_size)[: limits[0]]),
        "val_batches": len(_batches(sizes[1], batch_size)[: limits[1]]),
        "devices": [str(images.device)],
    }


# ====================================================================================================
# The language model of section 10.2: the framework's own GRU on one-hot characters, on the CPU or a GPU
# ====================================================================================================
# Each framework's loop below: a one-layer GRU of ``num_hiddens`` units on one-hot inputs (no embedding, as
# the book), a dense layer to the vocabulary, the mean cross-entropy over every position, plain SGD with the
# gradients clipped to the joint norm ``clip``. ``step(index)`` trains on the rows ``index`` of (X, Y) and
# returns the batch's loss, left in the framework; ``evaluate(lo, hi)`` returns the validation rows' mean
# loss times their count (``_epochs`` divides the sum by the rows), and 0 for the accuracy it does not have.
def _torch_rnn_lm(arrays, vocab_size, num_hiddens, lr, clip, num_gpus, seed):
    import torch
    from torch import nn
    from torch.nn import functional as F

    device = torch.device("cuda:0" if num_gpus else "cpu")
    torch.manual_seed(seed)
    X, Y, X_val, Y_val = (torch.from_numpy(a).to(device) for a in arrays)
    gru = nn.GRU(vocab_size, num_hiddens).to(device)  # time first: (num_steps, batch_size, inputs)
    linear = nn.Linear(num_hiddens, vocab_size).to(device)
    params = [*gru.parameters(), *linear.parameters()]
    optimizer = torch.optim.SGD(params, lr=lr)

    def loss_of(X, Y):
        outputs, _ = gru(F.one_hot(X.T, vocab_size).float())
        return F.cross_entropy(linear(outputs).reshape(-1, vocab_size), Y.T.reshape(-1))

    def step(index):
        loss = loss_of(X[index], Y[index])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def evaluate(lo, hi):
        return loss_of(X_val[lo:hi], Y_val[lo:hi]) * (hi - lo), 0

    return _Loop(lambda order: torch.from_numpy(order).to(device), step, evaluate), str(device)


def _mxnet_rnn_lm(arrays, vocab_size, num_hiddens, lr, clip, num_gpus, seed):
    import mxnet as mx
    from mxnet import autograd, gluon, npx
    from mxnet import np as mnp
    from mxnet.gluon import nn, rnn

    npx.set_np()
    ctx = mx.gpu(0) if num_gpus else mx.cpu()
    mx.random.seed(seed)
    X, Y, X_val, Y_val = (mnp.array(a, dtype=a.dtype, ctx=ctx) for a in arrays)

    class Model(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.gru = rnn.GRU(num_hiddens)  # time first (layout "TNC")
            self.linear = nn.Dense(vocab_size, flatten=False)

        def forward(self, X):
            return self.linear(self.gru(npx.one_hot(X.T, vocab_size)))

    net = Model()
    net.initialize(ctx=ctx)
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    params = list(net.collect_params().values())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})

    def step(index):
        with autograd.record():
            loss = loss_fn(net(mnp.take(X, index, axis=0)), mnp.take(Y, index, axis=0).T).mean()
        loss.backward()
        grads = [p.grad(ctx) for p in params]  # gluon's clip_global_norm takes only legacy ndarrays
        scale = mnp.minimum(1.0, clip / mnp.sqrt(sum((g**2).sum() for g in grads)))  # stays on the device
        for g in grads:
            g *= scale
        trainer.step(1)  # the loss is the mean already
        return loss

    def evaluate(lo, hi):
        return loss_fn(net(X_val[lo:hi]), Y_val[lo:hi].T).mean() * (hi - lo), 0

    return _Loop(lambda order: mnp.array(order, dtype="int64", ctx=ctx), step, evaluate), str(ctx)


def _jax_rnn_lm(arrays, vocab_size, num_hiddens, lr, clip, num_gpus, seed):
    import jax
    import optax
    from flax import linen as nn

    device = jax.devices("gpu")[0] if num_gpus else jax.devices("cpu")[0]
    X, Y, X_val, Y_val = jax.device_put(tuple(arrays), device)

    class Model(nn.Module):
        @nn.compact
        def __call__(self, X):  # batch first, as Flax's nn.RNN takes it by default
            outputs = nn.RNN(nn.GRUCell(features=num_hiddens))(jax.nn.one_hot(X, vocab_size))
            return nn.Dense(vocab_size)(outputs)

    model = Model()
    params = jax.device_put(jax.jit(model.init)(jax.random.key(seed), X[:1])["params"], device)  # jitted: faster
    tx = optax.chain(optax.clip_by_global_norm(clip), optax.sgd(lr))
    state = {"params": params, "opt": tx.init(params)}

    def loss_of(params, X, Y):
        return optax.softmax_cross_entropy_with_integer_labels(model.apply({"params": params}, X), Y).mean()

    @jax.jit
    def update(params, opt_state, X, Y):
        loss, grads = jax.value_and_grad(loss_of)(params, X, Y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    evaluate_batch = jax.jit(loss_of)

    def step(index):
        state["params"], state["opt"], loss = update(state["params"], state["opt"], X[index], Y[index])
        return loss

    def evaluate(lo, hi):
        return evaluate_batch(state["params"], X_val[lo:hi], Y_val[lo:hi]) * (hi - lo), 0

    return _Loop(lambda order: jax.device_put(order.astype(np.int32), device), step, evaluate), str(device)


def _tensorflow_rnn_lm(arrays, vocab_size, num_hiddens, lr, clip, num_gpus, seed):
    import tensorflow as tf

    device = "/GPU:0" if num_gpus else "/CPU:0"
    tf.keras.utils.set_random_seed(seed)
    with tf.device(device):
        X, Y, X_val, Y_val = (tf.constant(a) for a in arrays)
        gru = tf.keras.layers.GRU(num_hiddens, return_sequences=True)  # batch first, Keras's layout
        linear = tf.keras.layers.Dense(vocab_size)
        linear(gru(tf.one_hot(X[:1], vocab_size)))  # builds the layers
        optimizer = tf.keras.optimizers.SGD(float(lr))  # Keras refuses an int
        variables = gru.trainable_variables + linear.trainable_variables
        optimizer.build(variables)

    def loss_of(X, Y):
        logits = linear(gru(tf.one_hot(X, vocab_size)))
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(Y, logits))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64)])
    def update(index):
        with tf.GradientTape() as tape:
            loss = loss_of(tf.gather(X, index), tf.gather(Y, index))
        grads, _ = tf.clip_by_global_norm(tape.gradient(loss, variables), clip)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    @tf.function(input_signature=[tf.TensorSpec([None, X_val.shape[1]], X_val.dtype)] * 2)
    def evaluate_batch(X, Y):
        return loss_of(X, Y) * tf.cast(tf.shape(X)[0], tf.float32)

    loop = _Loop(tf.constant, update, lambda lo, hi: (evaluate_batch(X_val[lo:hi], Y_val[lo:hi]), 0),
                 scope=tf.device(device))  # fmt: skip
    return loop, device


RNN_LM_LOOPS = {"torch": _torch_rnn_lm, "mxnet": _mxnet_rnn_lm, "jax": _jax_rnn_lm, "tensorflow": _tensorflow_rnn_lm}


def run_rnn_lm(backend: str, arrays, vocab_size: int, epochs: int, batch_size: int, lr: float, num_hiddens: int,
               clip: float, *, limits=(None, None), num_gpus: int = 0, seed: int = 0) -> dict:  # fmt: skip
    """Train the GRU language model on ``arrays = (X, Y, X_val, Y_val)`` (int64 token indices, (rows,
    num_steps)), shuffling the training rows each epoch and validating on the others in order, in batches of
    ``batch_size`` (``limits``: the first training and validation batches of each epoch).

    Returns ``fit_s`` (the model built and every epoch), ``epoch_s``, the last epoch's training and
    validation perplexity (``exp`` of the mean loss), the batches per epoch and the device."""
    importlib.import_module({"mxnet": "mxnet", "jax": "flax.linen"}.get(backend, backend))  # before the clock
    rng = np.random.default_rng(seed)
    sizes = (len(arrays[0]), len(arrays[2]))
    start = time.perf_counter()
    loop, device = RNN_LM_LOOPS[backend](arrays, vocab_size, num_hiddens, lr, clip, num_gpus, seed)
    with loop.scope:
        seconds, last = _epochs(sizes, epochs, batch_size, rng, loop.to_index, loop.step, loop.evaluate, limits)
    return {
        "fit_s": time.perf_counter() - start,
        "epoch_s": seconds,
        "train_ppl": float(np.exp(last["train_loss"])),
        "val_ppl": float(np.exp(last["val_loss"])),
        "train_batches": len(_batches(sizes[0], batch_size)[: limits[0]]),
        "val_batches": len(_batches(sizes[1], batch_size)[: limits[1]]),
        "devices": [device],
    }


# ====================================================================================================
# The Transformer of section 11.7: the framework's own attention and layer norm, on the CPU or a GPU
# ====================================================================================================
# Each framework's loop below builds the book's encoder-decoder from its own primitives, batch first: token
# embeddings times sqrt(num_hiddens) plus the sine/cosine table (d2lx's core ``positional_encoding_table``),
# dropout; ``num_blks`` post-norm encoder blocks (self-attention over the source's valid tokens, then a
# position-wise FFN of ``ffn_num_hiddens`` ReLU units, each added back through dropout and a layer norm) and
# as many decoder blocks (causal self-attention, attention over the encoder's outputs, the FFN), then a dense
# layer to the target vocabulary. The attention's projections have no bias, as d2l's ``MultiHeadAttention``.
# The loss is the cross-entropy averaged over the labels that are not padding; Adam, the gradients clipped to
# the joint norm ``clip``. ``step(index)`` trains on the rows ``index`` of the training arrays ``(src,
# dec_input, src_valid_len, label)`` and returns the batch's loss; ``evaluate(lo, hi)`` returns the validation
# rows' loss times their count (``_epochs`` divides the sum by the rows), and 0 for the accuracy it lacks.
@dataclasses.dataclass(frozen=True)
class TransformerSpec:
    """The sizes of the book's Transformer and its optimiser (section 11.7's training cell)."""

    src_vocab: int
    tgt_vocab: int
    tgt_pad: int
    num_hiddens: int = 256
    ffn_num_hiddens: int = 64
    num_heads: int = 4
    num_blks: int = 2
    dropout: float = 0.2
    lr: float = 0.0015
    clip: float = 1.0

    def positions(self, num_steps: int) -> np.ndarray:
        """The positional encoding's first ``num_steps`` rows, (1, num_steps, num_hiddens) float32."""
        from d2lx.transformer import positional_encoding_table

        return positional_encoding_table(self.num_hiddens, num_steps)


def _torch_transformer(arrays, spec: TransformerSpec, num_gpus, seed):
    import torch
    from torch import nn
    from torch.nn import functional as F

    device = torch.device("cuda:0" if num_gpus else "cpu")
    torch.manual_seed(seed)
    train, val = ([torch.from_numpy(a).to(device) for a in part] for part in arrays)
    num_steps, h = train[0].shape[1], spec.num_hiddens
    P = torch.from_numpy(spec.positions(num_steps)).to(device)
    causal = torch.triu(torch.ones(num_steps, num_steps, dtype=torch.bool, device=device), 1)  # True: hidden

    def attention():
        return nn.MultiheadAttention(h, spec.num_heads, dropout=spec.dropout, bias=False, batch_first=True)

    class Block(nn.Module):
        def __init__(self, cross: bool):
            super().__init__()
            self.attention, self.cross = attention(), attention() if cross else None
            self.norms = nn.ModuleList(nn.LayerNorm(h) for _ in range(3 if cross else 2))
            self.ffn = nn.Sequential(nn.Linear(h, spec.ffn_num_hiddens), nn.ReLU(), nn.Linear(spec.ffn_num_hiddens, h))
            self.dropout = nn.Dropout(spec.dropout)

        def forward(self, X, padding, mask=None, memory=None):
            Y = self.attention(X, X, X, key_padding_mask=None if memory is not None else padding, attn_mask=mask,
                               need_weights=False)[0]  # fmt: skip
            X = self.norms[0](X + self.dropout(Y))
            if memory is not None:
                Y = self.cross(X, memory, memory, key_padding_mask=padding, need_weights=False)[0]
                X = self.norms[1](X + self.dropout(Y))
            return self.norms[-1](X + self.dropout(self.ffn(X)))

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embedding = nn.Embedding(spec.src_vocab, h)
            self.tgt_embedding = nn.Embedding(spec.tgt_vocab, h)
            self.encoder = nn.ModuleList(Block(False) for _ in range(spec.num_blks))
            self.decoder = nn.ModuleList(Block(True) for _ in range(spec.num_blks))
            self.dropout = nn.Dropout(spec.dropout)
            self.dense = nn.Linear(h, spec.tgt_vocab)

        def forward(self, src, dec, valid_len):
            padding = torch.arange(src.shape[1], device=device)[None, :] >= valid_len[:, None]
            memory = self.dropout(self.src_embedding(src) * math.sqrt(h) + P)
            for blk in self.encoder:
                memory = blk(memory, padding)
            X = self.dropout(self.tgt_embedding(dec) * math.sqrt(h) + P)
            for blk in self.decoder:
                X = blk(X, padding, causal, memory)
            return self.dense(X)

    model = Transformer().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)

    def loss_of(src, dec, valid_len, label):  # the mean over the labels that are not padding
        logits = model(src, dec, valid_len)
        return F.cross_entropy(logits.reshape(-1, spec.tgt_vocab), label.reshape(-1), ignore_index=spec.tgt_pad)

    def step(index):
        loss = loss_of(*(a[index] for a in train))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), spec.clip)
        optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def evaluate(lo, hi):
        return loss_of(*(a[lo:hi] for a in val)) * (hi - lo), 0

    return _Loop(lambda order: torch.from_numpy(order).to(device), step, evaluate, phase=model.train), str(device)


def _mxnet_transformer(arrays, spec: TransformerSpec, num_gpus, seed):
    import mxnet as mx
    from mxnet import autograd, gluon, npx
    from mxnet import np as mnp
    from mxnet.gluon import nn

    npx.set_np()
    ctx = mx.gpu(0) if num_gpus else mx.cpu()
    mx.random.seed(seed)
    train, val = ([mnp.array(a, dtype=a.dtype, ctx=ctx) for a in part] for part in arrays)
    num_steps, h, heads = train[0].shape[1], spec.num_hiddens, spec.num_heads
    P = mnp.array(spec.positions(num_steps), ctx=ctx)
    steps = mnp.arange(num_steps, dtype="int64", ctx=ctx)
    causal = mnp.where(steps[None, :] > steps[:, None], -1e6, 0.0)[None]  # (1, T, T), added to the scores

    class Attention(nn.Block):  # Gluon has no multi-head attention layer: four projections and a softmax
        def __init__(self):
            super().__init__()
            self.W_q, self.W_k, self.W_v, self.W_o = (nn.Dense(h, use_bias=False, flatten=False) for _ in range(4))
            self.dropout = nn.Dropout(spec.dropout)

        def forward(self, queries, keys, bias):  # bias (batch or 1, queries or 1, keys): 0 or -1e6
            def split(X):  # (batch, steps, h) -> (batch * heads, steps, h / heads)
                n, t = X.shape[:2]
                return X.reshape(n, t, heads, -1).transpose(0, 2, 1, 3).reshape(n * heads, t, -1)

            Q, K, V = split(self.W_q(queries)), split(self.W_k(keys)), split(self.W_v(keys))
            scores = npx.batch_dot(Q, K, transpose_b=True) / math.sqrt(h // heads)
            scores = scores.reshape(-1, heads, *scores.shape[1:]) + mnp.expand_dims(bias, 1)
            weights = self.dropout(npx.softmax(scores, axis=-1)).reshape(Q.shape[0], Q.shape[1], -1)
            out = npx.batch_dot(weights, V).reshape(-1, heads, queries.shape[1], h // heads)
            return self.W_o(out.transpose(0, 2, 1, 3).reshape(queries.shape[0], queries.shape[1], h))

    class Block(nn.Block):
        def __init__(self, cross: bool):
            super().__init__()
            self.attention, self.cross = Attention(), Attention() if cross else None
            self.norms = nn.Sequential()
            self.norms.add(*(nn.LayerNorm() for _ in range(3 if cross else 2)))
            self.ffn = nn.Sequential()
            self.ffn.add(nn.Dense(spec.ffn_num_hiddens, activation="relu", flatten=False), nn.Dense(h, flatten=False))
            self.dropout = nn.Dropout(spec.dropout)

        def forward(self, X, padding, memory=None):
            X = self.norms[0](X + self.dropout(self.attention(X, X, causal if memory is not None else padding)))
            if memory is not None:
                X = self.norms[1](X + self.dropout(self.cross(X, memory, padding)))
            return self.norms[-1](X + self.dropout(self.ffn(X)))

    class Transformer(nn.Block):
        def __init__(self):
            super().__init__()
            self.src_embedding, self.tgt_embedding = nn.Embedding(spec.src_vocab, h), nn.Embedding(spec.tgt_vocab, h)
            self.encoder, self.decoder = nn.Sequential(), nn.Sequential()
            self.encoder.add(*(Block(False) for _ in range(spec.num_blks)))
            self.decoder.add(*(Block(True) for _ in range(spec.num_blks)))
            self.dropout = nn.Dropout(spec.dropout)
            self.dense = nn.Dense(spec.tgt_vocab, flatten=False)

        def forward(self, src, dec, valid_len):
            padding = mnp.where(steps[None, :] >= valid_len[:, None], -1e6, 0.0)[:, None, :]  # (batch, 1, T)
            memory = self.dropout(self.src_embedding(src) * math.sqrt(h) + P)
            for blk in self.encoder:
                memory = blk(memory, padding)
            X = self.dropout(self.tgt_embedding(dec) * math.sqrt(h) + P)
            for blk in self.decoder:
                X = blk(X, padding, memory)
            return self.dense(X)

    net = Transformer()
    net.initialize(ctx=ctx)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": spec.lr})
    net(*(a[:1] for a in train[:3]))  # the deferred parameters take their shapes
    params = [p for p in net.collect_params().values() if p.grad_req != "null"]

    def loss_of(src, dec, valid_len, label):  # the mean over the labels that are not padding
        mask = (label != spec.tgt_pad).astype("float32")
        per_token = -npx.pick(npx.log_softmax(net(src, dec, valid_len)), label)  # Gluon's losses average over time
        return (per_token * mask).sum() / mask.sum()

    def step(index):
        with autograd.record():
            loss = loss_of(*(mnp.take(a, index, axis=0) for a in train))
        loss.backward()
        grads = [p.grad(ctx) for p in params]  # gluon's clip_global_norm takes only legacy ndarrays
        scale = mnp.minimum(1.0, spec.clip / mnp.sqrt(sum((g**2).sum() for g in grads)))  # stays on the device
        for g in grads:
            g *= scale
        trainer.step(1)  # the loss is the mean already
        return loss

    def evaluate(lo, hi):
        return loss_of(*(a[lo:hi] for a in val)) * (hi - lo), 0

    return _Loop(lambda order: mnp.array(order, dtype="int64", ctx=ctx), step, evaluate), str(ctx)


def _jax_transformer(arrays, spec: TransformerSpec, num_gpus, seed):
    import jax
    import optax
    from flax import linen as nn
    from jax import numpy as jnp

    device = jax.devices("gpu")[0] if num_gpus else jax.devices("cpu")[0]
    train, val = (jax.device_put(tuple(part), device) for part in arrays)
    num_steps, h = train[0].shape[1], spec.num_hiddens
    P = jnp.asarray(spec.positions(num_steps))

    class Block(nn.Module):
        cross: bool

        @nn.compact
        def __call__(self, X, mask, training, memory=None, memory_mask=None):
            def attend(queries, keys, mask):
                return nn.MultiHeadDotProductAttention(
                    num_heads=spec.num_heads, qkv_features=h, out_features=h, use_bias=False,
                    dropout_rate=spec.dropout, deterministic=not training,
                )(queries, keys, mask=mask)  # fmt: skip

            def dropout(Y):
                return nn.Dropout(spec.dropout, deterministic=not training)(Y)

            X = nn.LayerNorm()(X + dropout(attend(X, X, mask)))
            if self.cross:
                X = nn.LayerNorm()(X + dropout(attend(X, memory, memory_mask)))
            Y = nn.Dense(h)(nn.relu(nn.Dense(spec.ffn_num_hiddens)(X)))
            return nn.LayerNorm()(X + dropout(Y))

    class Transformer(nn.Module):
        @nn.compact
        def __call__(self, src, dec, valid_len, training: bool):
            padding = (jnp.arange(src.shape[1])[None, :] < valid_len[:, None])[:, None, None, :]  # True: attended
            memory = nn.Embed(spec.src_vocab, h)(src) * math.sqrt(h) + P
            memory = nn.Dropout(spec.dropout, deterministic=not training)(memory)
            for _ in range(spec.num_blks):
                memory = Block(False)(memory, padding, training)
            X = nn.Embed(spec.tgt_vocab, h)(dec) * math.sqrt(h) + P
            X = nn.Dropout(spec.dropout, deterministic=not training)(X)
            causal = nn.make_causal_mask(dec)
            for _ in range(spec.num_blks):
                X = Block(True)(X, causal, training, memory, padding)
            return nn.Dense(spec.tgt_vocab)(X)

    model = Transformer()
    key, dropout_key = jax.random.split(jax.random.key(seed))
    params = jax.jit(model.init, static_argnums=4)(key, *(a[:1] for a in train[:3]), False)["params"]
    tx = optax.chain(optax.clip_by_global_norm(spec.clip), optax.adam(spec.lr))
    state = {"params": jax.device_put(params, device), "opt": tx.init(params), "step": 0}

    def loss_of(params, batch, training, key=None):  # the mean over the labels that are not padding
        src, dec, valid_len, label = batch
        rngs = {} if key is None else {"dropout": key}
        logits = model.apply({"params": params}, src, dec, valid_len, training, rngs=rngs)
        mask = label != spec.tgt_pad
        per_token = optax.softmax_cross_entropy_with_integer_labels(logits, label)
        return (per_token * mask).sum() / mask.sum()

    @jax.jit
    def update(params, opt_state, batch, key):
        loss, grads = jax.value_and_grad(loss_of)(params, batch, True, key)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    evaluate_batch = jax.jit(functools.partial(loss_of, training=False))

    def step(index):
        key = jax.random.fold_in(dropout_key, state["step"])
        state["step"] += 1
        state["params"], state["opt"], loss = update(state["params"], state["opt"], tuple(a[index] for a in train), key)
        return loss

    def evaluate(lo, hi):
        return evaluate_batch(state["params"], tuple(a[lo:hi] for a in val)) * (hi - lo), 0

    return _Loop(lambda order: jax.device_put(order.astype(np.int32), device), step, evaluate), str(device)


def _tensorflow_transformer(arrays, spec: TransformerSpec, num_gpus, seed):
    import tensorflow as tf

    layers = tf.keras.layers
    device = "/GPU:0" if num_gpus else "/CPU:0"
    tf.keras.utils.set_random_seed(seed)
    h = spec.num_hiddens

    class Block(layers.Layer):
        def __init__(self, cross: bool):
            super().__init__()
            self.attention = layers.MultiHeadAttention(spec.num_heads, h // spec.num_heads, dropout=spec.dropout,
                                                       use_bias=False)  # fmt: skip
            self.cross = layers.MultiHeadAttention(spec.num_heads, h // spec.num_heads, dropout=spec.dropout,
                                                   use_bias=False) if cross else None  # fmt: skip
            self.norms = [layers.LayerNormalization() for _ in range(3 if cross else 2)]
            self.ffn1, self.ffn2 = layers.Dense(spec.ffn_num_hiddens, activation="relu"), layers.Dense(h)
            self.dropout = layers.Dropout(spec.dropout)

        def call(self, X, mask, training, memory=None, memory_mask=None):
            causal = memory is not None  # the decoder's self-attention sees no later step
            Y = self.attention(X, X, attention_mask=None if causal else mask, use_causal_mask=causal,
                               training=training)  # fmt: skip
            X = self.norms[0](X + self.dropout(Y, training=training))
            if causal:
                Y = self.cross(X, memory, attention_mask=memory_mask, training=training)
                X = self.norms[1](X + self.dropout(Y, training=training))
            Y = self.ffn2(self.ffn1(X))
            return self.norms[-1](X + self.dropout(Y, training=training))

    class Transformer(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.src_embedding = layers.Embedding(spec.src_vocab, h)
            self.tgt_embedding = layers.Embedding(spec.tgt_vocab, h)
            self.encoder = [Block(False) for _ in range(spec.num_blks)]
            self.decoder = [Block(True) for _ in range(spec.num_blks)]
            self.dropout = layers.Dropout(spec.dropout)
            self.dense = layers.Dense(spec.tgt_vocab)

        def call(self, src, dec, valid_len, training=False):
            steps = tf.range(tf.shape(src)[1], dtype=valid_len.dtype)
            attended = steps[None, :] < valid_len[:, None]  # (batch, source steps)
            memory = self.dropout(self.src_embedding(src) * math.sqrt(h) + P, training=training)
            mask = tf.broadcast_to(attended[:, None, :], tf.concat([tf.shape(src), tf.shape(src)[1:]], 0))
            for blk in self.encoder:
                memory = blk(memory, mask, training=training)
            X = self.dropout(self.tgt_embedding(dec) * math.sqrt(h) + P, training=training)
            memory_mask = tf.broadcast_to(attended[:, None, :], tf.concat([tf.shape(dec), tf.shape(src)[1:]], 0))
            for blk in self.decoder:
                X = blk(X, None, training=training, memory=memory, memory_mask=memory_mask)
            return self.dense(X)

    with tf.device(device):
        train, val = ([tf.constant(a) for a in part] for part in arrays)
        P = tf.constant(spec.positions(train[0].shape[1]))
        model = Transformer()
        model(*(a[:1] for a in train[:3]))  # builds the layers
        optimizer = tf.keras.optimizers.Adam(spec.lr)
        variables = model.trainable_variables
        optimizer.build(variables)

    def loss_of(batch, training):  # the mean over the labels that are not padding
        src, dec, valid_len, label = batch
        per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(label, model(src, dec, valid_len, training=training))
        mask = tf.cast(label != spec.tgt_pad, tf.float32)
        return tf.reduce_sum(per_token * mask) / tf.reduce_sum(mask)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64)])
    def update(index):
        with tf.GradientTape() as tape:
            loss = loss_of([tf.gather(a, index) for a in train], True)
        grads, _ = tf.clip_by_global_norm(tape.gradient(loss, variables), spec.clip)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)] * 2)
    def evaluate_batch(lo, hi):
        return loss_of([a[lo:hi] for a in val], False) * tf.cast(hi - lo, tf.float32)

    loop = _Loop(tf.constant, update, lambda lo, hi: (evaluate_batch(tf.constant(lo), tf.constant(hi)), 0),
                 scope=tf.device(device))  # fmt: skip
    return loop, device


TRANSFORMER_LOOPS = {
    "torch": _torch_transformer,
    "mxnet": _mxnet_transformer,
    "jax": _jax_transformer,
    "tensorflow": _tensorflow_transformer,
}


def run_transformer(backend: str, arrays, spec: TransformerSpec, epochs: int, batch_size: int, *,
                    limits=(None, None), num_gpus: int = 0, seed: int = 0) -> dict:  # fmt: skip
    """Train the book's Transformer on ``arrays = (train, val)``, each ``(src, dec_input, src_valid_len,
    label)`` (int64, as ``MTFraEng`` holds them), shuffling the training rows each epoch and validating on the
    others in order, in batches of ``batch_size`` (``limits``: the first training and validation batches).

    Returns ``fit_s`` (the model built and every epoch), ``epoch_s``, the last epoch's training loss (the mean
    over its batches) and validation loss, the batches per epoch and the device."""
    importlib.import_module({"mxnet": "mxnet", "jax": "flax.linen"}.get(backend, backend))  # before the clock
    rng = np.random.default_rng(seed)
    sizes = (len(arrays[0][0]), len(arrays[1][0]))
    start = time.perf_counter()
    loop, device = TRANSFORMER_LOOPS[backend](arrays, spec, num_gpus, seed)
    with loop.scope:
        seconds, last = _epochs(
            sizes, epochs, batch_size, rng, loop.to_index, loop.step, loop.evaluate, limits, loop.phase
        )
    return {
        "fit_s": time.perf_counter() - start,
        "epoch_s": seconds,
        "train_loss": last["train_loss"],
        "train_losses": last["train_losses"],
        "val_loss": last["val_loss"],
        "train_batches": len(_batches(sizes[0], batch_size)[: limits[0]]),
        "val_batches": len(_batches(sizes[1], batch_size)[: limits[1]]),
        "devices": [device],
    }
