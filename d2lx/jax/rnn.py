"""The RNNs of the 1.0 edition for JAX: from scratch (section 9.5: ``RNNScratch``, ``RNNLMScratch``), with
Flax's cells (9.6: ``RNN``, ``RNNLM``; 10.1-10.3: ``LSTM``, ``GRU``, ``StackedRNNScratch``).

Flax rewrote its cells in 2023 (FLIP 3099): a cell takes ``features=``, ``initialize_carry(rng, input_shape)``
is a method of an instance, and ``nn.RNN(cell, time_major=True, return_carry=True)`` runs one over a
sequence. d2l's JAX ``RNN`` raises ``NotImplementedError``; here it runs Flax's ``SimpleCell``. d2l's JAX
multilayer GRU feeds every layer but the last the original inputs (right only at two layers); here each
layer reads the outputs of the one below.

As in the book's JAX code, the parameters live outside the models: ``RNNScratch`` is called with
``rnn.apply({'params': ...}, inputs, state)`` and ``predict`` takes the trained parameters
(``trainer.state.params``). What reads the same on every framework (the scratch
recurrence, the state's checks, ``predict``'s loop) is in ``d2lx.rnn``.
"""

from __future__ import annotations

from typing import ClassVar

import jax
from flax import linen as nn
from jax import numpy as jnp

from d2lx import rnn as core
from d2lx.jax import ops
from d2lx.jax.models import _Scratch, normal_init
from d2lx.jax.module import Classifier, Module


class RNNScratch(_Scratch, core.RNNScratchSteps, Module):
    """``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)``, weights ``N(0, sigma)``; a call returns every ``H_t``
    (``forward``: see ``d2lx.rnn.RNNScratchSteps``)."""

    num_inputs: int
    num_hiddens: int
    sigma: float = 0.01

    def setup(self):
        self.W_xh = self.param("W_xh", normal_init(self.sigma), (self.num_inputs, self.num_hiddens))
        self.W_hh = self.param("W_hh", normal_init(self.sigma), (self.num_hiddens, self.num_hiddens))
        self.b_h = self.param("b_h", nn.initializers.zeros, (self.num_hiddens,))


def _set_up_now(module: nn.Module) -> None:
    """Run ``module``'s ``setup`` now, not at its first call: Flax runs it on the first look-up of an attribute
    the module lacks. Any recurrent model (``RNNScratch``, the GRU and LSTM of chapter 10) has its own names."""
    getattr(module, "_d2lx_set_up_now", None)


class RNNLMScratch(Classifier):
    """A character-level language model on ``rnn``: one-hot inputs, a dense output layer, plotting perplexity."""

    rnn: nn.Module
    vocab_size: int
    lr: float = 0.01

    def setup(self):
        _set_up_now(self.rnn)  # the rnn's parameters first, so they are drawn in every backend's order
        self.W_hq = self.param("W_hq", normal_init(self.rnn.sigma), (self.rnn.num_hiddens, self.vocab_size))
        self.b_q = self.param("b_q", nn.initializers.zeros, (self.vocab_size,))

    @nn.nowrap
    def training_step(self, params, batch, state):
        """``((loss, mutated variables), grads)`` on ``batch``; plots the perplexity ``exp(loss)``."""
        (l, mutated), grads = self._run("value_and_grad", ("loss",), params, tuple(batch[:-1]), batch[-1], state)
        self.plot("ppl", jnp.exp(l), train=True)
        return (l, mutated), grads

    @nn.nowrap
    def validation_step(self, params, batch, state):
        l, _ = self._run("loss", ("loss",), params, tuple(batch[:-1]), batch[-1], state)
        self.plot("ppl", jnp.exp(l), train=False)

    def one_hot(self, X):
        """(batch_size, num_steps) token indices as (num_steps, batch_size, vocab_size) one-hot floats."""
        return jax.nn.one_hot(X.T, self.vocab_size)

    def output_layer(self, rnn_outputs):
        """The scores (batch_size, num_steps, vocab_size) for the list of hidden states, one per step."""
        return core.output_scores(ops, rnn_outputs, self.W_hq, self.b_q)

    def forward(self, X, state=None):
        rnn_outputs, _ = self.rnn(self.one_hot(X), state)
        return self.output_layer(rnn_outputs)

    @nn.nowrap
    def predict(self, prefix, num_preds, vocab, params):
        """``prefix`` followed by ``num_preds`` characters, each the most likely after the ones before, with
        the parameters ``params`` (``trainer.state.params``)."""

        # One compiled step for every character: run eagerly, a Flax ``nn.RNN`` traced and compiled its scan
        # anew at each one (about a second a character on a CPU; 25 s of a 26-character prediction).
        advance = jax.jit(self._predict_step)

        def step(index, state, scores):
            Y, state = advance(params, jnp.array([[index]]), state)
            return (Y if scores else None), state

        return core.predict_greedily(prefix, num_preds, vocab, step)

    @nn.nowrap
    def _predict_step(self, params, X, state):
        """The scores for one token ``X`` (1, 1) and the state after it."""
        rnn_outputs, state = self.rnn.apply({"params": params["rnn"]}, self.one_hot(X), state)
        return self.apply({"params": params}, rnn_outputs, method=self.output_layer), state


