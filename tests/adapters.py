"""What the shared tests must do each framework's own way, as one small adapter class per framework.

The tests ask the same questions of every backend (what does the model output in evaluation mode?
which weights did ``apply_init`` draw?); only the spelling differs: a mode switch on PyTorch, a
context on MXNet, an argument on Keras, parameters outside the model on JAX. ``adapter(d2l)`` gives
the adapter of a backend bound to it, like ``functional_recipes.recipe`` gives its recipes. Each
adapter imports its framework only when called.
"""

from __future__ import annotations

import warnings

import numpy as np
from helpers import backend_name, per_backend

from d2lx.plotting import to_numpy


class Adapter:
    """The questions, asked of the backend ``d2l`` (an imported ``d2lx.<name>`` module)."""

    backend: str  # the registry's name for the backend

    def __init__(self, d2l):
        self.d2l = d2l

    def model_outputs(self, model, X, *, training: bool, trainer=None) -> np.ndarray:
        """``model(X)`` as numpy, in training or evaluation mode.

        On JAX the parameters come from ``trainer``, or from ``model.apply_init`` when there is none.
        """
        raise NotImplementedError

    def scratch_parameters(self, model, names, X) -> list[np.ndarray]:
        """The initial values of a scratch model's parameters ``names`` (on JAX: from one ``model.apply_init``)."""
        return [to_numpy(getattr(model, name)) for name in names]

    def xavier(self):
        """Xavier (Glorot) uniform initialisation, spelled as the book spells it on this framework."""
        raise NotImplementedError

    def weights_after_apply_init(self, model, X, init=None) -> list[np.ndarray]:
        """``model.apply_init`` on the batch ``X`` (with ``init`` if given), then the model's weight matrices."""
        if init is None:
            model.apply_init([X])
        else:
            model.apply_init([X], init)
        return [np.array(to_numpy(p)) for p in self.parameters(model) if len(p.shape) == 2]  # copies: torch's share

    def parameters(self, model) -> list:
        """The model's parameters as the framework's arrays (frameworks whose models hold them)."""
        raise NotImplementedError

    # chapter 9 (tests/test_rnn_scratch.py): the scratch RNNs, whose parameters come from the seeded stream
    def call_scratch(self, model, *args):
        """``model(*args)`` for a fresh scratch model (on JAX: with the parameters one ``apply_init`` draws)."""
        return model(*args)

    def predict(self, model, prefix, num_preds, vocab, trainer=None) -> str:
        """``model.predict(prefix, num_preds, vocab)`` (on JAX: with ``trainer``'s parameters, or else with
        those one ``apply_init`` draws)."""
        return model.predict(prefix, num_preds, vocab)

    # chapter 8 (tests/test_modern_cnn.py); shapes and arrays are channels first, as numpy, both ways
    def block_output(self, block, X: np.ndarray) -> np.ndarray:
        """``block(X)`` in training mode for a fresh block (a layer such as ``d2l.Residual(3)``)."""
        raise NotImplementedError

    def trainable_parameter_count(self, block, X_shape: tuple[int, ...]) -> int:
        """How many trainable numbers ``block`` has once a batch of ``X_shape`` has shaped it
        (running statistics of batch norm are not trainable)."""
        raise NotImplementedError

    def scratch_batch_norm(self, num_features: int, num_dims: int, train_batches, X_eval) -> dict:
        """A fresh ``d2l.BatchNorm(num_features, num_dims)`` (the book's scratch layer) called in training
        mode on each of ``train_batches``, then in evaluation mode on ``X_eval``. Returns
        ``train_outputs`` (a list), ``moving_mean``, ``moving_var`` and ``eval_output``."""
        raise NotImplementedError

    def running_statistics(self, model, trainer) -> list[np.ndarray]:
        """Every batch-norm running mean and variance of ``model`` (on JAX: of ``trainer.state``), copied."""
        raise NotImplementedError


