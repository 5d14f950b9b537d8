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
validation numbers. The epoch loop is written once (``_epochs``); each
framework supplies one training step on a batch of row indices and one
evaluation of a slice of the validation rows.
"""

from __future__ import annotations

import time

import numpy as np


def _batches(n: int, size: int):
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _epochs(sizes, epochs, batch_size, rng, to_index, step, evaluate):
    """``step(index)`` on each shuffled training batch, then ``evaluate(lo, hi) -> (summed loss, correct)``
    on the validation rows in order; the sums stay in the framework until the epoch's end."""
    (n, n_val), seconds, last = sizes, [], {}
    for _ in range(epochs):
        start = time.perf_counter()
        order = to_index(rng.permutation(n))
        for lo, hi in _batches(n, batch_size):
            step(order[lo:hi])
        total = correct = 0.0
        for lo, hi in _batches(n_val, batch_size):
            batch_loss, batch_correct = evaluate(lo, hi)
            total, correct = total + batch_loss, correct + batch_correct
        last = {"val_loss": float(total) / n_val, "val_acc": float(correct) / n_val}
        seconds.append(time.perf_counter() - start)
    return seconds, last


def _initial_weight(rng, inputs: int, outputs: int) -> np.ndarray:
    return rng.normal(0, 0.01, (inputs, outputs)).astype(np.float32)


def _torch(arrays, classify, outputs, lr, rng):
    import torch
    from torch.nn import functional as F

    X, y, X_val, y_val = (torch.from_numpy(a) for a in arrays)
    if classify:  # torch's cross-entropy wants int64 labels
        y, y_val = y.long(), y_val.long()
    W = torch.from_numpy(_initial_weight(rng, X.shape[1], outputs)).requires_grad_()
    b = torch.zeros(outputs, requires_grad=True)

    def losses(out, target):
        return F.cross_entropy(out, target, reduction="none") if classify else ((out - target) ** 2 / 2).reshape(-1)

    def step(index):
        losses(X[index] @ W + b, y[index]).mean().backward()
        with torch.no_grad():  # plain SGD (torch.optim's first step spends a second importing)
            for param in (W, b):
                param -= lr * param.grad
                param.grad = None

    @torch.no_grad()
    def evaluate(lo, hi):
        out = X_val[lo:hi] @ W + b
        return losses(out, y_val[lo:hi]).sum(), (out.argmax(dim=1) == y_val[lo:hi]).sum() if classify else 0

    return torch.from_numpy, step, evaluate


def _mxnet(arrays, classify, outputs, lr, rng):
    import mxnet as mx
    from mxnet import autograd, gluon, npx
    from mxnet import np as mnp

    npx.set_np()
    X, y, X_val, y_val = (mnp.array(a, dtype=a.dtype) for a in arrays)
    net = gluon.nn.Dense(outputs)
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


def _jax(arrays, classify, outputs, lr, rng):
    import jax
    import optax
    from jax import numpy as jnp

    X, y, X_val, y_val = (jnp.asarray(a) for a in arrays)
    params = {"W": jnp.asarray(_initial_weight(rng, X.shape[1], outputs)), "b": jnp.zeros(outputs)}
    tx = optax.sgd(lr)
    state = {"params": params, "opt": tx.init(params)}

    def losses(params, X, y):
        out = X @ params["W"] + params["b"]
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


def _tensorflow(arrays, classify, outputs, lr, rng):
    import tensorflow as tf

    X, y, X_val, y_val = (tf.constant(a) for a in arrays)
    W = tf.Variable(_initial_weight(rng, X.shape[1], outputs))
    b = tf.Variable(tf.zeros(outputs))

    def losses(X, y):
        out = X @ W + b
        if classify:
            return tf.nn.sparse_softmax_cross_entropy_with_logits(y, out), out
        return tf.reshape((out - y) ** 2 / 2, [-1]), out

    @tf.function(reduce_retracing=True)
    def update(X, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(losses(X, y)[0])
        grad_W, grad_b = tape.gradient(loss, [W, b])
        W.assign_sub(lr * grad_W)
        b.assign_sub(lr * grad_b)

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


def run(backend: str, arrays, classify: bool, epochs: int, batch_size: int, lr: float, seed: int = 0):
    """Train on ``arrays = (X, y, X_val, y_val)`` (numpy); return (seconds per epoch, final validation numbers)."""
    rng = np.random.default_rng(seed)
    to_index, step, evaluate = LOOPS[backend](arrays, classify, 10 if classify else 1, lr, rng)
    return _epochs((len(arrays[0]), len(arrays[2])), epochs, batch_size, rng, to_index, step, evaluate)
