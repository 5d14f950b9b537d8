"""The 1.0 edition's sections 11.6-11.8 for each framework, as ``test_transformer.py`` runs them.

Each class holds what differs per framework: the book's constructor calls where they differ (PyTorch's and
TensorFlow's ``AddNorm`` take ``norm_shape``), how a layer is called in training or evaluation mode, and
``with_weights``, which runs a layer once its dense and layer-norm sublayers hold weights the test chose. Those
weights are named by the sublayer's path from the layer (``"ffn.dense1"``), each dense layer's as ``(W, b)``
with ``W`` (inputs, outputs) as numpy multiplies, each layer norm's as ``(gamma, beta)``. Every parameter must
be given one: a sublayer left with its random draw fails the test rather than passing by luck. Each class
imports its framework only when called.
"""

from __future__ import annotations

import inspect

import numpy as np
from helpers import backend_name, per_backend

from d2lx.plotting import to_numpy


def _given(weights: dict, path: str) -> tuple:
    if path not in weights:
        raise AssertionError(f"no weights given for {path!r} (given: {sorted(weights)})")
    return weights[path]


class Torch:
    backend = "torch"
    layer_norm_eps = 1e-5  # nn.LayerNorm's default

    @staticmethod
    def add_norm(d2l, num_hiddens, dropout):
        return d2l.AddNorm(num_hiddens, dropout)

    @staticmethod
    def encoder_block(d2l, num_hiddens, ffn_num_hiddens, num_heads, dropout):
        return d2l.TransformerEncoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout)

    @staticmethod
    def encoder(d2l, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout):
        return d2l.TransformerEncoder(vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout)

    @classmethod
    def encode(cls, d2l, encoder, X, valid_lens):
        """``encoder(X, valid_lens)`` in evaluation mode and the attention weights of its blocks, as numpy."""
        outputs = cls.run(d2l, encoder, X, valid_lens)
        return outputs, [to_numpy(w) for w in encoder.attention_weights]

    @staticmethod
    def run(d2l, layer, *inputs, training=False):
        """``layer(*inputs)`` as numpy, in training or evaluation mode."""
        import torch

        layer.train(training)
        with torch.no_grad():
            return to_numpy(layer(*(torch.as_tensor(np.asarray(a)) for a in inputs)))

    @staticmethod
    def table(d2l, pos_encoding, X):
        """``P`` as the book's cell reads it after one call."""
        Torch.run(d2l, pos_encoding, X)
        return to_numpy(pos_encoding.P)

    @staticmethod
    def with_weights(d2l, layer, inputs, weights):
        import torch
        from torch import nn

        tensors = [torch.as_tensor(np.asarray(a)) for a in inputs]
        layer.eval()
        with torch.no_grad():
            layer(*tensors)  # the lazy layers take their shapes
            for path, module in layer.named_modules():
                if isinstance(module, nn.Linear):
                    W, b = _given(weights, path)
                    module.weight.copy_(torch.from_numpy(W.T))
                    assert (b is None) == (module.bias is None), f"{path}: a bias given for none or none for one"
                    if b is not None:
                        module.bias.copy_(torch.from_numpy(b))
                elif isinstance(module, nn.LayerNorm):
                    gamma, beta = _given(weights, path)
                    module.weight.copy_(torch.from_numpy(gamma))
                    module.bias.copy_(torch.from_numpy(beta))
            return to_numpy(layer(*tensors))


