"""The 2.0 edition's functional API for PyTorch: ``train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)``
and ``train_ch6(net, train_iter, test_iter, num_epochs, lr, device)``.

The loops, the ``Animator`` and the data functions are the shared core's
(``d2lx.functional``); here is what PyTorch decides: a minibatch step with
``backward()``, where ``updater`` is a ``torch.optim.Optimizer`` (stepped on
the mean loss) or the book's custom ``updater(batch_size)`` (the summed loss's
gradients, divided by the batch size in ``sgd``), and ``eval()``/``no_grad()``
while evaluating; for ``train_ch6``, Xavier-uniform weights for ``nn.Linear`` and
``nn.Conv2d`` layers (``init_cnn``) and ``.to(device)`` for the net and each batch. For chapter 8
(``predict_ch8``, ``train_epoch_ch8``, ``train_ch8``, ``RNNModel``): the state cut from the graph between
minibatches (``detach``), clipping with ``grad_clipping(net, 1)`` before each update, and ``RNNModel``
around ``nn.RNN``/``nn.GRU``/``nn.LSTM``.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn import functional as F

from d2lx import checks
from d2lx import functional as core
from d2lx.seq2seq import attention_weights_of
from d2lx.sequence_data import make_sequence_functions
from d2lx.torch.cnn import init_cnn
from d2lx.torch.data import DataModule, FashionMNIST
from d2lx.torch.seq2seq import MaskedSoftmaxCELoss, init_seq2seq
from d2lx.torch.trainer import grad_clipping

squared_loss = core.squared_loss  # re-exported: the same on this framework's arrays

synthetic_data, data_iter, load_array, load_data_fashion_mnist = core.make_data_functions(DataModule, FashionMNIST)
(seq_data_iter_random, seq_data_iter_sequential, SeqDataLoader, load_data_time_machine, build_array_nmt,
 load_data_nmt) = make_sequence_functions(DataModule, load_array)  # fmt: skip


def sgd(params, lr, batch_size):
    """Minibatch SGD: ``param -= lr * param.grad / batch_size``, then zero the gradients."""
    with torch.no_grad():
        for param in params:
            if param.grad is None:
                raise RuntimeError(
                    f"sgd got a parameter of shape {tuple(param.shape)} without a gradient: create it with "
                    "requires_grad=True and call backward() on the loss first"
                )
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def _step(net, X, y, loss, updater):
    optimizer = isinstance(updater, torch.optim.Optimizer)
    if not optimizer and not callable(updater):
        raise core.updater_error(updater, "a torch.optim.Optimizer or a function updater(batch_size)")
    y_hat = net(X)
    l = loss(y_hat, y)
    if optimizer:
        updater.zero_grad()
        l.mean().backward()
        updater.step()
    else:
        l.sum().backward()
        updater(X.shape[0])
    return l, y_hat


@contextlib.contextmanager
def _evaluating(net):
    if isinstance(net, nn.Module):
        net.eval()
    with torch.no_grad():
        yield


@contextlib.contextmanager
def _training(net):
    if isinstance(net, nn.Module):
        net.train()
    yield


evaluate_accuracy, evaluate_loss, train_epoch_ch3, train_ch3, predict_ch3 = core.make_ch3(
    _step, evaluating=_evaluating, training=_training
)


def _start_ch6(net, lr, device):
    net.apply(init_cnn)  # the book's init_weights: Xavier-uniform weights of nn.Linear and nn.Conv2d layers
    print("training on", device)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    return lambda X, y: _step(net, X, y, loss, optimizer)


def _to_device(X, device):
    return [x.to(device) for x in X] if isinstance(X, list) else X.to(device)  # a list: BERT's inputs


def _device_of(net):
    if not isinstance(net, nn.Module):
        return None
    return next((p.device for p in net.parameters()), None)


evaluate_accuracy_gpu, train_ch6 = core.make_ch6(
    _start_ch6, _to_device, _device_of, evaluating=_evaluating, training=_training
)


# --- chapter 8: language models ---------------------------------------------------------
class RNNModel(nn.Module):
    """The 2.0 edition's language model around a framework recurrent layer (``nn.RNN``, ``nn.GRU``,
    ``nn.LSTM``): one-hot inputs, the layer, and a linear output layer on every step's hidden state.

    ``net(X, state)`` takes token indices ``X`` of shape (batch_size, num_steps) and returns the scores
    of shape (num_steps * batch_size, vocab_size), time step after time step, and the new state.
    """

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rnn_layer, nn.RNNBase):
            raise TypeError(f"rnn_layer must be nn.RNN, nn.GRU or nn.LSTM, got {type(rnn_layer).__name__}")
        self.rnn = rnn_layer
        self.vocab_size = checks.positive_int("vocab_size", vocab_size)
        self.num_hiddens = self.rnn.hidden_size
        self.num_directions = 2 if self.rnn.bidirectional else 1  # a bidirectional layer (section 9.4)
        self.linear = nn.Linear(self.num_hiddens * self.num_directions, self.vocab_size)

    def forward(self, inputs, state):
        X = F.one_hot(inputs.T.long(), self.vocab_size).to(torch.float32)
        Y, state = self.rnn(X, state)
        return self.linear(Y.reshape((-1, Y.shape[-1]))), state

    def begin_state(self, device, batch_size=1):
        """Zeros of shape (num_directions * num_layers, batch_size, num_hiddens); a pair of them for an LSTM."""
        shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
        if isinstance(self.rnn, nn.LSTM):
            return torch.zeros(shape, device=device), torch.zeros(shape, device=device)
        return torch.zeros(shape, device=device)


def predict_ch8(prefix, num_preds, net, vocab, device):
    """``prefix`` followed by ``num_preds`` characters, each the most likely after the ones before."""
    with torch.no_grad():
        return core.predict_from(
            prefix,
            num_preds,
            vocab,
            lambda: net.begin_state(batch_size=1, device=device),
            lambda index, state: net(torch.tensor([[index]], device=device), state),
        )


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
    """One epoch of training with gradients clipped to norm 1; returns the perplexity and tokens per second.

    ``updater`` is a ``torch.optim.Optimizer`` or the book's ``updater(batch_size)`` (given 1: the loss
    is already the mean)."""
    optimizer = isinstance(updater, torch.optim.Optimizer)
    if not optimizer and not callable(updater):
        raise core.updater_error(updater, "a torch.optim.Optimizer or a function updater(batch_size)")
    if isinstance(net, nn.Module):
        net.train()

    def step(X, Y, state):
        y = Y.T.reshape(-1).to(device)
        y_hat, state = net(X.to(device), core.detached(state))
        l = loss(y_hat, y.long()).mean()
        if optimizer:
            updater.zero_grad()
        l.backward()
        grad_clipping(net, 1)
        if optimizer:
            updater.step()
        else:
            updater(batch_size=1)  # the loss is a mean already
        return l.detach(), y.numel(), state

    return core.run_epoch_ch8(step, lambda n: net.begin_state(batch_size=n, device=device), train_iter, use_random_iter)


def _start_ch8(net, lr, device):
    """``train_ch8``'s loss and updater: ``torch.optim.SGD`` for an ``nn.Module``, the scratch ``sgd`` otherwise."""
    if isinstance(net, nn.Module):
        return nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr)
    return nn.CrossEntropyLoss(), lambda batch_size: sgd(net.params, lr, batch_size)


