"""Per-framework code of ``test_attention.py``: the attention layers run on given inputs with given weights,
and the 1.0 edition's section 11.4 cells (Bahdanau attention), typed from the book for each framework.

Each weight is given as numpy's ``x @ W`` (inputs, outputs); each class copies it into its framework's layer
(PyTorch's and MXNet's dense layers hold ``W.T``). Every method returns numpy arrays. Each class imports its
framework only when called.
"""

from __future__ import annotations

import numpy as np
from helpers import backend_name, per_backend

from d2lx.plotting import to_numpy


def _np(x) -> np.ndarray:
    return np.asarray(to_numpy(x))


class Torch:
    backend = "torch"

    @staticmethod
    def run(layer, *inputs):
        """``layer(*inputs)`` (numpy in) in evaluation mode: ``(output, attention_weights)`` as numpy."""
        import torch

        layer.eval()
        tensors = [None if x is None else torch.as_tensor(x) for x in inputs]
        with torch.no_grad():
            output = layer(*tensors)
        weights = layer.attention.attention_weights if hasattr(layer, "W_o") else layer.attention_weights
        return _np(output), _np(weights)

    @classmethod
    def dot_product(cls, d2l, queries, keys, values, valid_lens):
        return cls.run(d2l.DotProductAttention(dropout=0.5), queries, keys, values, valid_lens)

    @classmethod
    def _with_weights(cls, layer, inputs, weights: dict):
        import torch

        cls.run(layer, *inputs)  # the lazy layers learn their sizes
        with torch.no_grad():
            for name, W in weights.items():
                getattr(layer, name).weight.copy_(torch.as_tensor(np.asarray(W).T))
        return cls.run(layer, *inputs)

    @classmethod
    def additive(cls, d2l, queries, keys, values, valid_lens, W_q, W_k, w_v):
        layer = d2l.AdditiveAttention(num_hiddens=W_q.shape[1], dropout=0.1)
        return cls._with_weights(layer, (queries, keys, values, valid_lens), {"W_q": W_q, "W_k": W_k, "w_v": w_v})

    @staticmethod
    def multihead_layer(d2l, num_hiddens, num_heads, dropout=0.5):
        return d2l.MultiHeadAttention(num_hiddens, num_heads, dropout)

    @classmethod
    def multihead(cls, d2l, queries, keys, values, valid_lens, num_heads, W_q, W_k, W_v, W_o):
        layer = cls.multihead_layer(d2l, W_o.shape[1], num_heads)
        weights = {"W_q": W_q, "W_k": W_k, "W_v": W_v, "W_o": W_o}
        return cls._with_weights(layer, (queries, keys, values, valid_lens), weights)

    @staticmethod
    def tensor(d2l, x):
        return None if x is None else d2l.tensor(x)


class MXNet(Torch):
    backend = "mxnet"

    @staticmethod
    def run(layer, *inputs):
        from mxnet import np as mnp

        if not getattr(layer, "_d2lx_initialised", False):
            layer.initialize()
            layer._d2lx_initialised = True
        output = layer(*[None if x is None else mnp.array(x) for x in inputs])
        weights = layer.attention.attention_weights if hasattr(layer, "W_o") else layer.attention_weights
        return _np(output), _np(weights)

    @classmethod
    def _with_weights(cls, layer, inputs, weights):
        from mxnet import np as mnp

        cls.run(layer, *inputs)
        for name, W in weights.items():
            getattr(layer, name).weight.set_data(mnp.array(np.asarray(W).T))
        return cls.run(layer, *inputs)


class TensorFlow(Torch):
    backend = "tensorflow"

    @staticmethod
    def run(layer, *inputs):
        import tensorflow as tf

        tensors = [None if x is None else tf.constant(x) for x in inputs]
        output = layer(*tensors, training=False)
        weights = layer.attention.attention_weights if hasattr(layer, "W_o") else layer.attention_weights
        return _np(output), _np(weights)

    @classmethod
    def _with_weights(cls, layer, inputs, weights):
        cls.run(layer, *inputs)
        for name, W in weights.items():
            getattr(layer, name).kernel.assign(np.asarray(W, np.float32))
        return cls.run(layer, *inputs)

    @classmethod
    def additive(cls, d2l, queries, keys, values, valid_lens, W_q, W_k, w_v):
        layer = d2l.AdditiveAttention(keys.shape[-1], queries.shape[-1], W_q.shape[1], 0.1)
        return cls._with_weights(layer, (queries, keys, values, valid_lens), {"W_q": W_q, "W_k": W_k, "w_v": w_v})

    @staticmethod
    def multihead_layer(d2l, num_hiddens, num_heads, dropout=0.5):
        return d2l.MultiHeadAttention(num_hiddens, num_hiddens, num_hiddens, num_hiddens, num_heads, dropout)


class JAX(Torch):
    backend = "jax"

    @staticmethod
    def run(layer, *inputs, params=None):
        """``layer`` applied with ``params`` (its own ``init``'s where None): ``(output, attention_weights)``."""
        import jax
        from jax import numpy as jnp

        arrays = [None if x is None else jnp.asarray(x) for x in inputs]
        if params is None:
            params = layer.init(jax.random.key(0), *arrays).get("params", {})
        output, weights = layer.apply({"params": params}, *arrays, training=False)
        return _np(output), _np(weights)

    @classmethod
    def _with_weights(cls, layer, inputs, weights):
        import jax
        from jax import numpy as jnp

        arrays = [None if x is None else jnp.asarray(x) for x in inputs]
        params = dict(layer.init(jax.random.key(0), *arrays)["params"])
        for name, W in weights.items():
            assert params[name]["kernel"].shape == np.shape(W)
            params[name] = {**params[name], "kernel": jnp.asarray(W, jnp.float32)}
        return cls.run(layer, *inputs, params=params)


BOOKS = per_backend(Torch, MXNet, JAX, TensorFlow)


def book(d2l):
    """The per-framework code of ``d2l``'s framework (the imported ``d2lx.<name>`` module)."""
    return BOOKS[backend_name(d2l)]