class Torch(Adapter):
    backend = "torch"

    def model_outputs(self, model, X, *, training, trainer=None):
        import torch

        model.train(training)
        with torch.no_grad():
            return to_numpy(model(X))

    def xavier(self):
        from torch import nn

        def init_xavier(module):
            if type(module) is nn.Linear:
                nn.init.xavier_uniform_(module.weight)

        return init_xavier

    def parameters(self, model):
        return list(model.parameters())

    def block_output(self, block, X):
        import torch

        block.train()
        with torch.no_grad():
            return to_numpy(block(torch.from_numpy(X)))

    def trainable_parameter_count(self, block, X_shape):
        import torch

        with torch.no_grad():
            block(torch.zeros(X_shape))  # gives the lazy layers their shapes
        return sum(p.numel() for p in block.parameters() if p.requires_grad)

    def scratch_batch_norm(self, num_features, num_dims, train_batches, X_eval):
        import torch

        layer = self.d2l.BatchNorm(num_features, num_dims)
        layer.train()
        train_outputs = [to_numpy(layer(torch.from_numpy(X))) for X in train_batches]
        layer.eval()
        with torch.no_grad():
            eval_output = to_numpy(layer(torch.from_numpy(X_eval)))
        return {
            "train_outputs": train_outputs,
            "moving_mean": to_numpy(layer.moving_mean).reshape(-1),
            "moving_var": to_numpy(layer.moving_var).reshape(-1),
            "eval_output": eval_output,
        }

    def running_statistics(self, model, trainer):
        from torch import nn

        stats = []
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                stats += [module.running_mean, module.running_var]
            elif isinstance(module, self.d2l.BatchNorm):
                stats += [module.moving_mean, module.moving_var]
        return [np.array(to_numpy(s)) for s in stats]


class MXNet(Adapter):
    backend = "mxnet"

    def model_outputs(self, model, X, *, training, trainer=None):
        from mxnet import autograd

        with autograd.train_mode() if training else autograd.predict_mode():
            return to_numpy(model(X))

    def xavier(self):
        from mxnet import init

        return init.Xavier()

    def parameters(self, model):
        return [p.data() for p in model.collect_params().values()]

    # chapter 8: a fresh Gluon block needs ``initialize()``; training mode is ``autograd.record()``
    def block_output(self, block, X):
        from mxnet import autograd, np

        block.initialize()
        with autograd.record():
            return to_numpy(block(np.array(X)))

    def trainable_parameter_count(self, block, X_shape):
        from mxnet import np

        with warnings.catch_warnings():  # a model initialises itself (the book's): "already initialized"
            warnings.filterwarnings("ignore", message="Parameter .* is already initialized")
            block.initialize()
        block(np.zeros(X_shape))  # gives the deferred parameters their shapes
        return sum(p.data().size for p in block.collect_params().values() if p.grad_req != "null")

    def scratch_batch_norm(self, num_features, num_dims, train_batches, X_eval):
        from mxnet import autograd, np

        layer = self.d2l.BatchNorm(num_features, num_dims)
        layer.initialize()
        outputs = []
        for X in train_batches:
            with autograd.record():
                outputs.append(to_numpy(layer(np.array(X))))
        with autograd.predict_mode():
            eval_output = to_numpy(layer(np.array(X_eval)))
        return {
            "train_outputs": outputs,
            "moving_mean": to_numpy(layer.moving_mean).reshape(-1),
            "moving_var": to_numpy(layer.moving_var).reshape(-1),
            "eval_output": eval_output,
        }

    def running_statistics(self, model, trainer):
        from mxnet.gluon import nn

        statistics = []

        def visit(block):
            if isinstance(block, self.d2l.BatchNorm):  # the book's scratch layer: plain arrays
                statistics.extend([block.moving_mean, block.moving_var])
            elif isinstance(block, nn.BatchNorm):
                statistics.extend([block.running_mean.data(), block.running_var.data()])
            for child in block._children.values():
                visit(child)

        visit(model)
        return [np.array(to_numpy(s)) for s in statistics]


