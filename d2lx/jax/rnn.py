"""The RNN from scratch for JAX (the 1.0 edition's section 9.5): ``RNNScratch`` and ``RNNLMScratch``.

As in the book's JAX code, the parameters live outside the models: ``RNNScratch`` is called with
``rnn.apply({'params': ...}, inputs, state)`` and ``predict`` takes the trained parameters
(``trainer.state.params``). What reads the same on every framework (the state's checks,
``predict``'s loop) is in ``d2lx.rnn``.
"""

from __future__ import annotations

import jax
from flax import linen as nn
from jax import numpy as jnp

from d2lx import rnn as core
from d2lx.jax.models import normal_init
from d2lx.jax.module import Classifier, Module


class RNNScratch(Module):
    """``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)``, weights ``N(0, sigma)``; a call returns every ``H_t``."""

    num_inputs: int
    num_hiddens: int
    sigma: float = 0.01

    def setup(self):
        self.W_xh = self.param("W_xh", normal_init(self.sigma), (self.num_inputs, self.num_hiddens))
        self.W_hh = self.param("W_hh", normal_init(self.sigma), (self.num_hiddens, self.num_hiddens))
        self.b_h = self.param("b_h", nn.initializers.zeros, (self.num_hiddens,))

    def forward(self, inputs, state=None):
        """``(outputs, state)`` for ``inputs`` of shape (num_steps, batch_size, num_inputs): a list of the
        hidden states (batch_size, num_hiddens), one per step, and the last; ``state`` starts it (zeros)."""
        state = core.hidden_state(self, inputs, state)
        if state is None:
            state = jnp.zeros((inputs.shape[1], self.num_hiddens), inputs.dtype)
        outputs = []
        for X in inputs:
            state = jnp.tanh(jnp.matmul(X, self.W_xh) + jnp.matmul(state, self.W_hh) + self.b_h)
            outputs.append(state)
        return outputs, state


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
        return jnp.stack([jnp.matmul(H, self.W_hq) + self.b_q for H in rnn_outputs], 1)

    def forward(self, X, state=None):
        rnn_outputs, _ = self.rnn(self.one_hot(X), state)
        return self.output_layer(rnn_outputs)

    @nn.nowrap
    def predict(self, prefix, num_preds, vocab, params):
        """``prefix`` followed by ``num_preds`` characters, each the most likely after the ones before, with
        the parameters ``params`` (``trainer.state.params``)."""

        def step(index, state, scores):
            embs = self.one_hot(jnp.array([[index]]))
            rnn_outputs, state = self.rnn.apply({"params": params["rnn"]}, embs, state)
            if not scores:
                return None, state
            return self.apply({"params": params}, rnn_outputs, method=self.output_layer), state

        return core.predict_greedily(prefix, num_preds, vocab, step)