class MXNet(Torch):
    backend = "mxnet"
    layer_norm_eps = 1e-5  # Gluon's LayerNorm default

    @staticmethod
    def add_norm(d2l, num_hiddens, dropout):
        return d2l.AddNorm(dropout)

    @staticmethod
    def run(d2l, layer, *inputs, training=False):
        from mxnet import autograd
        from mxnet import np as mnp

        MXNet.initialize(layer)
        with autograd.train_mode() if training else autograd.predict_mode():
            return to_numpy(layer(*(mnp.array(np.asarray(a)) for a in inputs)))

    @staticmethod
    def initialize(block):
        """``block.initialize()`` for the parameters not initialised yet (a second call would warn)."""
        for param in block.collect_params().values():
            try:
                param.list_ctx()
            except RuntimeError:  # neither initialised nor waiting for its shape
                param.initialize()

    @staticmethod
    def table(d2l, pos_encoding, X):
        MXNet.run(d2l, pos_encoding, X)
        return to_numpy(pos_encoding.P)

    @staticmethod
    def with_weights(d2l, layer, inputs, weights):
        from mxnet import autograd
        from mxnet import np as mnp
        from mxnet.gluon import nn

        arrays = [mnp.array(np.asarray(a)) for a in inputs]
        MXNet.initialize(layer)
        with autograd.predict_mode():
            layer(*arrays)  # the deferred parameters take their shapes

            def visit(block, path):
                if isinstance(block, nn.Dense):
                    W, b = _given(weights, path)
                    block.weight.set_data(mnp.array(W.T))
                    assert (b is None) == (block.bias is None), f"{path}: a bias given for none or none for one"
                    if b is not None:
                        block.bias.set_data(mnp.array(b))
                elif isinstance(block, nn.LayerNorm):
                    gamma, beta = _given(weights, path)
                    block.gamma.set_data(mnp.array(gamma))
                    block.beta.set_data(mnp.array(beta))
                for name, child in block._children.items():
                    visit(child, f"{path}.{name}" if path else name)

            visit(layer, "")
            return to_numpy(layer(*arrays))


class TensorFlow(Torch):
    backend = "tensorflow"
    layer_norm_eps = 1e-3  # Keras's LayerNormalization default

    @staticmethod
    def add_norm(d2l, num_hiddens, dropout):
        return d2l.AddNorm([2], dropout)  # the features' axis, as the book trains (its shape cell says [1, 2])

    @staticmethod
    def encoder_block(d2l, num_hiddens, ffn_num_hiddens, num_heads, dropout):
        sizes = (num_hiddens,) * 4
        return d2l.TransformerEncoderBlock(*sizes, [2], ffn_num_hiddens, num_heads, dropout)

    @staticmethod
    def encoder(d2l, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout):
        sizes = (num_hiddens,) * 4
        return d2l.TransformerEncoder(vocab_size, *sizes, [2], ffn_num_hiddens, num_heads, num_blks, dropout)

    @staticmethod
    def run(d2l, layer, *inputs, training=False):
        import tensorflow as tf

        tensors = [tf.constant(np.asarray(a)) for a in inputs]
        if "training" in inspect.signature(layer.call).parameters:
            return to_numpy(layer(*tensors, training=training))
        return to_numpy(layer(*tensors))

    @staticmethod
    def table(d2l, pos_encoding, X):
        TensorFlow.run(d2l, pos_encoding, X)
        return np.asarray(pos_encoding.P)

    @staticmethod
    def with_weights(d2l, layer, inputs, weights):
        import tensorflow as tf

        TensorFlow.run(d2l, layer, *inputs)  # builds the layers

        def visit(item, path):
            if isinstance(item, tf.keras.layers.Dense):
                W, b = _given(weights, path)
                item.kernel.assign(W)
                assert (b is None) == (item.bias is None), f"{path}: a bias given for none or none for one"
                if b is not None:
                    item.bias.assign(b)
            elif isinstance(item, tf.keras.layers.LayerNormalization):
                gamma, beta = _given(weights, path)
                item.gamma.assign(gamma)
                item.beta.assign(beta)
            elif isinstance(item, tf.keras.layers.Layer):
                for name, child in vars(item).items():
                    if isinstance(child, (tf.keras.layers.Layer, list)) and not name.startswith("_"):
                        visit(child, f"{path}.{name}" if path else name)
            elif isinstance(item, list):
                for i, child in enumerate(item):
                    visit(child, f"{path}.{i}")

        visit(layer, "")
        return TensorFlow.run(d2l, layer, *inputs)