class JAX(Adapter):
    """The parameters live outside the model: in the trainer's state, or drawn by ``model.apply_init``."""

    backend = "jax"

    def model_outputs(self, model, X, *, training, trainer=None):
        d2l = self.d2l
        if trainer is not None:  # the batch-norm statistics are trainer state too
            variables = {"params": trainer.state.params, "batch_stats": trainer.state.batch_stats}
        else:
            variables = dict(model.apply_init((X,), d2l.get_key()))
        variables = {name: tree for name, tree in variables.items() if name == "params" or tree}
        model.training = training  # a field of the model
        rngs = {"dropout": d2l.get_key()}
        if training and "batch_stats" in variables:  # batch norm on this batch's statistics (updates dropped)
            return to_numpy(model.apply(variables, X, rngs=rngs, mutable=["batch_stats"])[0])
        return to_numpy(model.apply(variables, X, rngs=rngs))

    @staticmethod
    def _channels_last(X):
        return X.transpose(0, 2, 3, 1) if X.ndim == 4 else X

    @staticmethod
    def _channels_first(Y):
        Y = np.asarray(Y)
        return Y.transpose(0, 3, 1, 2) if Y.ndim == 4 else Y

    def block_output(self, block, X):
        Y, _ = block.init_with_output(self.d2l.get_key(), self._channels_last(X))  # init runs in training mode
        return self._channels_first(Y)

    def trainable_parameter_count(self, block, X_shape):
        import jax

        n, c, h, w = X_shape
        X = jax.ShapeDtypeStruct((n, h, w, c), np.float32)
        params = jax.eval_shape(block.init, jax.random.key(0), X)["params"]
        return sum(int(np.prod(p.shape)) for p in jax.tree_util.tree_leaves(params))

    def scratch_batch_norm(self, num_features, num_dims, train_batches, X_eval):
        layer = self.d2l.BatchNorm(num_features, num_dims)
        variables = layer.init(self.d2l.get_key(), self._channels_last(train_batches[0]))
        outputs = []
        for X in train_batches:
            Y, updates = layer.apply(variables, self._channels_last(X), mutable=["batch_stats"])
            variables = {**variables, **updates}
            outputs.append(self._channels_first(Y))
        evaluated = layer.clone(deterministic=True).apply(variables, self._channels_last(X_eval))
        stats = variables["batch_stats"]
        return {
            "train_outputs": outputs,
            "moving_mean": np.asarray(stats["moving_mean"]).reshape(-1),
            "moving_var": np.asarray(stats["moving_var"]).reshape(-1),
            "eval_output": self._channels_first(evaluated),
        }

    def running_statistics(self, model, trainer):
        import jax

        return [np.array(leaf) for leaf in jax.tree_util.tree_leaves(trainer.state.batch_stats)]

    def scratch_parameters(self, model, names, X):
        params = model.apply_init((X,), self.d2l.get_key())["params"]
        return [to_numpy(params[name]) for name in names]

    def xavier(self):
        from flax import linen as nn

        return nn.initializers.xavier_uniform()

    def call_scratch(self, model, *args):
        return model.apply(model.apply_init(args[:1], self.d2l.get_key()), *args)

    def predict(self, model, prefix, num_preds, vocab, trainer=None):
        if trainer is not None:
            return model.predict(prefix, num_preds, vocab, trainer.state.params)
        params = model.apply_init((np.zeros((1, 1), np.int32),), self.d2l.get_key())["params"]
        return model.predict(prefix, num_preds, vocab, params)

    def weights_after_apply_init(self, model, X, init=None):
        import jax

        params = model.apply_init((X,), self.d2l.get_key(), init=init)["params"]
        return [to_numpy(p) for p in jax.tree_util.tree_leaves(params) if p.ndim == 2]


class TensorFlow(Adapter):
    backend = "tensorflow"

    def model_outputs(self, model, X, *, training, trainer=None):
        return to_numpy(model(X, training=training))

    def xavier(self):
        import tensorflow as tf

        return tf.keras.initializers.GlorotUniform()

    def parameters(self, model):
        return model.trainable_variables

    # Keras keeps images channels last (n, h, w, c): the shared tests' channels-first arrays are
    # transposed on the way in and out.
    @staticmethod
    def _nhwc(X):
        X = np.asarray(X)
        return X.transpose(0, 2, 3, 1) if X.ndim == 4 else X

    @staticmethod
    def _nchw(X):
        X = np.asarray(to_numpy(X))
        return X.transpose(0, 3, 1, 2) if X.ndim == 4 else X

    def block_output(self, block, X):
        return self._nchw(block(self.d2l.tensor(self._nhwc(X)), training=True))

    def trainable_parameter_count(self, block, X_shape):
        n, c, h, w = X_shape
        block(self.d2l.zeros((n, h, w, c)), training=True)
        return sum(int(np.prod(v.shape)) for v in block.trainable_variables)

    def scratch_batch_norm(self, num_features, num_dims, train_batches, X_eval):
        layer = self.d2l.BatchNorm()  # the book's TensorFlow layer takes its size from the first batch
        outputs = [self._nchw(layer(self.d2l.tensor(self._nhwc(X)), training=True)) for X in train_batches]
        assert layer.moving_mean.shape == (num_features,)
        return {
            "train_outputs": outputs,
            "moving_mean": layer.moving_mean.numpy().copy(),
            "moving_var": layer.moving_variance.numpy().copy(),
            "eval_output": self._nchw(layer(self.d2l.tensor(self._nhwc(X_eval)), training=False)),
        }

    def running_statistics(self, model, trainer):
        names = ("moving_mean", "moving_variance")  # Keras's BatchNormalization and the book's BatchNorm
        return [v.numpy().copy() for v in model.non_trainable_variables if v.name in names]


ADAPTERS = per_backend(Torch, MXNet, JAX, TensorFlow)


def adapter(d2l) -> Adapter:
    """The adapter of ``d2l`` (the imported ``d2lx.<name>`` module), bound to it."""
    return ADAPTERS[backend_name(d2l)](d2l)
