"""Per-framework code of ``test_performance.py``: chapter 13's book cells, typed from the book for each framework
(PyTorch and MXNet; TensorFlow has only the hybridize section in the book; JAX has none, so its cells are
d2lx's JAX version, as in the notebooks), run tiny, and a small MLP with fixed weights for the
data-parallel checks.

Each class imports its framework only when called; every method returns plain Python or numpy values.
"""

from __future__ import annotations

import numpy as np
from helpers import backend_name, per_backend

from d2lx.plotting import to_numpy

# A 6 -> 5 -> 3 MLP with fixed weights (numpy's ``x @ W``), so every backend and device count starts alike.
_rng = np.random.default_rng(7)
MLP_WEIGHTS = [
    (0.5 * _rng.standard_normal((6, 5))).astype(np.float32),
    (0.1 * _rng.standard_normal(5)).astype(np.float32),
    (0.5 * _rng.standard_normal((5, 3))).astype(np.float32),
    (0.1 * _rng.standard_normal(3)).astype(np.float32),
]


def mlp_reference(X: np.ndarray) -> np.ndarray:
    W1, b1, W2, b2 = (w.astype(np.float64) for w in MLP_WEIGHTS)
    return np.maximum(X @ W1 + b1, 0) @ W2 + b2


class _Stateful:
    """What PyTorch, MXNet and TensorFlow share: the net keeps its parameters, ``train_batch_ch13`` returns the sums."""

    @staticmethod
    def train_batch(d2l, setup, X, y, devices):
        return d2l.train_batch_ch13(setup["net"], X, y, setup["loss"], setup["trainer"], devices)

    @staticmethod
    def evaluate(d2l, setup, data, devices):
        return d2l.evaluate_accuracy_gpus(setup["net"], data)


