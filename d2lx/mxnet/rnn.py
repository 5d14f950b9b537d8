"""The RNNs of the 1.0 edition for MXNet: from scratch (section 9.5: ``RNNScratch``, ``RNNLMScratch``), with
Gluon's layers (9.6: ``RNN``, ``RNNLM``; 10.1-10.3: ``LSTM``, ``GRU``, ``StackedRNNScratch``).

The parameters are bare arrays with ``attach_grad()``, as the book's MXNet scratch models hold them
(``Module.parameters()`` collects them, also from the ``rnn`` inside the language model). What reads
the same on every framework (the scratch models' recurrence and output layer, the state's checks,
``predict``'s loop) is in ``d2lx.rnn``.
"""

from __future__ import annotations

from mxnet import np, npx
from mxnet.gluon import Block, nn, rnn

from d2lx import rnn as core
from d2lx.mxnet.models import _Scratch
from d2lx.mxnet.module import Classifier, Module


class RNNScratch(_Scratch, core.RNNScratchSteps, Module):
    """``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)``, weights ``N(0, sigma)``; ``forward`` returns every ``H_t``."""


class RNNLMScratch(_Scratch, core.LanguageModelSteps, Classifier):
    """A character-level language model on ``rnn``: one-hot inputs, a dense output layer, plotting perplexity."""

    def init_params(self):
        super().init_params()
        # the rnn's bare arrays too, as the book's MXNet init_params does: the LSTMScratch and GRUScratch
        # cells of sections 10.1-10.2 draw theirs without attach_grad()
        for param in self.get_scratch_params():
            if param.grad is None:
                param.attach_grad()

    def one_hot(self, X):
        """(batch_size, num_steps) token indices as (num_steps, batch_size, vocab_size) one-hot floats."""
        return npx.one_hot(X.T, self.vocab_size)

    def _device(self):
        """Where the parameters are: the scratch ``W_hq``'s context, else (a subclass with its own output layer,
        like the book's ``RNNLM`` cell, which has no ``W_hq``) that of the first Gluon parameter, drawn or not."""
        if hasattr(self, "W_hq"):
            return self.W_hq.ctx
        return next(iter(self.collect_params().values())).list_ctx()[0]

    def predict(self, prefix, num_preds, vocab, device=None):
        """``prefix`` followed by ``num_preds`` characters, each the most likely after the ones before.

        ``device`` (an MXNet context) defaults to the one the model's parameters are on."""
        device = self._device() if device is None else device
        return self._predict_greedily(prefix, num_preds, vocab, lambda index: np.array([[index]], ctx=device))


