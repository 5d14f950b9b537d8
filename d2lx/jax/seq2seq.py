"""Sequence to sequence on JAX: the padding mask (the 2.0 edition's section 9.7, which has no JAX version:
``sequence_mask``, ``MaskedSoftmaxCELoss``) and the 1.0 edition's encoder-decoder (sections 10.6-10.7:
``Encoder``, ``Decoder``, ``EncoderDecoder``, ``init_seq2seq``, ``Seq2SeqEncoder``, ``Seq2Seq``).

The arithmetic and the loops are the core's (``d2lx.seq2seq``); this file gives them ``jax.numpy``. The
masks run under ``jax.jit``, where ``valid_len``'s values are not known and only its shape is checked. As
in the book's JAX code, the parameters live outside the models: ``predict_step`` takes them.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import optax
from flax import linen as nn
from flax import traverse_util
from jax import numpy as jnp

from d2lx import seq2seq
from d2lx.jax import ops, rnn
from d2lx.jax.module import Classifier, Module


def _concrete(lengths):
    try:
        return np.asarray(lengths)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        # traced (under jax.jit): only the shape is known
        return None


_OPS = seq2seq.MaskOps(
    lengths=lambda valid_len, X: jnp.asarray(valid_len),
    concrete=_concrete,
    arange=lambda steps, lengths: jnp.arange(steps, dtype=lengths.dtype),
    reshape=jnp.reshape,
    where=lambda keep, X, value: jnp.where(keep, X, jnp.asarray(value, dtype=X.dtype)),
    ones_like=jnp.ones_like,
    mean=lambda X, axis: X.mean(axis=axis),
)


def sequence_mask(X, valid_len, value=0):
    """``X`` (n, T, ...) with ``value`` at every step past each row's ``valid_len`` (a new array)."""
    return seq2seq.sequence_mask(_OPS, X, valid_len, value)


class MaskedSoftmaxCELoss:
    """The softmax cross-entropy with padding masked: ``MaskedSoftmaxCELoss()(pred, label, valid_len)``, as
    the PyTorch book calls it (a plain callable: JAX losses are functions); ``pred`` (n, T, vocab) logits,
    ``label`` (n, T); one loss per sequence, the mean over time of the tokens' losses, those past
    ``valid_len`` counted as 0."""

    def __call__(self, pred, label, valid_len):
        per_token = optax.softmax_cross_entropy_with_integer_labels(pred, label)
        return seq2seq.masked_mean(_OPS, per_token, valid_len)


# --- the 1.0 edition's sections 10.6-10.7 --------------------------------------------------------------
class Encoder(nn.Module):
    """The base encoder of the encoder-decoder architecture: ``__call__(X, *args)`` gives what the decoder's
    ``init_state`` reads (``args``: e.g. the valid lengths of ``X``). (The book's base class also has a
    ``setup`` that raises, which would stop a subclass written with ``nn.compact``.)"""

    def __call__(self, X, *args):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(self, X, *args)")


class Decoder(nn.Module):
    """The base decoder: ``init_state(enc_all_outputs, *args)`` turns the encoder's outputs into the decoder's
    state, ``__call__(X, state)`` returns ``(outputs, new state)``."""

    def init_state(self, enc_all_outputs, *args):
        raise NotImplementedError(f"{type(self).__name__} must define init_state(self, enc_all_outputs, *args)")

    def __call__(self, X, state):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(self, X, state)")


class EncoderDecoder(Classifier):
    """An encoder and a decoder trained as one classifier of the next target token: ``model(enc_X, dec_X,
    *args)`` returns the decoder's scores only (teacher forcing); ``predict_step`` decodes greedily.
    ``training`` (dropout on or off) is the book's field; the trainer sets it."""

    encoder: nn.Module
    decoder: nn.Module
    training: bool

    def forward(self, enc_X, dec_X, *args):
        enc_all_outputs = self.encoder(enc_X, *args, training=self.training)
        dec_state = self.decoder.init_state(enc_all_outputs, *args)
        return self.decoder(dec_X, dec_state, training=self.training)[0]

    @nn.nowrap
    def predict_step(self, params, batch, num_steps, save_attention_weights=False):
        """``(predictions, (attention_weights, enc_attention_weights))`` with the parameters ``params``
        (``trainer.state.params``): ``num_steps`` tokens per source sentence of ``batch`` (``(src, tgt,
        src_valid_len, label)``, as ``data.build`` gives), each the most likely after the ones before,
        starting from ``tgt[:, 0]`` (``'<bos>'``). The attention weights, if asked, are the ones the
        encoder and decoder sow into ``'intermediates'`` (chapter 11's models)."""
        src, tgt, src_valid_len, _ = seq2seq.check_predict_arguments(batch, num_steps)
        src, tgt, src_valid_len = (jnp.asarray(a) for a in (src, tgt, src_valid_len))
        encoder, decoder = self.encoder, self.decoder
        encode, decode = _compiled(_encode, encoder), _compiled(_decode, decoder)
        enc_all_outputs, inter_enc_vars = encode(params["encoder"], src, src_valid_len)
        enc_attention_weights = []
        if save_attention_weights and inter_enc_vars:
            enc_attention_weights = inter_enc_vars["intermediates"]["enc_attention_weights"][0]

        attention_weights = []

        def step(tokens, state):
            (Y, state), inter_dec_vars = decode(params["decoder"], tokens, state)
            if save_attention_weights:
                weights = inter_dec_vars.get("intermediates", {}).get("dec_attention_weights")
                if weights is None:
                    raise seq2seq.missing_attention_weights(decoder)
                attention_weights.append(weights[0])
            return Y, state

        dec_state = self.decoder.init_state(enc_all_outputs, src_valid_len)
        preds = seq2seq.greedy_decode(ops, tgt[:, 0], dec_state, num_steps, step)
        return preds, (attention_weights, enc_attention_weights)


