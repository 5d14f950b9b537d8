"""The RNNs of the 1.0 edition for PyTorch: from scratch (section 9.5: ``RNNScratch``, ``RNNLMScratch``), with
torch's layers (9.6: ``RNN``, ``RNNLM``; 10.1-10.3: ``LSTM``, ``GRU``, ``StackedRNNScratch``).

What reads the same on every framework (the scratch models' parameters, recurrence and output layer, the
state's checks, ``predict``'s loop, the numpy references) is in ``d2lx.rnn``; this file gives it PyTorch's
operations and parameters.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from d2lx import rnn as core
from d2lx.torch.models import _Scratch
from d2lx.torch.module import Classifier, Module


class RNNScratch(_Scratch, core.RNNScratchSteps, Module):
    """``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)``, weights ``N(0, sigma)``; ``forward`` returns every ``H_t``."""


class RNNLMScratch(_Scratch, core.LanguageModelSteps, Classifier):
    """A character-level language model on ``rnn``: one-hot inputs, a dense output layer, plotting perplexity."""

    def one_hot(self, X):
        """(batch_size, num_steps) token indices as (num_steps, batch_size, vocab_size) one-hot floats."""
        return F.one_hot(X.T.long(), self.vocab_size).type(torch.float32)

    def predict(self, prefix, num_preds, vocab, device=None):
        """``prefix`` followed by ``num_preds`` characters, each the most likely after the ones before.

        ``device`` defaults to the one the model's parameters are on."""
        device = next(self.parameters()).device if device is None else device
        with torch.no_grad():
            return self._predict_greedily(
                prefix, num_preds, vocab, lambda index: torch.tensor([[index]], device=device)
            )


class RNN(Module):
    """A recurrent layer of torch's (here ``nn.RNN``, tanh); ``forward(inputs, H)`` returns ``(outputs, H)``,
    outputs (num_steps, batch_size, num_hiddens), H (num_layers, batch_size, num_hiddens). Subclasses (the
    book's cells too) set ``self.rnn`` to another of torch's recurrent layers."""

    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = nn.RNN(num_inputs, num_hiddens)

    def forward(self, inputs, H=None):
        core.layered_state(self, inputs, H)
        return self.rnn(inputs, H)


class GRU(RNN):
    """The multilayer GRU (sections 10.2-10.3): ``num_layers`` GRUs, each reading the outputs of the one below,
    with dropout between them while training."""

    def __init__(self, num_inputs, num_hiddens, num_layers=1, dropout=0):
        Module.__init__(self)
        self.save_hyperparameters()
        # torch warns about dropout in a one-layer GRU, where it has nothing to act on
        self.rnn = nn.GRU(num_inputs, num_hiddens, num_layers, dropout=dropout if num_layers > 1 else 0)


class RNNLM(RNNLMScratch):
    """The language model on a concise ``rnn``: one dense output layer ``linear`` over every step's outputs."""

    def init_params(self):
        # not the book's LazyLinear: its size is known, and ``predict`` works before any training
        self.linear = nn.Linear(self.rnn.num_hiddens, self.vocab_size)

    def output_layer(self, hiddens):
        """The scores (batch_size, num_steps, vocab_size) for the outputs (num_steps, batch_size, num_hiddens)."""
        return torch.swapaxes(self.linear(hiddens), 0, 1)


class LSTM(RNN):
    """The LSTM (section 10.1), ``num_layers`` of them stacked as in ``GRU``; its state is the pair ``(H, C)``."""

    def __init__(self, num_inputs, num_hiddens, num_layers=1, dropout=0):
        Module.__init__(self)
        self.save_hyperparameters()
        self.rnn = nn.LSTM(num_inputs, num_hiddens, num_layers, dropout=dropout if num_layers > 1 else 0)

    def forward(self, inputs, H_C=None):
        core.layered_state(self, inputs, H_C, ("H", "C"))
        return self.rnn(inputs, H_C)


class StackedRNNScratch(core.StackedForward, Module):
    """``num_layers`` ``RNNScratch`` (section 10.3), each on the outputs of the one below."""

    _stack = staticmethod(torch.stack)

    def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.rnns = nn.Sequential(
            *[RNNScratch(num_inputs if i == 0 else num_hiddens, num_hiddens, sigma) for i in range(num_layers)]
        )