class RNN(Module):
    """A recurrent layer of Gluon's (here ``rnn.RNN``, tanh); ``forward(inputs, H)`` returns ``(outputs, H)``,
    outputs (num_steps, batch_size, num_hiddens), H (num_layers, batch_size, num_hiddens). Subclasses (the
    book's cells too) set ``self.rnn`` to another of Gluon's recurrent layers. As in the book, the layer
    learns its input size from its first batch and is initialised with the model (``RNNLM.init_params``, or
    the ``Trainer``), not here: a book cell's ``self.initialize(init.Xavier())`` finds it untouched."""

    def __init__(self, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        # Gluon's RNN is ReLU unless told (the book's ``rnn.RNN(num_hiddens)`` is): tanh, as on every backend
        self.rnn = rnn.RNN(num_hiddens, activation="tanh")

    def seen_num_inputs(self):
        """The input size the layer learned from its first batch, None before it saw one."""
        weights = [p for name, p in self.rnn.collect_params().items() if name.endswith("i2h_weight")]
        size = int(weights[0].shape[1]) if weights and weights[0].shape else 0
        return size if size > 0 else None  # unknown: 0, or -1 under ``npx.set_np()``

    def forward(self, inputs, H=None):
        core.layered_state(self, inputs, H)
        if H is None:
            (H,) = self.rnn.begin_state(inputs.shape[1], ctx=inputs.ctx)
        outputs, (H,) = self.rnn(inputs, [H])
        return outputs, H


class _Stack(Block):
    """Gluon's one-layer recurrent layers, one on the outputs of the other, with dropout between them, called as a
    multilayer Gluon layer is (``(outputs, states)``, each state (num_layers, batch_size, num_hiddens)). A
    multilayer ``rnn.GRU(..., dropout=0.5)`` would be simpler, but MXNet's CPU kernel ignores its dropout
    (MXNet 1.9.1: the same outputs in training mode as in prediction), a silent no-op."""

    def __init__(self, layers: list, dropout: float):
        super().__init__()
        self.stack = nn.Sequential()
        self.stack.add(*layers)
        self.dropout = nn.Dropout(dropout)

    def begin_state(self, batch_size, ctx=None):
        layers = [layer.begin_state(batch_size, ctx=ctx) for layer in self.stack]
        return [np.concatenate([states[i] for states in layers]) for i in range(len(layers[0]))]

    def forward(self, inputs, states):
        outputs, finals = inputs, []
        for l, layer in enumerate(self.stack):
            if l:
                outputs = self.dropout(outputs)
            outputs, final = layer(outputs, [state[l : l + 1] for state in states])
            finals.append(final)
        return outputs, [np.concatenate([final[i] for final in finals]) for i in range(len(states))]


def _stack(layer, num_hiddens, num_layers, dropout) -> _Stack:
    """``num_layers`` of Gluon's one-layer ``layer`` (``rnn.GRU``, ``rnn.LSTM``) in a ``_Stack``, the first
    learning its input size from its first batch."""
    return _Stack([layer(num_hiddens, input_size=0 if i == 0 else num_hiddens) for i in range(num_layers)], dropout)


class GRU(RNN):
    """The multilayer GRU (sections 10.2-10.3): ``num_layers`` GRUs, each reading the outputs of the one below,
    with dropout between them while training."""

    def __init__(self, num_hiddens, num_layers=1, dropout=0):
        Module.__init__(self)
        self.save_hyperparameters()
        self.rnn = _stack(rnn.GRU, num_hiddens, num_layers, dropout)


class RNNLM(RNNLMScratch):
    """The language model on a concise ``rnn``: one dense output layer ``linear`` over every step's outputs."""

    def init_params(self):
        self.linear = nn.Dense(self.vocab_size, flatten=False, in_units=self.rnn.num_hiddens)
        self.initialize()  # as the book: the rnn too (its constructor leaves that to the model)

    def output_layer(self, hiddens):
        """The scores (batch_size, num_steps, vocab_size) for the outputs (num_steps, batch_size, num_hiddens)."""
        return np.swapaxes(self.linear(hiddens), 0, 1)


class LSTM(RNN):
    """The LSTM (section 10.1), ``num_layers`` of them stacked as in ``GRU``; its state is the pair ``(H, C)``."""

    def __init__(self, num_hiddens, num_layers=1, dropout=0):
        Module.__init__(self)
        self.save_hyperparameters()
        self.rnn = _stack(rnn.LSTM, num_hiddens, num_layers, dropout)

    def forward(self, inputs, H_C=None):
        core.layered_state(self, inputs, H_C, ("H", "C"))
        if H_C is None:
            H_C = self.rnn.begin_state(inputs.shape[1], ctx=inputs.ctx)
        outputs, (H, C) = self.rnn(inputs, list(H_C))
        return outputs, (H, C)


class StackedRNNScratch(core.StackedForward, Module):
    """``num_layers`` ``RNNScratch`` (section 10.3), each on the outputs of the one below."""

    _stack = staticmethod(np.stack)

    def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.rnns = nn.Sequential()  # as in the book: Gluon registers the layers (a list would hide them)
        for i in range(num_layers):
            self.rnns.add(RNNScratch(num_inputs if i == 0 else num_hiddens, num_hiddens, sigma))

    def get_scratch_params(self) -> list:
        """The layers' arrays (``Module`` finds only those held directly, or by a sub-``Module`` attribute)."""
        return [p for layer in self.rnns for p in layer.get_scratch_params()]

    def set_scratch_params_device(self, device) -> None:
        for layer in self.rnns:
            layer.set_scratch_params_device(device)
