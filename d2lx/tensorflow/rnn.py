"""The RNNs of the 1.0 edition for TensorFlow: from scratch (section 9.5: ``RNNScratch``, ``RNNLMScratch``), with
Keras's layers (9.6: ``RNN``, ``RNNLM``; 10.1-10.3: ``LSTM``, ``GRU``, ``StackedRNNScratch``).

Keras 3 removed ``time_major`` (keras issue 20750), which the book's layers pass: its recurrent layers read
the first axis as the batch. The book's inputs are time first, so ``RNN.forward`` transposes them in and the
outputs back; without that, d2l's TensorFlow GRU runs its recurrence over the batch axis (the book's own
output: ``'it has t t t t t t t t t t'``). A book cell's own ``self.rnn = tf.keras.layers.GRU(...)`` goes
through the same ``forward``.

The parameters are bare ``tf.Variable``s, which d2lx's ``Module`` adds to ``trainable_variables``
(also the ``rnn``'s, inside the language model). What reads the same on every framework (the
scratch models' recurrence and output layer, the state's checks, ``predict``'s loop) is in ``d2lx.rnn``.
"""

from __future__ import annotations

import contextlib

import tensorflow as tf

from d2lx import rnn as core
from d2lx.tensorflow.models import _Scratch
from d2lx.tensorflow.module import Classifier, Module
from d2lx.tensorflow.own_errors import KeepsOwnErrors


class RNNScratch(_Scratch, core.RNNScratchSteps, Module):
    """``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)``, weights ``N(0, sigma)``; ``forward`` returns every ``H_t``."""

    _time_steps = staticmethod(tf.unstack)  # a tensor cannot be iterated over inside a graph (``tf.function``)


class RNNLMScratch(_Scratch, core.LanguageModelSteps, Classifier):
    """A character-level language model on ``rnn``: one-hot inputs, a dense output layer, plotting perplexity."""

    def one_hot(self, X):
        """(batch_size, num_steps) token indices as (num_steps, batch_size, vocab_size) one-hot floats."""
        return tf.one_hot(tf.transpose(X), self.vocab_size)

    def predict(self, prefix, num_preds, vocab, device=None):
        """``prefix`` followed by ``num_preds`` characters, each the most likely after the ones before.

        ``device`` (``d2l.gpu()``, ``d2l.cpu()`` or a name such as ``'/GPU:0'``) defaults to TensorFlow's choice."""
        if device is None:
            device = contextlib.nullcontext()
        elif isinstance(device, str):
            device = tf.device(device)
        with device:
            return self._predict_greedily(prefix, num_preds, vocab, lambda index: tf.constant([[index]]))


class RNN(Module):
    """A recurrent layer of Keras's (here ``SimpleRNN``, tanh); ``forward(inputs, H)`` returns ``(outputs, H)``,
    outputs (num_steps, batch_size, num_hiddens), H (num_layers, batch_size, num_hiddens), as on every backend
    (the book's returns a list per layer). Subclasses (the book's cells too) set ``self.rnn`` to another Keras
    recurrent layer made with ``return_sequences=True, return_state=True``."""

    def __init__(self, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = tf.keras.layers.SimpleRNN(num_hiddens, return_sequences=True, return_state=True)

    def seen_num_inputs(self):
        """The input size the layer learned from its first batch (its first kernel's rows), None before."""
        weights = self.rnn.weights if self.rnn.built else []
        return int(weights[0].shape[0]) if weights else None

    _parts: tuple[str, ...] = ()  # the state's parts: an LSTM's is the pair (H, C)

    def forward(self, inputs, H=None):
        core.layered_state(self, inputs, H, self._parts)
        parts = H if self._parts or H is None else (H,)
        # Keras wants each layer's states in turn (an LSTM's h then c), each (batch_size, num_hiddens)
        initial = None if H is None else [part[l] for l in range(parts[0].shape[0]) for part in parts]
        outputs, *state = self.rnn(tf.transpose(inputs, (1, 0, 2)), initial_state=initial)
        count = len(self._parts) or 1
        stacked = tuple(tf.stack(state[i::count]) for i in range(count))
        return tf.transpose(outputs, (1, 0, 2)), stacked if self._parts else stacked[0]


class _Stack(KeepsOwnErrors, tf.keras.layers.Layer):
    """Keras recurrent layers run one on the outputs of the other, with dropout between them (torch's and
    MXNet's multilayer semantics; the book's ``GRUCell(dropout=...)`` instead drops each layer's inputs, the
    embeddings too). Called as a Keras RNN is: ``[outputs, *states]``, each layer's states in turn."""

    def __init__(self, layers: list, dropout: float):
        super().__init__()
        self.stack = layers
        self.dropout = tf.keras.layers.Dropout(dropout)

    def call(self, inputs, initial_state=None, training=None):
        outputs, states = inputs, []
        per_layer = None if initial_state is None else len(initial_state) // len(self.stack)
        for i, layer in enumerate(self.stack):
            if i:
                outputs = self.dropout(outputs, training=training)
            initial = None if initial_state is None else initial_state[i * per_layer : (i + 1) * per_layer]
            outputs, *state = layer(outputs, initial_state=initial, training=training)
            states.extend(state)
        return [outputs, *states]


class GRU(RNN):
    """The multilayer GRU (sections 10.2-10.3): ``num_layers`` GRUs, each reading the outputs of the one below,
    with dropout between them while training."""

    def __init__(self, num_hiddens, num_layers=1, dropout=0):
        Module.__init__(self)
        self.save_hyperparameters()
        layers = [tf.keras.layers.GRU(num_hiddens, return_sequences=True, return_state=True) for _ in range(num_layers)]
        self.rnn = _Stack(layers, dropout)


class RNNLM(RNNLMScratch):
    """The language model on a concise ``rnn``: one dense output layer ``linear`` over every step's outputs."""

    def init_params(self):
        self.linear = tf.keras.layers.Dense(self.vocab_size)

    def output_layer(self, hiddens):
        """The scores (batch_size, num_steps, vocab_size) for the outputs (num_steps, batch_size, num_hiddens)."""
        return tf.transpose(self.linear(hiddens), (1, 0, 2))


class LSTM(RNN):
    """The LSTM (section 10.1), ``num_layers`` of them stacked as in ``GRU``; its state is the pair ``(H, C)``."""

    _parts = ("H", "C")

    def __init__(self, num_hiddens, num_layers=1, dropout=0):
        Module.__init__(self)
        self.save_hyperparameters()
        layers = [
            tf.keras.layers.LSTM(num_hiddens, return_sequences=True, return_state=True) for _ in range(num_layers)
        ]
        self.rnn = _Stack(layers, dropout)


class StackedRNNScratch(core.StackedForward, Module):
    """``num_layers`` ``RNNScratch`` (section 10.3), each on the outputs of the one below."""

    _stack = staticmethod(tf.stack)

    def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.rnns = [RNNScratch(num_inputs if i == 0 else num_hiddens, num_hiddens, sigma) for i in range(num_layers)]
