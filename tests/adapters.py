"""What the shared tests must do each framework's own way, as one small adapter class per framework.

The tests ask the same questions of every backend (what does the model output in evaluation mode?
which weights did ``apply_init`` draw?); only the spelling differs: a mode switch on PyTorch, a
context on MXNet, an argument on Keras, parameters outside the model on JAX. ``adapter(d2l)`` gives
the adapter of a backend bound to it, like ``functional_recipes.recipe`` gives its recipes. Each
adapter imports its framework only when called.
"""

from __future__ import annotations

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


class JAX(Adapter):
    """The parameters live outside the model: in the trainer's state, or drawn by ``model.apply_init``."""

    backend = "jax"

    def model_outputs(self, model, X, *, training, trainer=None):
        d2l = self.d2l
        params = trainer.state.params if trainer is not None else model.apply_init((X,), d2l.get_key())["params"]
        model.training = training  # a field of the model
        return to_numpy(model.apply({"params": params}, X, rngs={"dropout": d2l.get_key()}))

    def scratch_parameters(self, model, names, X):
        params = model.apply_init((X,), self.d2l.get_key())["params"]
        return [to_numpy(params[name]) for name in names]

    def xavier(self):
        from flax import linen as nn

        return nn.initializers.xavier_uniform()

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


ADAPTERS = per_backend(Torch, MXNet, JAX, TensorFlow)


def adapter(d2l) -> Adapter:
    """The adapter of ``d2l`` (the imported ``d2lx.<name>`` module), bound to it."""
    return ADAPTERS[backend_name(d2l)](d2l)