train_ch8 = core.make_train_ch8(_start_ch8, train_epoch_ch8, predict_ch8)


# --- chapter 9: sequence to sequence ----------------------------------------------------
def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, device):
    """Train the encoder-decoder ``net`` on ``device`` with Adam at ``lr`` on the masked cross-entropy, from
    Xavier-uniform weights (``init_seq2seq``), the decoder fed ``'<bos>'`` and the target minus its last
    token (teacher forcing), gradients clipped to norm 1; draws the loss per token and prints it with the
    speed. The environment's training budget applies. ``net(X, dec_X, X_valid_len)`` may return the
    scores (d2lx's ``d2l.EncoderDecoder``) or ``(scores, state)`` (the 2.0 edition's)."""
    num_epochs, lr = core.check_ch8(num_epochs, lr)
    bos, _ = core.check_seq2seq_vocab(tgt_vocab)
    net.apply(init_seq2seq)
    net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss = MaskedSoftmaxCELoss()
    net.train()

    def step(batch):
        optimizer.zero_grad()
        X, X_valid_len, Y, Y_valid_len = [x.to(device) for x in batch]
        dec_input = torch.cat([torch.full_like(Y[:, :1], bos), Y[:, :-1]], 1)  # teacher forcing
        l = loss(core.decoder_scores(net(X, dec_input, X_valid_len)), Y, Y_valid_len)
        l.sum().backward()
        grad_clipping(net, 1)
        optimizer.step()
        return l.detach().sum(), Y_valid_len.sum()

    return core.train_seq2seq_epochs(num_epochs, data_iter, step, str(device))


def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, device, save_attention_weights=False):
    """``(translation, attention weights)``: ``src_sentence`` translated greedily by the trained ``net``, at most
    ``num_steps`` tokens, stopping at ``'<eos>'``; the decoder's attention weights per step if asked."""
    tokens, valid_len = core.source_tokens(src_sentence, src_vocab, num_steps)
    net.eval()
    with torch.no_grad():
        enc_valid_len = torch.tensor([valid_len], device=device)
        enc_X = torch.tensor([tokens], dtype=torch.long, device=device)
        enc_outputs = net.encoder(enc_X, enc_valid_len)
        state = {"dec": net.decoder.init_state(enc_outputs, enc_valid_len)}

        def step(token):
            Y, state["dec"] = net.decoder(torch.tensor([[token]], dtype=torch.long, device=device), state["dec"])
            return Y.argmax(dim=2).item()

        attention = (lambda: attention_weights_of(net.decoder)) if save_attention_weights else None
        return core.greedy_translation(step, tgt_vocab, num_steps, attention)