class RNN(Module):
    """A recurrent layer of Flax's cells (here ``nn.SimpleCell``, tanh): a call ``(inputs, H, training)`` returns
    ``(outputs, H)``, outputs (num_steps, batch_size, num_hiddens), H (num_layers, batch_size, num_hiddens),
    as on every backend. Subclasses pick another ``cell``. Its one field is the book's ``num_hiddens`` (the
    input size comes from the first batch), so a book cell may add fields without defaults after it."""

    num_hiddens: int
    cell: ClassVar[type] = nn.SimpleCell

    def setup(self):
        self.layers = [
            nn.RNN(self.cell(features=self.num_hiddens), time_major=True, return_carry=True)
            for _ in range(getattr(self, "num_layers", 1))
        ]
        self.between = nn.Dropout(getattr(self, "dropout", 0))

    def forward(self, inputs, H=None, training=False):
        core.layered_state(self, inputs, H, self._parts)
        outputs, finals = inputs, []
        for i, layer in enumerate(self.layers):
            if i:
                outputs = self.between(outputs, deterministic=not training)
            carry, outputs = layer(outputs, initial_carry=None if H is None else self._carry(H, i))
            finals.append(carry)
        return outputs, self._stacked_state(finals)

    _parts: ClassVar[tuple] = ()  # the state's parts: an LSTM's is the pair (H, C)

    def seen_num_inputs(self):
        """The input size of the first layer's parameters, None while they are being drawn."""
        cell = self.variables.get("params", {}).get("layers_0", {}).get("cell", {})
        kernels = [dense["kernel"] for name, dense in cell.items() if name.startswith("i") and "kernel" in dense]
        return int(kernels[0].shape[0]) if kernels else None

    @nn.nowrap
    def _carry(self, H, i):
        """Layer ``i``'s carry in Flax's cell, from the state (num_layers, batch_size, num_hiddens)."""
        return H[i]

    @nn.nowrap
    def _stacked_state(self, carries):
        return jnp.stack(carries)


class GRU(RNN):
    """The multilayer GRU (sections 10.2-10.3): ``num_layers`` GRUs, each reading the outputs of the one below,
    with dropout between them while ``training``."""

    num_layers: int = 1
    dropout: float = 0
    cell: ClassVar[type] = nn.GRUCell


class RNNLM(RNNLMScratch):
    """The language model on a concise ``rnn``: one dense output layer ``linear`` over every step's outputs.
    ``training`` (the book's field, which the trainer sets) turns on the rnn's dropout."""

    training: bool = True

    def setup(self):
        _set_up_now(self.rnn)  # the rnn's parameters first, as in ``RNNLMScratch``
        self.linear = nn.Dense(self.vocab_size)

    def output_layer(self, hiddens):
        """The scores (batch_size, num_steps, vocab_size) for the outputs (num_steps, batch_size, num_hiddens)."""
        return jnp.swapaxes(self.linear(hiddens), 0, 1)

    def forward(self, X, state=None):
        rnn_outputs, _ = self.rnn(self.one_hot(X), state, self.training)
        return self.output_layer(rnn_outputs)


class LSTM(RNN):
    """The LSTM (section 10.1), ``num_layers`` of them stacked as in ``GRU``; its state is the pair ``(H, C)``
    (Flax's ``OptimizedLSTMCell`` carries ``(C, H)``)."""

    num_layers: int = 1
    dropout: float = 0
    cell: ClassVar[type] = nn.OptimizedLSTMCell
    _parts: ClassVar[tuple] = ("H", "C")

    @nn.nowrap
    def _carry(self, H_C, i):
        return H_C[1][i], H_C[0][i]

    @nn.nowrap
    def _stacked_state(self, carries):
        return jnp.stack([h for _, h in carries]), jnp.stack([c for c, _ in carries])


class StackedRNNScratch(core.StackedForward, Module):
    """``num_layers`` ``RNNScratch`` (section 10.3), each on the outputs of the one below."""

    num_inputs: int
    num_hiddens: int
    num_layers: int
    sigma: float = 0.01
    _stack: ClassVar = staticmethod(jnp.stack)

    def setup(self):
        self.rnns = [
            RNNScratch(self.num_inputs if i == 0 else self.num_hiddens, self.num_hiddens, self.sigma)
            for i in range(self.num_layers)
        ]
        for layer in self.rnns:  # their weights now, layer by layer, as every backend draws them
            _set_up_now(layer)