class Torch(_Stateful):
    backend = "torch"

    @staticmethod
    def tensors(X, y):
        import torch

        return torch.from_numpy(X), torch.from_numpy(y)

    @staticmethod
    def mlp(d2l, devices):
        """``{'net', 'loss', 'trainer'}``: the MLP on ``devices[0]``, summed cross-entropy, SGD(lr=0.1)."""
        import torch
        from torch import nn

        net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
        with torch.no_grad():
            for layer, (W, b) in zip((net[0], net[2]), (MLP_WEIGHTS[:2], MLP_WEIGHTS[2:])):
                layer.weight.copy_(torch.from_numpy(W.T))
                layer.bias.copy_(torch.from_numpy(b))
        net.to(devices[0])
        return {
            "net": net,
            "loss": nn.CrossEntropyLoss(reduction="none"),
            "trainer": torch.optim.SGD(net.parameters(), 0.1),
        }

    @staticmethod
    def predict(setup, X):
        import torch

        with torch.no_grad():
            return to_numpy(setup["net"](X))

    @staticmethod
    def resnet18(d2l, X_shape):
        import torch

        net = d2l.resnet18(10)
        net.eval()
        with torch.no_grad():
            out = net(torch.zeros(X_shape))
        return tuple(out.shape), sum(p.numel() for p in net.parameters() if p.requires_grad)

    @staticmethod
    def small_residual_training(d2l, X, y, devices, lr):
        """Two ``train_batch_ch13`` steps on one batch of a residual block, a pool and a dense layer: the losses."""
        import torch
        from torch import nn

        net = nn.Sequential(d2l.Residual(4, use_1x1conv=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LazyLinear(4))
        net(X)
        trainer = torch.optim.SGD(net.parameters(), lr=lr)
        loss = nn.CrossEntropyLoss(reduction="none")
        return [d2l.train_batch_ch13(net, X, y, loss, trainer, devices)[0] for _ in range(2)]

    # --- the book's cells ---------------------------------------------------------------------
    @staticmethod
    def hybridize_cells(d2l):
        """Section 13.1 (PyTorch tab): the MLP, scripted; d2lx's notebook shows torch.compile beside it."""
        import warnings

        import torch
        from torch import nn

        def get_net():
            net = nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 2))
            return net

        x = torch.randn(size=(1, 512))
        net = get_net()
        before = net(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            net = torch.jit.script(net)
        after = net(x)
        with d2l.Benchmark("With torchscript"):
            for i in range(10):
                net(x)
        return to_numpy(before.detach()), to_numpy(after.detach())

    @staticmethod
    def multi_gpu_cells(d2l):
        """Section 13.5 (PyTorch tab), on ``d2l.try_all_gpus()``: the scratch LeNet's ``get_params``,
        ``allreduce`` (over ``try_gpu(0)`` and ``try_gpu(1)``, the CPU twice here), ``split_batch`` and one
        ``train_batch``. Returns the allreduced data and the shard shapes."""
        import torch
        from torch import nn
        from torch.nn import functional as F

        scale = 0.01
        W1 = torch.randn(size=(20, 1, 3, 3)) * scale
        b1 = torch.zeros(20)
        W2 = torch.randn(size=(50, 20, 5, 5)) * scale
        b2 = torch.zeros(50)
        W3 = torch.randn(size=(800, 128)) * scale
        b3 = torch.zeros(128)
        W4 = torch.randn(size=(128, 10)) * scale
        b4 = torch.zeros(10)
        params = [W1, b1, W2, b2, W3, b3, W4, b4]

        def lenet(X, params):
            h1_conv = F.conv2d(input=X, weight=params[0], bias=params[1])
            h1_activation = F.relu(h1_conv)
            h1 = F.avg_pool2d(input=h1_activation, kernel_size=(2, 2), stride=(2, 2))
            h2_conv = F.conv2d(input=h1, weight=params[2], bias=params[3])
            h2_activation = F.relu(h2_conv)
            h2 = F.avg_pool2d(input=h2_activation, kernel_size=(2, 2), stride=(2, 2))
            h2 = h2.reshape(h2.shape[0], -1)
            h3_linear = torch.mm(h2, params[4]) + params[5]
            h3 = F.relu(h3_linear)
            y_hat = torch.mm(h3, params[6]) + params[7]
            return y_hat

        loss = nn.CrossEntropyLoss(reduction="none")

        def get_params(params, device):
            new_params = [p.clone().to(device) for p in params]
            for p in new_params:
                p.requires_grad_()
            return new_params

        def allreduce(data):
            for i in range(1, len(data)):
                data[0][:] += data[i].to(data[0].device)
            for i in range(1, len(data)):
                data[i] = data[0].to(data[i].device)

        data = [torch.ones((1, 2), device=d2l.try_gpu(i)) * (i + 1) for i in range(2)]
        allreduce(data)
        devices = d2l.try_all_gpus()
        split = d2l.split_batch(torch.arange(20).reshape(4, 5), torch.arange(4), devices)

        def train_batch(X, y, device_params, devices, lr):
            X_shards, y_shards = d2l.split_batch(X, y, devices)
            ls = [loss(lenet(X_shard, device_W), y_shard).sum()
                  for X_shard, y_shard, device_W in zip(X_shards, y_shards, device_params)]  # fmt: skip
            for l in ls:
                l.backward()
            with torch.no_grad():
                for i in range(len(device_params[0])):
                    allreduce([device_params[c][i].grad for c in range(len(devices))])
            for param in device_params:
                d2l.sgd(param, lr, X.shape[0])

        device_params = [get_params(params, d) for d in devices]
        X, y = torch.randn(size=(8, 1, 28, 28)), torch.arange(8) % 10
        before = to_numpy(lenet(X, device_params[0]).detach())
        train_batch(X, y, device_params, devices, lr=0.2)
        after = to_numpy(lenet(X, device_params[0]).detach())
        return [to_numpy(d) for d in data], [tuple(s.shape) for s in split[0]], float(np.abs(after - before).max())

    @staticmethod
    def concise_cells(d2l):
        """Section 13.6 (PyTorch tab): ``resnet18(10)`` on ``try_all_gpus()``, ``nn.DataParallel`` and one
        batch of the book's loop; returns the output shape and the accuracy from ``evaluate_accuracy_gpus``."""
        import torch
        from torch import nn

        net = d2l.resnet18(10)
        devices = d2l.try_all_gpus()
        X, y = torch.randn(size=(4, 1, 16, 16)), torch.tensor([0, 1, 2, 3])
        net(X)  # the lazy residual blocks learn their shapes

        def init_weights(module):
            if type(module) in [nn.Linear, nn.Conv2d]:
                nn.init.normal_(module.weight, std=0.01)

        net.apply(init_weights)
        net = nn.DataParallel(net, device_ids=devices)
        trainer = torch.optim.SGD(net.parameters(), 0.1)
        loss = nn.CrossEntropyLoss()
        net.train()
        trainer.zero_grad()
        X, y = X.to(devices[0]), y.to(devices[0])
        l = loss(net(X), y)
        l.backward()
        trainer.step()
        return tuple(net(X).shape), d2l.evaluate_accuracy_gpus(net, [(X, y)])


class MXNet(_Stateful):
    backend = "mxnet"

    @staticmethod
    def tensors(X, y):
        from mxnet import np as mnp

        return mnp.array(X), mnp.array(y)

    @staticmethod
    def mlp(d2l, devices):
        from mxnet import gluon
        from mxnet import np as mnp
        from mxnet.gluon import nn

        net = nn.Sequential()
        net.add(nn.Dense(5, activation="relu", in_units=6), nn.Dense(3, in_units=5))
        net.initialize(ctx=devices)
        for layer, (W, b) in zip(net, (MLP_WEIGHTS[:2], MLP_WEIGHTS[2:])):
            layer.weight.set_data(mnp.array(W.T))
            layer.bias.set_data(mnp.array(b))
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
        return {"net": net, "loss": gluon.loss.SoftmaxCrossEntropyLoss(), "trainer": trainer}

    @staticmethod
    def predict(setup, X):
        return to_numpy(setup["net"](X))

    @staticmethod
    def resnet18(d2l, X_shape):
        from mxnet import np as mnp

        net = d2l.resnet18(10)
        net.initialize()
        out = net(mnp.zeros(X_shape))
        return tuple(out.shape), sum(p.data().size for p in net.collect_params().values() if p.grad_req != "null")

    @staticmethod
    def small_residual_training(d2l, X, y, devices, lr):
        from mxnet import gluon, init
        from mxnet.gluon import nn

        net = nn.Sequential()
        net.add(d2l.Residual(4, use_1x1conv=True), nn.GlobalAvgPool2D(), nn.Dense(4))
        net.initialize(init=init.Normal(sigma=0.01), ctx=devices)
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
        loss = gluon.loss.SoftmaxCrossEntropyLoss()
        return [d2l.train_batch_ch13(net, X, y, loss, trainer, devices)[0] for _ in range(2)]

    @staticmethod
    def hybridize_cells(d2l):
        """Section 13.1 (MXNet tab): the MLP, hybridized."""
        from mxnet import np as mnp
        from mxnet import npx
        from mxnet.gluon import nn

        def get_net():
            net = nn.HybridSequential()
            net.add(nn.Dense(256, activation="relu"), nn.Dense(128, activation="relu"), nn.Dense(2))
            net.initialize()
            return net

        x = mnp.random.normal(size=(1, 512))
        net = get_net()
        before = net(x)
        net.hybridize()
        after = net(x)
        with d2l.Benchmark("With hybridization"):
            for i in range(10):
                net(x)
            npx.waitall()
        return to_numpy(before), to_numpy(after)

    @staticmethod
    def multi_gpu_cells(d2l):
        """Section 13.5 (MXNet tab) on ``try_gpu(0)``, ``try_gpu(1)`` and ``try_all_gpus()`` (the CPU here)."""
        from mxnet import autograd, gluon, npx
        from mxnet import np as mnp

        scale = 0.01
        W1 = mnp.random.normal(scale=scale, size=(20, 1, 3, 3))
        b1 = mnp.zeros(20)
        W2 = mnp.random.normal(scale=scale, size=(50, 20, 5, 5))
        b2 = mnp.zeros(50)
        W3 = mnp.random.normal(scale=scale, size=(800, 128))
        b3 = mnp.zeros(128)
        W4 = mnp.random.normal(scale=scale, size=(128, 10))
        b4 = mnp.zeros(10)
        params = [W1, b1, W2, b2, W3, b3, W4, b4]

        def lenet(X, params):
            h1_conv = npx.convolution(data=X, weight=params[0], bias=params[1], kernel=(3, 3), num_filter=20)
            h1_activation = npx.relu(h1_conv)
            h1 = npx.pooling(data=h1_activation, pool_type="avg", kernel=(2, 2), stride=(2, 2))
            h2_conv = npx.convolution(data=h1, weight=params[2], bias=params[3], kernel=(5, 5), num_filter=50)
            h2_activation = npx.relu(h2_conv)
            h2 = npx.pooling(data=h2_activation, pool_type="avg", kernel=(2, 2), stride=(2, 2))
            h2 = h2.reshape(h2.shape[0], -1)
            h3_linear = mnp.dot(h2, params[4]) + params[5]
            h3 = npx.relu(h3_linear)
            y_hat = mnp.dot(h3, params[6]) + params[7]
            return y_hat

        loss = gluon.loss.SoftmaxCrossEntropyLoss()

        def get_params(params, device):
            new_params = [p.copyto(device) for p in params]
            for p in new_params:
                p.attach_grad()
            return new_params

        def allreduce(data):
            for i in range(1, len(data)):
                data[0][:] += data[i].copyto(data[0].ctx)
            for i in range(1, len(data)):
                data[0].copyto(data[i])

        data = [mnp.ones((1, 2), ctx=d2l.try_gpu(i)) * (i + 1) for i in range(2)]
        allreduce(data)
        devices = d2l.try_all_gpus()
        split = d2l.split_batch(mnp.arange(20).reshape(4, 5), mnp.arange(4), devices)

        def train_batch(X, y, device_params, devices, lr):
            X_shards, y_shards = d2l.split_batch(X, y, devices)
            with autograd.record():
                ls = [loss(lenet(X_shard, device_W), y_shard)
                      for X_shard, y_shard, device_W in zip(X_shards, y_shards, device_params)]  # fmt: skip
            for l in ls:
                l.backward()
            for i in range(len(device_params[0])):
                allreduce([device_params[c][i].grad for c in range(len(devices))])
            for param in device_params:
                d2l.sgd(param, lr, X.shape[0])

        device_params = [get_params(params, d) for d in devices]
        X, y = mnp.random.normal(size=(8, 1, 28, 28)), mnp.arange(8) % 10
        before = to_numpy(lenet(X, device_params[0]))
        train_batch(X, y, device_params, devices, lr=0.2)
        after = to_numpy(lenet(X, device_params[0]))
        return [to_numpy(d) for d in data], [tuple(s.shape) for s in split[0]], float(np.abs(after - before).max())

    @staticmethod
    def concise_cells(d2l):
        """Section 13.6 (MXNet tab): ``resnet18(10)`` initialized on ``try_all_gpus()``, the shards' forward
        passes, one step of the book's loop and ``evaluate_accuracy_gpus``."""
        from mxnet import autograd, gluon, init
        from mxnet import np as mnp

        net = d2l.resnet18(10)
        devices = d2l.try_all_gpus()
        net.initialize(init=init.Normal(sigma=0.01), ctx=devices)
        x = mnp.random.uniform(size=(4, 1, 16, 16))
        x_shards = gluon.utils.split_and_load(x, devices)
        net(x_shards[0])
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
        loss = gluon.loss.SoftmaxCrossEntropyLoss()
        y = mnp.array([0, 1, 2, 3])
        X_shards, y_shards = d2l.split_batch(x, y, devices)
        with autograd.record():
            ls = [loss(net(X_shard), y_shard) for X_shard, y_shard in zip(X_shards, y_shards)]
        for l in ls:
            l.backward()
        trainer.step(4)
        return tuple(net(x).shape), d2l.evaluate_accuracy_gpus(net, [(x, y)])


class JAX:
    backend = "jax"

    @staticmethod
    def tensors(X, y):
        from jax import numpy as jnp

        return jnp.asarray(X), jnp.asarray(y.astype(np.int32))

    @staticmethod
    def mlp(d2l, devices):
        from flax import linen as nn
        from jax import numpy as jnp

        net = nn.Sequential([nn.Dense(5), nn.relu, nn.Dense(3)])
        params = {"params": {
            "layers_0": {"kernel": jnp.asarray(MLP_WEIGHTS[0]), "bias": jnp.asarray(MLP_WEIGHTS[1])},
            "layers_2": {"kernel": jnp.asarray(MLP_WEIGHTS[2]), "bias": jnp.asarray(MLP_WEIGHTS[3])},
        }}  # fmt: skip
        import optax

        return {"net": net, "params": params, "loss": optax.softmax_cross_entropy_with_integer_labels,
                "trainer": optax.sgd(0.1)}  # fmt: skip

    @staticmethod
    def train_batch(d2l, setup, X, y, devices):
        setup["params"], metrics = d2l.train_batch_ch13(
            setup["net"], setup["params"], X, y, setup["loss"], setup["trainer"], devices
        )
        return metrics

    @staticmethod
    def predict(setup, X):
        return to_numpy(setup["net"].apply(setup["params"], X))

    @staticmethod
    def evaluate(d2l, setup, data, devices):
        return d2l.evaluate_accuracy_gpus(setup["net"], setup["params"], data, devices=devices)

    @staticmethod
    def resnet18(d2l, X_shape):
        """Shapes only (``jax.eval_shape``): compiling ResNet-18 on a CPU takes longer than this test may."""
        import jax
        from jax import numpy as jnp

        n, c, h, w = X_shape
        net = d2l.resnet18(10, training=False)
        X = jnp.zeros((n, h, w, c))
        params = jax.eval_shape(net.init, jax.random.key(0), X)
        out = jax.eval_shape(net.apply, params, X)
        return tuple(out.shape), sum(x.size for x in jax.tree_util.tree_leaves(params["params"]))

    @staticmethod
    def small_residual_net(d2l):
        """A residual block, pooled, then dense: a module with a ``training`` field, as d2lx's JAX models."""
        from flax import linen as nn

        class SmallResidual(nn.Module):
            training: bool = True

            @nn.compact
            def __call__(self, X):
                X = d2l.Residual(4, use_1x1conv=True, training=self.training)(X)
                return nn.Dense(4)(X.mean(axis=(1, 2)))

        return SmallResidual()

    @staticmethod
    def small_residual_training(d2l, X, y, devices, lr):
        import jax
        import optax

        X = X.transpose(0, 2, 3, 1)
        net = JAX.small_residual_net(d2l)
        params = jax.jit(net.init)(jax.random.key(0), X)
        trainer = optax.sgd(lr)
        loss = optax.softmax_cross_entropy_with_integer_labels
        losses = []
        for _ in range(2):
            params, (l, _) = d2l.train_batch_ch13(net, params, X, y, loss, trainer, devices)
            losses.append(l)
        return losses

    @staticmethod
    def hybridize_cells(d2l):
        """d2lx's JAX version of section 13.1: the MLP as a Flax module, then ``jax.jit`` of its apply."""
        import jax
        from flax import linen as nn

        def get_net():
            return nn.Sequential([nn.Dense(256), nn.relu, nn.Dense(128), nn.relu, nn.Dense(2)])

        x = jax.random.normal(d2l.get_key(), (1, 512))
        net = get_net()
        params = jax.jit(net.init)(d2l.get_key(), x)
        before = net.apply(params, x)
        net_jit = jax.jit(net.apply)
        after = net_jit(params, x)
        with d2l.Benchmark("With jit"):
            for i in range(10):
                net_jit(params, x)
            after.block_until_ready()
        return to_numpy(before), to_numpy(after)

    @staticmethod
    def multi_gpu_cells(d2l):
        """d2lx's JAX version of section 13.5: ``split_batch`` over ``try_all_gpus()`` and one data-parallel
        step of the MLP (``train_batch_ch13``) from the scratch parameters."""
        import jax
        import optax
        from jax import numpy as jnp

        devices = d2l.try_all_gpus()
        data = [jax.device_put(jnp.ones((1, 2)) * (i + 1), d2l.try_gpu(i)) for i in range(2)]
        total = sum(jax.device_put(d, data[0].devices().pop()) for d in data)
        data = [jax.device_put(total, d.devices().pop()) for d in data]
        split = d2l.split_batch(jnp.arange(20).reshape(4, 5), jnp.arange(4), devices)
        setup = JAX.mlp(d2l, devices)
        X, y = jnp.asarray(np.ones((8, 6), np.float32)), jnp.arange(8) % 3
        before = JAX.predict(setup, X)
        setup["params"], _ = d2l.train_batch_ch13(
            setup["net"],
            setup["params"],
            X,
            y,
            optax.softmax_cross_entropy_with_integer_labels,
            optax.sgd(0.2),
            devices,
        )
        after = JAX.predict(setup, X)
        return [to_numpy(d) for d in data], [tuple(s.shape) for s in split[0]], float(np.abs(after - before).max())

    @staticmethod
    def concise_cells(d2l):
        import jax
        import optax
        from jax import numpy as jnp

        net = JAX.small_residual_net(d2l)  # ResNet-18 compiles for minutes on a CPU: the notebook trains it
        devices = d2l.try_all_gpus()
        x = jax.random.uniform(d2l.get_key(), (4, 16, 16, 1))
        y = jnp.array([0, 1, 2, 3])
        params = jax.jit(net.init)(d2l.get_key(), x)
        loss = optax.softmax_cross_entropy_with_integer_labels
        params, _ = d2l.train_batch_ch13(net, params, x, y, loss, optax.sgd(0.01), devices)
        out = net.clone(training=False).apply(params, x)
        return tuple(out.shape), d2l.evaluate_accuracy_gpus(net, params, [(x, y)])


class TensorFlow(_Stateful):
    backend = "tensorflow"

    @staticmethod
    def tensors(X, y):
        import tensorflow as tf

        return tf.constant(X), tf.constant(y)

    @staticmethod
    def mlp(d2l, devices):
        import tensorflow as tf

        net = tf.keras.Sequential([tf.keras.layers.Dense(5, activation="relu"), tf.keras.layers.Dense(3)])
        net.build((None, 6))
        net.set_weights(MLP_WEIGHTS)
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
        return {"net": net, "loss": loss, "trainer": tf.keras.optimizers.SGD(learning_rate=0.1)}

    @staticmethod
    def predict(setup, X):
        return to_numpy(setup["net"](X))

    @staticmethod
    def evaluate(d2l, setup, data, devices):
        return d2l.evaluate_accuracy_gpus(setup["net"], data, devices=devices)

    @staticmethod
    def resnet18(d2l, X_shape):
        import tensorflow as tf

        n, c, h, w = X_shape
        net = d2l.resnet18(10)
        out = net(tf.zeros((n, h, w, c)))
        return tuple(out.shape), sum(int(tf.size(v)) for v in net.trainable_variables)

    @staticmethod
    def small_residual_net(d2l):
        import tensorflow as tf

        layers = [d2l.Residual(4, use_1x1conv=True), tf.keras.layers.GlobalAvgPool2D(), tf.keras.layers.Dense(4)]
        return tf.keras.Sequential(layers)

    @staticmethod
    def small_residual_training(d2l, X, y, devices, lr):
        import tensorflow as tf

        X = tf.transpose(X, (0, 2, 3, 1))
        net = TensorFlow.small_residual_net(d2l)
        trainer = tf.keras.optimizers.SGD(learning_rate=lr)
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
        return [d2l.train_batch_ch13(net, X, y, loss, trainer, devices)[0] for _ in range(2)]

    @staticmethod
    def hybridize_cells(d2l):
        """Section 13.1 (TensorFlow tab): the Keras MLP, then ``tf.function``."""
        import tensorflow as tf
        from tensorflow.keras.layers import Dense

        def get_net():
            net = tf.keras.Sequential()
            net.add(Dense(256, input_shape=(512,), activation="relu"))
            net.add(Dense(128, activation="relu"))
            net.add(Dense(2, activation="linear"))
            return net

        x = tf.random.normal([1, 512])
        net = get_net()
        before = net(x)
        net = tf.function(net)
        after = net(x)
        with d2l.Benchmark("Graph Mode"):
            for i in range(10):
                net(x)
        return to_numpy(before), to_numpy(after)

    @staticmethod
    def multi_gpu_cells(d2l):
        """d2lx's TensorFlow version of section 13.5: ``split_batch`` over ``try_all_gpus()`` and one
        data-parallel step of the MLP."""
        import tensorflow as tf

        devices = d2l.try_all_gpus()
        data = []
        for i in range(2):
            with d2l.try_gpu(i):
                data.append(tf.ones((1, 2)) * (i + 1))
        total = data[0] + data[1]
        data = [tf.identity(total) for _ in data]
        split = d2l.split_batch(tf.reshape(tf.range(20), (4, 5)), tf.range(4), devices)
        setup = TensorFlow.mlp(d2l, devices)
        X, y = tf.ones((8, 6)), tf.range(8) % 3
        before = TensorFlow.predict(setup, X)
        d2l.train_batch_ch13(setup["net"], X, y, setup["loss"], tf.keras.optimizers.SGD(learning_rate=0.2), devices)
        after = TensorFlow.predict(setup, X)
        return [to_numpy(d) for d in data], [tuple(s.shape) for s in split[0]], float(np.abs(after - before).max())

    @staticmethod
    def concise_cells(d2l):
        import tensorflow as tf

        net = TensorFlow.small_residual_net(d2l)  # the notebook trains ResNet-18
        devices = d2l.try_all_gpus()
        x = tf.random.uniform((4, 16, 16, 1))
        y = tf.constant([0, 1, 2, 3])
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
        d2l.train_batch_ch13(net, x, y, loss, tf.keras.optimizers.SGD(learning_rate=0.01), devices)
        return tuple(net(x).shape), d2l.evaluate_accuracy_gpus(net, [(x, y)])


BOOK = per_backend(Torch, MXNet, JAX, TensorFlow)


def book(d2l):
    """The per-framework class of the backend ``d2l``."""
    return BOOK[backend_name(d2l)]
