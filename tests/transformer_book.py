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
import math

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


# --- the book's own cells: the decoder of section 11.7, the vision Transformer of 11.8 -----------------------
# Typed from the book, per framework; the cells' ``AddNorm`` and ``PositionWiseFFN`` are the ones the section
# defined in its earlier cells, which d2l saves into its library: here ``d2l.AddNorm`` and ``d2l.PositionWiseFFN``.
# The book's section 11.8 has PyTorch and JAX cells only; MXNet's and TensorFlow's are written here after them.


class TorchCells:
    backend = "torch"

    @staticmethod
    def decoder_class(d2l):
        import torch
        from torch import nn

        AddNorm, PositionWiseFFN = d2l.AddNorm, d2l.PositionWiseFFN

        class TransformerDecoderBlock(nn.Module):
            # The i-th block in the Transformer decoder
            def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, i):
                super().__init__()
                self.i = i
                self.attention1 = d2l.MultiHeadAttention(num_hiddens, num_heads, dropout)
                self.addnorm1 = AddNorm(num_hiddens, dropout)
                self.attention2 = d2l.MultiHeadAttention(num_hiddens, num_heads, dropout)
                self.addnorm2 = AddNorm(num_hiddens, dropout)
                self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
                self.addnorm3 = AddNorm(num_hiddens, dropout)

            def forward(self, X, state):
                enc_outputs, enc_valid_lens = state[0], state[1]
                if state[2][self.i] is None:
                    key_values = X
                else:
                    key_values = torch.cat((state[2][self.i], X), dim=1)
                state[2][self.i] = key_values
                if self.training:
                    batch_size, num_steps, _ = X.shape
                    dec_valid_lens = torch.arange(1, num_steps + 1, device=X.device).repeat(batch_size, 1)
                else:
                    dec_valid_lens = None
                # Self-attention
                X2 = self.attention1(X, key_values, key_values, dec_valid_lens)
                Y = self.addnorm1(X, X2)
                # Encoder-decoder attention
                Y2 = self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens)
                Z = self.addnorm2(Y, Y2)
                return self.addnorm3(Z, self.ffn(Z)), state

        class TransformerDecoder(d2l.AttentionDecoder):
            def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout):
                super().__init__()
                self.num_hiddens = num_hiddens
                self.num_blks = num_blks
                self.embedding = nn.Embedding(vocab_size, num_hiddens)
                self.pos_encoding = d2l.PositionalEncoding(num_hiddens, dropout)
                self.blks = nn.Sequential()
                for i in range(num_blks):
                    self.blks.add_module(
                        "block" + str(i), TransformerDecoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout, i)
                    )
                self.dense = nn.LazyLinear(vocab_size)

            def init_state(self, enc_outputs, enc_valid_lens):
                return [enc_outputs, enc_valid_lens, [None] * self.num_blks]

            def forward(self, X, state):
                X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
                self._attention_weights = [[None] * len(self.blks) for _ in range(2)]
                for i, blk in enumerate(self.blks):
                    X, state = blk(X, state)
                    # Decoder self-attention weights
                    self._attention_weights[0][i] = blk.attention1.attention.attention_weights
                    # Encoder-decoder attention weights
                    self._attention_weights[1][i] = blk.attention2.attention.attention_weights
                return self.dense(X), state

            @property
            def attention_weights(self):
                return self._attention_weights

        return TransformerDecoderBlock, TransformerDecoder

    @staticmethod
    def transformer(d2l, data, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout, lr):
        """The book's training cell's encoder, decoder and ``Seq2Seq`` on ``data``."""
        _, TransformerDecoder = TorchCells.decoder_class(d2l)
        encoder = d2l.TransformerEncoder(
            len(data.src_vocab), num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout
        )
        decoder = TransformerDecoder(len(data.tgt_vocab), num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout)
        return d2l.Seq2Seq(encoder, decoder, tgt_pad=data.tgt_vocab["<pad>"], lr=lr)

    @staticmethod
    def attention_weights(d2l, model, trainer, batch, num_steps):
        """The book's cell: ``predict_step(..., True)`` gives the decoder's weights step by step, and the encoder
        then holds its blocks' weights. ``(preds, dec_attention_weights, enc_attention_weights)``."""
        preds, dec_attention_weights = model.predict_step(batch, d2l.try_gpu(), num_steps, True)
        return preds, dec_attention_weights, model.encoder.attention_weights

    @staticmethod
    def vit_classes(d2l):
        import torch
        from torch import nn

        class PatchEmbedding(nn.Module):
            def __init__(self, img_size=96, patch_size=16, num_hiddens=512):
                super().__init__()

                def _make_tuple(x):
                    if not isinstance(x, (list, tuple)):
                        return (x, x)
                    return x

                img_size, patch_size = _make_tuple(img_size), _make_tuple(patch_size)
                self.num_patches = (img_size[0] // patch_size[0]) * (img_size[1] // patch_size[1])
                self.conv = nn.LazyConv2d(num_hiddens, kernel_size=patch_size, stride=patch_size)

            def forward(self, X):
                # Output shape: (batch size, no. of patches, no. of channels)
                return self.conv(X).flatten(2).transpose(1, 2)

        class ViTMLP(nn.Module):
            def __init__(self, mlp_num_hiddens, mlp_num_outputs, dropout=0.5):
                super().__init__()
                self.dense1 = nn.LazyLinear(mlp_num_hiddens)
                self.gelu = nn.GELU()
                self.dropout1 = nn.Dropout(dropout)
                self.dense2 = nn.LazyLinear(mlp_num_outputs)
                self.dropout2 = nn.Dropout(dropout)

            def forward(self, x):
                return self.dropout2(self.dense2(self.dropout1(self.gelu(self.dense1(x)))))

        class ViTBlock(nn.Module):
            def __init__(self, num_hiddens, norm_shape, mlp_num_hiddens, num_heads, dropout, use_bias=False):
                super().__init__()
                self.ln1 = nn.LayerNorm(norm_shape)
                self.attention = d2l.MultiHeadAttention(num_hiddens, num_heads, dropout, use_bias)
                self.ln2 = nn.LayerNorm(norm_shape)
                self.mlp = ViTMLP(mlp_num_hiddens, num_hiddens, dropout)

            def forward(self, X, valid_lens=None):
                X = X + self.attention(*([self.ln1(X)] * 3), valid_lens)
                return X + self.mlp(self.ln2(X))

        class ViT(d2l.Classifier):
            """Vision Transformer."""

            def __init__(self, img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks,
                         emb_dropout, blk_dropout, lr=0.1, use_bias=False, num_classes=10):  # fmt: skip
                super().__init__()
                self.save_hyperparameters()
                self.patch_embedding = PatchEmbedding(img_size, patch_size, num_hiddens)
                self.cls_token = nn.Parameter(d2l.zeros(1, 1, num_hiddens))
                num_steps = self.patch_embedding.num_patches + 1  # Add the cls token
                # Positional embeddings are learnable
                self.pos_embedding = nn.Parameter(torch.randn(1, num_steps, num_hiddens))
                self.dropout = nn.Dropout(emb_dropout)
                self.blks = nn.Sequential()
                for i in range(num_blks):
                    self.blks.add_module(
                        f"{i}", ViTBlock(num_hiddens, num_hiddens, mlp_num_hiddens, num_heads, blk_dropout, use_bias)
                    )
                self.head = nn.Sequential(nn.LayerNorm(num_hiddens), nn.Linear(num_hiddens, num_classes))

            def forward(self, X):
                X = self.patch_embedding(X)
                X = d2l.concat((self.cls_token.expand(X.shape[0], -1, -1), X), 1)
                X = self.dropout(X + self.pos_embedding)
                for blk in self.blks:
                    X = blk(X)
                return self.head(X[:, 0])

        return PatchEmbedding, ViTMLP, ViTBlock, ViT

    @staticmethod
    def vit(d2l, img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks, emb_dropout, blk_dropout,
            lr):  # fmt: skip
        ViT = TorchCells.vit_classes(d2l)[-1]
        return ViT(img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks, emb_dropout, blk_dropout,
                   lr)  # fmt: skip

    @staticmethod
    def patches(d2l, patch_emb, X):
        """The book's shape cell: ``patch_emb(X)`` for images ``X`` (batch, channels, height, width)."""
        return to_numpy(patch_emb(d2l.tensor(X)))

    @staticmethod
    def trainer(d2l, **kwargs):
        return d2l.Trainer(num_gpus=1, **kwargs)


class MXNetCells(TorchCells):
    backend = "mxnet"

    @staticmethod
    def decoder_class(d2l):
        from mxnet import autograd, np
        from mxnet.gluon import nn

        AddNorm, PositionWiseFFN = d2l.AddNorm, d2l.PositionWiseFFN

        class TransformerDecoderBlock(nn.Block):
            # The i-th block in the Transformer decoder
            def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, i):
                super().__init__()
                self.i = i
                self.attention1 = d2l.MultiHeadAttention(num_hiddens, num_heads, dropout)
                self.addnorm1 = AddNorm(dropout)
                self.attention2 = d2l.MultiHeadAttention(num_hiddens, num_heads, dropout)
                self.addnorm2 = AddNorm(dropout)
                self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
                self.addnorm3 = AddNorm(dropout)

            def forward(self, X, state):
                enc_outputs, enc_valid_lens = state[0], state[1]
                if state[2][self.i] is None:
                    key_values = X
                else:
                    key_values = np.concatenate((state[2][self.i], X), axis=1)
                state[2][self.i] = key_values

                if autograd.is_training():
                    batch_size, num_steps, _ = X.shape
                    dec_valid_lens = np.tile(np.arange(1, num_steps + 1, ctx=X.ctx), (batch_size, 1))
                else:
                    dec_valid_lens = None
                # Self-attention
                X2 = self.attention1(X, key_values, key_values, dec_valid_lens)
                Y = self.addnorm1(X, X2)
                # Encoder-decoder attention
                Y2 = self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens)
                Z = self.addnorm2(Y, Y2)
                return self.addnorm3(Z, self.ffn(Z)), state

        class TransformerDecoder(d2l.AttentionDecoder):
            def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout):
                super().__init__()
                self.num_hiddens = num_hiddens
                self.num_blks = num_blks
                self.embedding = nn.Embedding(vocab_size, num_hiddens)
                self.pos_encoding = d2l.PositionalEncoding(num_hiddens, dropout)
                self.blks = nn.Sequential()
                for i in range(num_blks):
                    self.blks.add(TransformerDecoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout, i))
                self.dense = nn.Dense(vocab_size, flatten=False)
                self.initialize()

            def init_state(self, enc_outputs, enc_valid_lens):
                return [enc_outputs, enc_valid_lens, [None] * self.num_blks]

            def forward(self, X, state):
                X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
                self._attention_weights = [[None] * len(self.blks) for _ in range(2)]
                for i, blk in enumerate(self.blks):
                    X, state = blk(X, state)
                    # Decoder self-attention weights
                    self._attention_weights[0][i] = blk.attention1.attention.attention_weights
                    # Encoder-decoder attention weights
                    self._attention_weights[1][i] = blk.attention2.attention.attention_weights
                return self.dense(X), state

            @property
            def attention_weights(self):
                return self._attention_weights

        return TransformerDecoderBlock, TransformerDecoder

    @staticmethod
    def transformer(d2l, data, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout, lr):
        _, TransformerDecoder = MXNetCells.decoder_class(d2l)
        encoder = d2l.TransformerEncoder(
            len(data.src_vocab), num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout
        )
        decoder = TransformerDecoder(len(data.tgt_vocab), num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout)
        return d2l.Seq2Seq(encoder, decoder, tgt_pad=data.tgt_vocab["<pad>"], lr=lr)

    @staticmethod
    def vit_classes(d2l):
        """Section 11.8 in MXNet, after the PyTorch cells (the book has none): Gluon's layers, images (batch,
        channels, height, width), the class token and the positional embeddings as Gluon parameters."""
        from mxnet import init, np
        from mxnet.gluon import nn

        class PatchEmbedding(nn.Block):
            def __init__(self, img_size=96, patch_size=16, num_hiddens=512):
                super().__init__()

                def _make_tuple(x):
                    if not isinstance(x, (list, tuple)):
                        return (x, x)
                    return x

                img_size, patch_size = _make_tuple(img_size), _make_tuple(patch_size)
                self.num_patches = (img_size[0] // patch_size[0]) * (img_size[1] // patch_size[1])
                self.conv = nn.Conv2D(num_hiddens, kernel_size=patch_size, strides=patch_size)

            def forward(self, X):
                # Output shape: (batch size, no. of patches, no. of channels)
                X = self.conv(X)
                return X.reshape(X.shape[0], X.shape[1], -1).transpose(0, 2, 1)

        class ViTMLP(nn.Block):
            def __init__(self, mlp_num_hiddens, mlp_num_outputs, dropout=0.5):
                super().__init__()
                self.dense1 = nn.Dense(mlp_num_hiddens, flatten=False)
                self.gelu = nn.GELU()
                self.dropout1 = nn.Dropout(dropout)
                self.dense2 = nn.Dense(mlp_num_outputs, flatten=False)
                self.dropout2 = nn.Dropout(dropout)

            def forward(self, x):
                return self.dropout2(self.dense2(self.dropout1(self.gelu(self.dense1(x)))))

        class ViTBlock(nn.Block):
            def __init__(self, num_hiddens, norm_shape, mlp_num_hiddens, num_heads, dropout, use_bias=False):
                super().__init__()
                self.ln1 = nn.LayerNorm()
                self.attention = d2l.MultiHeadAttention(num_hiddens, num_heads, dropout, use_bias)
                self.ln2 = nn.LayerNorm()
                self.mlp = ViTMLP(mlp_num_hiddens, num_hiddens, dropout)

            def forward(self, X, valid_lens=None):
                X = X + self.attention(*([self.ln1(X)] * 3), valid_lens)
                return X + self.mlp(self.ln2(X))

        class ViT(d2l.Classifier):
            """Vision Transformer."""

            def __init__(self, img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks,
                         emb_dropout, blk_dropout, lr=0.1, use_bias=False, num_classes=10):  # fmt: skip
                super().__init__()
                self.save_hyperparameters()
                self.patch_embedding = PatchEmbedding(img_size, patch_size, num_hiddens)
                self.cls_token = self.params.get("cls_token", shape=(1, 1, num_hiddens), init=init.Zero())
                num_steps = self.patch_embedding.num_patches + 1  # Add the cls token
                # Positional embeddings are learnable
                self.pos_embedding = self.params.get(
                    "pos_embedding", shape=(1, num_steps, num_hiddens), init=init.Normal(1)
                )
                self.dropout = nn.Dropout(emb_dropout)
                self.blks = nn.Sequential()
                for _ in range(num_blks):
                    self.blks.add(ViTBlock(num_hiddens, num_hiddens, mlp_num_hiddens, num_heads, blk_dropout, use_bias))
                self.head = nn.Sequential()
                self.head.add(nn.LayerNorm(), nn.Dense(num_classes))
                self.initialize(init.Xavier())

            def forward(self, X):
                X = self.patch_embedding(X)
                cls_tokens = np.tile(self.cls_token.data(X.ctx), (X.shape[0], 1, 1))
                X = np.concatenate((cls_tokens, X), 1)
                X = self.dropout(X + self.pos_embedding.data(X.ctx))
                for blk in self.blks:
                    X = blk(X)
                return self.head(X[:, 0])

        return PatchEmbedding, ViTMLP, ViTBlock, ViT

    @staticmethod
    def vit(d2l, img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks, emb_dropout, blk_dropout,
            lr):  # fmt: skip
        ViT = MXNetCells.vit_classes(d2l)[-1]
        return ViT(img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks, emb_dropout, blk_dropout,
                   lr)  # fmt: skip

    @staticmethod
    def patches(d2l, patch_emb, X):
        MXNet.initialize(patch_emb)
        return to_numpy(patch_emb(d2l.tensor(X)))


class TensorFlowCells(TorchCells):
    backend = "tensorflow"

    @staticmethod
    def decoder_class(d2l):
        import tensorflow as tf

        AddNorm, PositionWiseFFN = d2l.AddNorm, d2l.PositionWiseFFN

        class TransformerDecoderBlock(tf.keras.layers.Layer):
            # The i-th block in the Transformer decoder
            def __init__(self, key_size, query_size, value_size, num_hiddens, norm_shape, ffn_num_hiddens,
                         num_heads, dropout, i):  # fmt: skip
                super().__init__()
                self.i = i
                self.attention1 = d2l.MultiHeadAttention(
                    key_size, query_size, value_size, num_hiddens, num_heads, dropout
                )
                self.addnorm1 = AddNorm(norm_shape, dropout)
                self.attention2 = d2l.MultiHeadAttention(
                    key_size, query_size, value_size, num_hiddens, num_heads, dropout
                )
                self.addnorm2 = AddNorm(norm_shape, dropout)
                self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
                self.addnorm3 = AddNorm(norm_shape, dropout)

            def call(self, X, state, **kwargs):
                enc_outputs, enc_valid_lens = state[0], state[1]
                if state[2][self.i] is None:
                    key_values = X
                else:
                    key_values = tf.concat((state[2][self.i], X), axis=1)
                state[2][self.i] = key_values
                if kwargs["training"]:
                    batch_size, num_steps, _ = X.shape
                    dec_valid_lens = tf.repeat(
                        tf.reshape(tf.range(1, num_steps + 1), shape=(-1, num_steps)), repeats=batch_size, axis=0
                    )
                else:
                    dec_valid_lens = None
                # Self-attention
                X2 = self.attention1(X, key_values, key_values, dec_valid_lens, **kwargs)
                Y = self.addnorm1(X, X2, **kwargs)
                # Encoder-decoder attention
                Y2 = self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens, **kwargs)
                Z = self.addnorm2(Y, Y2, **kwargs)
                return self.addnorm3(Z, self.ffn(Z), **kwargs), state

        class TransformerDecoder(d2l.AttentionDecoder):
            def __init__(self, vocab_size, key_size, query_size, value_size, num_hiddens, norm_shape,
                         ffn_num_hiddens, num_heads, num_blks, dropout):  # fmt: skip
                super().__init__()
                self.num_hiddens = num_hiddens
                self.num_blks = num_blks
                self.embedding = tf.keras.layers.Embedding(vocab_size, num_hiddens)
                self.pos_encoding = d2l.PositionalEncoding(num_hiddens, dropout)
                self.blks = [
                    TransformerDecoderBlock(key_size, query_size, value_size, num_hiddens, norm_shape,
                                            ffn_num_hiddens, num_heads, dropout, i)
                    for i in range(num_blks)
                ]  # fmt: skip
                self.dense = tf.keras.layers.Dense(vocab_size)

            def init_state(self, enc_outputs, enc_valid_lens):
                return [enc_outputs, enc_valid_lens, [None] * self.num_blks]

            def call(self, X, state, **kwargs):
                X = self.pos_encoding(
                    self.embedding(X) * tf.math.sqrt(tf.cast(self.num_hiddens, dtype=tf.float32)), **kwargs
                )
                # 2 attention layers in decoder
                self._attention_weights = [[None] * len(self.blks) for _ in range(2)]
                for i, blk in enumerate(self.blks):
                    X, state = blk(X, state, **kwargs)
                    # Decoder self-attention weights
                    self._attention_weights[0][i] = blk.attention1.attention.attention_weights
                    # Encoder-decoder attention weights
                    self._attention_weights[1][i] = blk.attention2.attention.attention_weights
                return self.dense(X), state

            @property
            def attention_weights(self):
                return self._attention_weights

        return TransformerDecoderBlock, TransformerDecoder

    @staticmethod
    def transformer(d2l, data, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout, lr):
        _, TransformerDecoder = TensorFlowCells.decoder_class(d2l)
        key_size, query_size, value_size = num_hiddens, num_hiddens, num_hiddens
        norm_shape = [2]
        with d2l.try_gpu():
            encoder = d2l.TransformerEncoder(
                len(data.src_vocab), key_size, query_size, value_size, num_hiddens,
                norm_shape, ffn_num_hiddens, num_heads, num_blks, dropout)  # fmt: skip
            decoder = TransformerDecoder(
                len(data.tgt_vocab), key_size, query_size, value_size, num_hiddens,
                norm_shape, ffn_num_hiddens, num_heads, num_blks, dropout)  # fmt: skip
            return d2l.Seq2Seq(encoder, decoder, tgt_pad=data.tgt_vocab["<pad>"], lr=lr)

    @staticmethod
    def vit_classes(d2l):
        """Section 11.8 in TensorFlow, after the PyTorch cells (the book has none): Keras's layers, images (batch,
        height, width, channels), the class token and the positional embeddings as Keras weights."""
        import tensorflow as tf

        class PatchEmbedding(tf.keras.layers.Layer):
            def __init__(self, img_size=96, patch_size=16, num_hiddens=512):
                super().__init__()

                def _make_tuple(x):
                    if not isinstance(x, (list, tuple)):
                        return (x, x)
                    return x

                img_size, patch_size = _make_tuple(img_size), _make_tuple(patch_size)
                self.num_patches = (img_size[0] // patch_size[0]) * (img_size[1] // patch_size[1])
                self.conv = tf.keras.layers.Conv2D(num_hiddens, kernel_size=patch_size, strides=patch_size)

            def call(self, X):
                # Output shape: (batch size, no. of patches, no. of channels)
                X = self.conv(X)
                return tf.reshape(X, (-1, X.shape[1] * X.shape[2], X.shape[3]))

        class ViTMLP(tf.keras.layers.Layer):
            def __init__(self, mlp_num_hiddens, mlp_num_outputs, dropout=0.5):
                super().__init__()
                self.dense1 = tf.keras.layers.Dense(mlp_num_hiddens)
                self.gelu = tf.keras.layers.Activation("gelu")
                self.dropout1 = tf.keras.layers.Dropout(dropout)
                self.dense2 = tf.keras.layers.Dense(mlp_num_outputs)
                self.dropout2 = tf.keras.layers.Dropout(dropout)

            def call(self, x, training=None):
                x = self.dropout1(self.gelu(self.dense1(x)), training=training)
                return self.dropout2(self.dense2(x), training=training)

        class ViTBlock(tf.keras.layers.Layer):
            def __init__(self, num_hiddens, norm_shape, mlp_num_hiddens, num_heads, dropout, use_bias=False):
                super().__init__()
                self.ln1 = tf.keras.layers.LayerNormalization(norm_shape)
                self.attention = d2l.MultiHeadAttention(
                    num_hiddens, num_hiddens, num_hiddens, num_hiddens, num_heads, dropout, use_bias
                )
                self.ln2 = tf.keras.layers.LayerNormalization(norm_shape)
                self.mlp = ViTMLP(mlp_num_hiddens, num_hiddens, dropout)

            def call(self, X, valid_lens=None, training=None):
                X = X + self.attention(*([self.ln1(X)] * 3), valid_lens, training=training)
                return X + self.mlp(self.ln2(X), training=training)

        class ViT(d2l.Classifier):
            """Vision Transformer."""

            def __init__(self, img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks,
                         emb_dropout, blk_dropout, lr=0.1, use_bias=False, num_classes=10):  # fmt: skip
                super().__init__()
                self.save_hyperparameters()
                self.patch_embedding = PatchEmbedding(img_size, patch_size, num_hiddens)
                self.cls_token = self.add_weight(shape=(1, 1, num_hiddens), initializer="zeros", name="cls_token")
                num_steps = self.patch_embedding.num_patches + 1  # Add the cls token
                # Positional embeddings are learnable
                self.pos_embedding = self.add_weight(
                    shape=(1, num_steps, num_hiddens),
                    initializer=tf.keras.initializers.RandomNormal(stddev=1.0),
                    name="pos_embedding",
                )
                self.dropout = tf.keras.layers.Dropout(emb_dropout)
                self.blks = [
                    ViTBlock(num_hiddens, [2], mlp_num_hiddens, num_heads, blk_dropout, use_bias)
                    for _ in range(num_blks)
                ]
                self.head = tf.keras.Sequential(
                    [tf.keras.layers.LayerNormalization(), tf.keras.layers.Dense(num_classes)]
                )

            def call(self, X, training=None):
                X = self.patch_embedding(X)
                X = tf.concat((tf.tile(self.cls_token, (tf.shape(X)[0], 1, 1)), X), 1)
                X = self.dropout(X + self.pos_embedding, training=training)
                for blk in self.blks:
                    X = blk(X, training=training)
                return self.head(X[:, 0])

        return PatchEmbedding, ViTMLP, ViTBlock, ViT

    @staticmethod
    def vit(d2l, img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks, emb_dropout, blk_dropout,
            lr):  # fmt: skip
        ViT = TensorFlowCells.vit_classes(d2l)[-1]
        return ViT(img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks, emb_dropout, blk_dropout,
                   lr)  # fmt: skip

    @staticmethod
    def patches(d2l, patch_emb, X):
        return to_numpy(patch_emb(d2l.tensor(X.transpose(0, 2, 3, 1))))

    @staticmethod
    def trainer(d2l, **kwargs):
        return d2l.Trainer(**kwargs)


class JAXCells:
    backend = "jax"

    @staticmethod
    def decoder_class(d2l):
        from flax import linen as nn
        from jax import numpy as jnp

        AddNorm, PositionWiseFFN = d2l.AddNorm, d2l.PositionWiseFFN

        class TransformerDecoderBlock(nn.Module):
            # The i-th block in the Transformer decoder
            num_hiddens: int
            ffn_num_hiddens: int
            num_heads: int
            dropout: float
            i: int

            def setup(self):
                self.attention1 = d2l.MultiHeadAttention(self.num_hiddens, self.num_heads, self.dropout)
                self.addnorm1 = AddNorm(self.dropout)
                self.attention2 = d2l.MultiHeadAttention(self.num_hiddens, self.num_heads, self.dropout)
                self.addnorm2 = AddNorm(self.dropout)
                self.ffn = PositionWiseFFN(self.ffn_num_hiddens, self.num_hiddens)
                self.addnorm3 = AddNorm(self.dropout)

            def __call__(self, X, state, training=False):
                enc_outputs, enc_valid_lens = state[0], state[1]
                if state[2][self.i] is None:
                    key_values = X
                else:
                    key_values = jnp.concatenate((state[2][self.i], X), axis=1)
                state[2][self.i] = key_values
                if training:
                    batch_size, num_steps, _ = X.shape
                    dec_valid_lens = jnp.tile(jnp.arange(1, num_steps + 1), (batch_size, 1))
                else:
                    dec_valid_lens = None
                # Self-attention
                X2, attention_w1 = self.attention1(X, key_values, key_values, dec_valid_lens, training=training)
                Y = self.addnorm1(X, X2, training=training)
                # Encoder-decoder attention
                Y2, attention_w2 = self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens, training=training)
                Z = self.addnorm2(Y, Y2, training=training)
                return self.addnorm3(Z, self.ffn(Z), training=training), state, attention_w1, attention_w2

        class TransformerDecoder(nn.Module):
            vocab_size: int
            num_hiddens: int
            ffn_num_hiddens: int
            num_heads: int
            num_blks: int
            dropout: float

            def setup(self):
                self.embedding = nn.Embed(self.vocab_size, self.num_hiddens)
                self.pos_encoding = d2l.PositionalEncoding(self.num_hiddens, self.dropout)
                self.blks = [
                    TransformerDecoderBlock(self.num_hiddens, self.ffn_num_hiddens, self.num_heads, self.dropout, i)
                    for i in range(self.num_blks)
                ]
                self.dense = nn.Dense(self.vocab_size)

            def init_state(self, enc_outputs, enc_valid_lens):
                return [enc_outputs, enc_valid_lens, [None] * self.num_blks]

            def __call__(self, X, state, training=False):
                X = self.embedding(X) * jnp.sqrt(jnp.float32(self.num_hiddens))
                X = self.pos_encoding(X, training=training)
                attention_weights = [[None] * len(self.blks) for _ in range(2)]
                for i, blk in enumerate(self.blks):
                    X, state, attention_w1, attention_w2 = blk(X, state, training=training)
                    # Decoder self-attention weights
                    attention_weights[0][i] = attention_w1
                    # Encoder-decoder attention weights
                    attention_weights[1][i] = attention_w2
                # Flax sow API is used to capture intermediate variables
                self.sow("intermediates", "dec_attention_weights", attention_weights)
                return self.dense(X), state

        return TransformerDecoderBlock, TransformerDecoder

    @staticmethod
    def transformer(d2l, data, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout, lr):
        _, TransformerDecoder = JAXCells.decoder_class(d2l)
        encoder = d2l.TransformerEncoder(
            len(data.src_vocab), num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout
        )
        decoder = TransformerDecoder(len(data.tgt_vocab), num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout)
        return d2l.Seq2Seq(encoder, decoder, tgt_pad=data.tgt_vocab["<pad>"], lr=lr, training=True)

    @staticmethod
    def attention_weights(d2l, model, trainer, batch, num_steps):
        """The book's JAX cell: ``predict_step`` returns the encoder's weights beside the decoder's."""
        preds, (dec_attention_weights, enc_attention_weights) = model.predict_step(
            trainer.state.params, batch, num_steps, True
        )
        return preds, dec_attention_weights, enc_attention_weights

    @staticmethod
    def vit_classes(d2l, emb_dropout=0.1):
        """The book's cells; its ``ViT.__call__`` reads ``emb_dropout``, not ``self.emb_dropout``: the global of the
        notebook's training cell (``emb_dropout, blk_dropout, lr = 0.1, 0.1, 0.1``), here the argument."""
        from flax import linen as nn
        from jax import numpy as jnp

        class PatchEmbedding(nn.Module):
            img_size: int = 96
            patch_size: int = 16
            num_hiddens: int = 512

            def setup(self):
                def _make_tuple(x):
                    if not isinstance(x, (list, tuple)):
                        return (x, x)
                    return x

                img_size, patch_size = _make_tuple(self.img_size), _make_tuple(self.patch_size)
                self.num_patches = (img_size[0] // patch_size[0]) * (img_size[1] // patch_size[1])
                self.conv = nn.Conv(self.num_hiddens, kernel_size=patch_size, strides=patch_size, padding="SAME")

            def __call__(self, X):
                # Output shape: (batch size, no. of patches, no. of channels)
                X = self.conv(X)
                return X.reshape((X.shape[0], -1, X.shape[3]))

        class ViTMLP(nn.Module):
            mlp_num_hiddens: int
            mlp_num_outputs: int
            dropout: float = 0.5

            @nn.compact
            def __call__(self, x, training=False):
                x = nn.Dense(self.mlp_num_hiddens)(x)
                x = nn.gelu(x)
                x = nn.Dropout(self.dropout, deterministic=not training)(x)
                x = nn.Dense(self.mlp_num_outputs)(x)
                x = nn.Dropout(self.dropout, deterministic=not training)(x)
                return x

        class ViTBlock(nn.Module):
            num_hiddens: int
            mlp_num_hiddens: int
            num_heads: int
            dropout: float
            use_bias: bool = False

            def setup(self):
                self.attention = d2l.MultiHeadAttention(self.num_hiddens, self.num_heads, self.dropout, self.use_bias)
                self.mlp = ViTMLP(self.mlp_num_hiddens, self.num_hiddens, self.dropout)

            @nn.compact
            def __call__(self, X, valid_lens=None, training=False):
                X = X + self.attention(*([nn.LayerNorm()(X)] * 3), valid_lens, training=training)[0]
                return X + self.mlp(nn.LayerNorm()(X), training=training)

        class ViT(d2l.Classifier):
            """Vision Transformer."""

            img_size: int
            patch_size: int
            num_hiddens: int
            mlp_num_hiddens: int
            num_heads: int
            num_blks: int
            emb_dropout: float
            blk_dropout: float
            lr: float = 0.1
            use_bias: bool = False
            num_classes: int = 10
            training: bool = False

            def setup(self):
                self.patch_embedding = PatchEmbedding(self.img_size, self.patch_size, self.num_hiddens)
                self.cls_token = self.param("cls_token", nn.initializers.zeros, (1, 1, self.num_hiddens))
                num_steps = self.patch_embedding.num_patches + 1  # Add the cls token
                # Positional embeddings are learnable
                self.pos_embedding = self.param("pos_embed", nn.initializers.normal(), (1, num_steps, self.num_hiddens))
                self.blks = [
                    ViTBlock(self.num_hiddens, self.mlp_num_hiddens, self.num_heads, self.blk_dropout, self.use_bias)
                    for _ in range(self.num_blks)
                ]
                self.head = nn.Sequential([nn.LayerNorm(), nn.Dense(self.num_classes)])

            @nn.compact
            def __call__(self, X):
                X = self.patch_embedding(X)
                X = d2l.concat((jnp.tile(self.cls_token, (X.shape[0], 1, 1)), X), 1)
                X = nn.Dropout(emb_dropout, deterministic=not self.training)(X + self.pos_embedding)
                for blk in self.blks:
                    X = blk(X, training=self.training)
                return self.head(X[:, 0])

        return PatchEmbedding, ViTMLP, ViTBlock, ViT

    @staticmethod
    def vit(d2l, img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks, emb_dropout, blk_dropout,
            lr):  # fmt: skip
        ViT = JAXCells.vit_classes(d2l, emb_dropout)[-1]
        return ViT(img_size, patch_size, num_hiddens, mlp_num_hiddens, num_heads, num_blks, emb_dropout, blk_dropout,
                   lr)  # fmt: skip

    @staticmethod
    def patches(d2l, patch_emb, X):
        import jax

        output, _ = jax.jit(patch_emb.init_with_output)(jax.random.key(0), X.transpose(0, 2, 3, 1))
        return to_numpy(output)

    @staticmethod
    def trainer(d2l, **kwargs):
        return d2l.Trainer(num_gpus=1, **kwargs)


CELLS = per_backend(TorchCells, MXNetCells, JAXCells, TensorFlowCells)


def cells(d2l):
    """The book's cells of 11.7-11.8 for ``d2l``'s framework."""
    return CELLS[backend_name(d2l)]