class JAX:
    backend = "jax"
    layer_norm_eps = 1e-6  # Flax's LayerNorm default
    # Flax names a layer made inside a compact method by its class (AddNorm's ``nn.LayerNorm()``)
    _FLAX_NAMES = {"ln": "LayerNorm_0"}

    @staticmethod
    def add_norm(d2l, num_hiddens, dropout):
        return d2l.AddNorm(dropout)

    encoder_block = Torch.encoder_block
    encoder = Torch.encoder

    @staticmethod
    def encode(d2l, encoder, X, valid_lens):
        """The encoder's outputs and the weights it sows into ``'intermediates'``, as ``predict_step`` reads them."""
        import jax

        X, valid_lens = np.asarray(X), np.asarray(valid_lens)
        variables = jax.jit(encoder.init)(jax.random.key(0), X, valid_lens)
        apply = jax.jit(lambda v, X, lens: encoder.apply(v, X, lens, mutable="intermediates"))
        outputs, inter_vars = apply({"params": variables["params"]}, X, valid_lens)
        weights = inter_vars["intermediates"]["enc_attention_weights"][0]
        return to_numpy(outputs), [to_numpy(w) for w in weights]

    @staticmethod
    def _keywords(layer, training):
        return {"training": training} if "training" in inspect.signature(layer.__call__).parameters else {}

    @staticmethod
    def _apply(d2l, layer, variables, inputs, training):
        import jax

        keywords = JAX._keywords(layer, training)
        apply = jax.jit(lambda v, *a: layer.apply(v, *a, rngs={"dropout": jax.random.key(1)}, **keywords))
        outputs = apply(variables, *inputs)
        if isinstance(outputs, tuple):  # the book's JAX blocks return (output, attention_weights)
            outputs = outputs[0]
        return to_numpy(outputs)

    @staticmethod
    def run(d2l, layer, *inputs, training=False):
        import jax

        inputs = [np.asarray(a) for a in inputs]
        keywords = JAX._keywords(layer, False)
        variables = jax.jit(lambda key, *a: layer.init(key, *a, **keywords))(jax.random.key(0), *inputs)  # one program
        return JAX._apply(d2l, layer, {"params": variables.get("params", {})}, inputs, training)

    @staticmethod
    def table(d2l, pos_encoding, X):
        """``P`` as the book's cell reads it: sown into ``'intermediates'``."""
        import jax

        variables = jax.jit(pos_encoding.init)(jax.random.key(0), X)
        _, inter_vars = jax.jit(lambda v, X: pos_encoding.apply(v, X, mutable="intermediates"))(variables, X)
        return np.asarray(inter_vars["intermediates"]["P"][0])

    @staticmethod
    def with_weights(d2l, layer, inputs, weights):
        import jax
        from flax import traverse_util

        inputs = [np.asarray(a) for a in inputs]
        params = jax.eval_shape(layer.init, jax.random.key(0), *inputs)["params"]
        flat = traverse_util.flatten_dict(params)
        chosen = {}
        for path in {key[:-1] for key in flat}:
            name = ".".join(JAX._canonical(part) for part in path)
            if (*path, "kernel") in flat:
                W, b = _given(weights, name)
                chosen[(*path, "kernel")] = W
                if b is not None:
                    chosen[(*path, "bias")] = b
            else:
                gamma, beta = _given(weights, name)
                chosen[(*path, "scale")], chosen[(*path, "bias")] = gamma, beta
        missing = sorted(set(flat) - set(chosen))
        assert not missing, f"no weights given for {missing}"
        for key, value in chosen.items():
            assert flat[key].shape == value.shape, (key, flat[key].shape, value.shape)
        return JAX._apply(d2l, layer, {"params": traverse_util.unflatten_dict(chosen)}, inputs, False)

    @staticmethod
    def _canonical(part: str) -> str:
        reverse = {flax: ours for ours, flax in JAX._FLAX_NAMES.items()}
        return reverse.get(part, part)


BOOKS = per_backend(Torch, MXNet, JAX, TensorFlow)


def book(d2l):
    """The cells of ``d2l``'s framework (the imported ``d2lx.<name>`` module)."""
    return BOOKS[backend_name(d2l)]