# The encoder and one decoding step, compiled once per model (the module is a static argument: equal
# modules share the program) and per shape, with the parameters as arguments: a closure over them would
# make a new program, with the weights baked in as constants, at every ``predict_step``. A decoder whose
# state grows step by step (the Transformer's keys) still compiles once per length, but only on its
# first translation: later calls, for the next sentences or epochs, find those programs ready.
def _encode(encoder, params, src, valid_len):
    return encoder.apply({"params": params}, src, valid_len, training=False, mutable="intermediates")


def _decode(decoder, params, tokens, state):
    return decoder.apply({"params": params}, tokens, state, training=False, mutable="intermediates")


_COMPILED = {function: jax.jit(function, static_argnums=0) for function in (_encode, _decode)}


def _compiled(function, module):
    """``function`` with ``module`` fixed, compiled: shared by equal modules where the module can be hashed
    (a static argument), else compiled for this call alone (a field that is a list, say)."""
    try:
        hash(module)
    except TypeError:
        return jax.jit(functools.partial(function, module))
    return functools.partial(_COMPILED[function], module)


def init_seq2seq(params, key=None):
    """``params`` (a model's parameter tree, or its variables ``{'params': ...}``) with every weight matrix
    of a dense layer or a recurrent cell (each ``kernel``) redrawn Xavier-uniform, embeddings and biases as
    they were: the PyTorch book's ``init_seq2seq``, in JAX's functional form (a new tree is returned).
    ``key`` draws them (default ``d2l.get_key()``)."""
    if isinstance(params, dict) and "params" in params:
        return {**params, "params": init_seq2seq(params["params"], key)}
    flat = traverse_util.flatten_dict(dict(params))
    kernels = [path for path in flat if path[-1] == "kernel"]
    key = ops.get_key() if key is None else key
    xavier = nn.initializers.xavier_uniform()
    for path, subkey in zip(kernels, jax.random.split(key, max(len(kernels), 1))):
        flat[path] = xavier(subkey, flat[path].shape, flat[path].dtype)
    return traverse_util.unflatten_dict(flat)


class Seq2SeqEncoder(Encoder):
    """The RNN encoder: token embeddings into a ``num_layers``-layer GRU. ``__call__(X, training=False)`` takes
    (batch_size, num_steps) token indices and returns ``(outputs, state)``: every step's top-layer hidden
    state (num_steps, batch_size, num_hiddens) and every layer's last one (num_layers, batch_size,
    num_hiddens)."""

    vocab_size: int
    embed_size: int
    num_hiddens: int
    num_layers: int
    dropout: float = 0

    def __post_init__(self):
        seq2seq.check_rnn_sizes(self, self.vocab_size, self.embed_size, self.num_hiddens, self.num_layers, self.dropout)
        super().__post_init__()

    def setup(self):
        self.embedding = nn.Embed(self.vocab_size, self.embed_size)
        sizes = self.embed_size, self.num_hiddens, self.num_layers, self.dropout
        self.rnn = rnn.GRU(**seq2seq.gru_arguments(rnn.GRU, *sizes))

    def __call__(self, X, *args, training=False):
        embs = self.embedding(seq2seq.checked_tokens(self, X).T.astype(jnp.int32))
        return self.rnn(embs, training=training)


class Seq2Seq(EncoderDecoder):
    """The RNN encoder-decoder for sequence-to-sequence learning, trained with Adam at ``lr``. Its loss
    leaves out the padding (``tgt_pad``), which the book's library class stores and never uses."""

    encoder: nn.Module
    decoder: nn.Module
    tgt_pad: int
    lr: float

    validation_step = Module.validation_step  # the loss only, as the book's (no accuracy)

    def loss(self, params, X, Y, state, averaged=False):
        """``(cross-entropy averaged over the labels that are not tgt_pad, mutated variables)``; ``averaged``
        is the book's argument and changes nothing: the padding is always left out of the mean."""
        l, updates = super().loss(params, X, Y, state, averaged=False)
        return seq2seq.padding_masked_loss(ops, l, Y, self.tgt_pad), updates

    def configure_optimizers(self):
        return optax.adam(learning_rate=self.lr)
