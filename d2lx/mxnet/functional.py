"""The 2.0 edition's functional API for MXNet: ``train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)``
and ``train_ch6(net, train_iter, test_iter, num_epochs, lr, device)``.

The loops, the ``Animator`` and the data functions are the shared core's
(``d2lx.functional``); here is what MXNet decides: a minibatch step under
``autograd.record()``, where ``updater`` is a ``gluon.Trainer`` (its
``step(batch_size)``) or the book's custom ``updater(batch_size)``. Both get
the gradients of the summed loss and divide by the batch size. Outside
``record()`` MXNet predicts, so evaluation needs nothing more. ``train_ch6``
initialises the net with ``init.Xavier()`` on ``device`` (a context) and moves each
batch there with ``as_in_ctx``. For chapter 8 (``predict_ch8``, ``train_epoch_ch8``, ``train_ch8``,
``RNNModel``): the state cut from the graph between minibatches (MXNet's ``detach`` returns a new array,
so the book's ``for s in state: s.detach()`` cuts nothing; here the cut state is the one used), and
clipping with ``grad_clipping(net, 1)`` before each update.
"""

from __future__ import annotations

from mxnet import autograd, gluon, init, np, npx
from mxnet.gluon import nn

from d2lx import checks
from d2lx import functional as core
from d2lx.mxnet.data import DataModule, FashionMNIST
from d2lx.mxnet.seq2seq import MaskedSoftmaxCELoss
from d2lx.mxnet.trainer import grad_clipping
from d2lx.seq2seq import attention_weights_of
from d2lx.sequence_data import make_sequence_functions

squared_loss = core.squared_loss  # re-exported: the same on this framework's arrays

synthetic_data, data_iter, load_array, load_data_fashion_mnist = core.make_data_functions(DataModule, FashionMNIST)
(seq_data_iter_random, seq_data_iter_sequential, SeqDataLoader, load_data_time_machine, build_array_nmt,
 load_data_nmt) = make_sequence_functions(DataModule, load_array)  # fmt: skip


def sgd(params, lr, batch_size):
    """Minibatch SGD: ``param -= lr * param.grad / batch_size`` for arrays that called ``attach_grad()``."""
    for param in params:
        if param.grad is None:
            raise RuntimeError(
                f"sgd got a parameter of shape {param.shape} without a gradient: call attach_grad() on it "
                "when you create it"
            )
        param[:] = param - lr * param.grad / batch_size


def _step(net, X, y, loss, updater):
    if isinstance(updater, gluon.Trainer):
        updater = updater.step
    elif not callable(updater):
        raise core.updater_error(updater, "a gluon.Trainer or a function updater(batch_size)")
    with autograd.record():
        y_hat = net(X)
        l = loss(y_hat, y)
    l.backward()
    updater(X.shape[0])
    return l, y_hat


evaluate_accuracy, evaluate_loss, train_epoch_ch3, train_ch3, predict_ch3 = core.make_ch3(_step)


def _start_ch6(net, lr, device):
    net.initialize(force_reinit=True, ctx=device, init=init.Xavier())
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
    return lambda X, y: _step(net, X, y, loss, trainer)


def _to_device(X, device):
    return [x.as_in_ctx(device) for x in X] if isinstance(X, list) else X.as_in_ctx(device)


def _device_of(net):
    """The first context of the net's first parameter, as in the book (None for a net without parameters)."""
    collect = getattr(net, "collect_params", None)
    params = list(collect().values()) if collect is not None else []
    return params[0].list_ctx()[0] if params else None


evaluate_accuracy_gpu, train_ch6 = core.make_ch6(_start_ch6, _to_device, _device_of)


# --- chapter 8: language models ---------------------------------------------------------
class RNNModel(nn.Block):
    """The 2.0 edition's language model around a Gluon recurrent layer (``rnn.RNN``, ``rnn.GRU``,
    ``rnn.LSTM``): one-hot inputs, the layer, and a dense output layer on every step's hidden state.

    ``net(X, state)`` takes token indices ``X`` of shape (batch_size, num_steps) and returns the scores
    of shape (num_steps * batch_size, vocab_size), time step after time step, and the new state.
    """

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        if not hasattr(rnn_layer, "begin_state"):
            raise TypeError(f"rnn_layer must be rnn.RNN, rnn.GRU or rnn.LSTM, got {type(rnn_layer).__name__}")
        self.rnn = rnn_layer
        self.vocab_size = checks.positive_int("vocab_size", vocab_size)
        self.dense = nn.Dense(vocab_size)

    def forward(self, inputs, state):
        X = npx.one_hot(inputs.T, self.vocab_size)
        Y, state = self.rnn(X, state)
        return self.dense(Y.reshape(-1, Y.shape[-1])), state

    def begin_state(self, *args, **kwargs):
        """The layer's zero state: a list of arrays (num_layers * num_directions, batch_size, num_hiddens)."""
        return self.rnn.begin_state(*args, **kwargs)


def predict_ch8(prefix, num_preds, net, vocab, device):
    """``prefix`` followed by ``num_preds`` characters, each the most likely after the ones before."""
    return core.predict_from(
        prefix,
        num_preds,
        vocab,
        lambda: net.begin_state(batch_size=1, ctx=device),
        lambda index, state: net(np.array([[index]], ctx=device), state),
    )


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
    """One epoch of training with gradients clipped to norm 1; returns the perplexity and tokens per second.

    ``updater`` is the book's ``updater(batch_size)`` (given 1: the loss is already the mean) or a
    ``gluon.Trainer``."""
    if isinstance(updater, gluon.Trainer):
        updater = updater.step
    elif not callable(updater):
        raise core.updater_error(updater, "a gluon.Trainer or a function updater(batch_size)")

    def step(X, Y, state):
        y = Y.T.reshape(-1).as_in_ctx(device)
        state = core.detached(state)
        with autograd.record():
            y_hat, state = net(X.as_in_ctx(device), state)
            l = loss(y_hat, y).mean()
        l.backward()
        grad_clipping(net, 1)
        updater(batch_size=1)  # the loss is a mean already
        return l, y.size, state

    return core.run_epoch_ch8(step, lambda n: net.begin_state(batch_size=n, ctx=device), train_iter, use_random_iter)


def _start_ch8(net, lr, device):
    """``train_ch8``'s loss and updater: for a ``gluon.Block``, initialised here from N(0, 0.01) on ``device``,
    the step of a ``gluon.Trainer`` with SGD; for a scratch model, the book's ``sgd`` on its ``params``."""
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    if isinstance(net, gluon.Block):
        net.initialize(ctx=device, force_reinit=True, init=init.Normal(0.01))
        return loss, gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr}).step
    return loss, lambda batch_size: sgd(net.params, lr, batch_size)


train_ch8 = core.make_train_ch8(_start_ch8, train_epoch_ch8, predict_ch8)


# --- chapter 9: sequence to sequence ----------------------------------------------------
def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, device):
    """Train the encoder-decoder ``net`` on ``device`` (a context) with Adam at ``lr`` on the masked
    cross-entropy, from ``init.Xavier()`` weights, the decoder fed ``'<bos>'`` and the target minus its last
    token (teacher forcing), gradients clipped to norm 1 and the update scaled by the number of tokens,
    as in the book; draws the loss per token and prints it with the speed. The environment's training
    budget applies. ``net(X, dec_X, X_valid_len)`` may return the scores (d2lx's ``d2l.EncoderDecoder``)
    or ``(scores, state)`` (the 2.0 edition's)."""
    num_epochs, lr = core.check_ch8(num_epochs, lr)
    bos, _ = core.check_seq2seq_vocab(tgt_vocab)
    net.initialize(init.Xavier(), force_reinit=True, ctx=device)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr})
    loss = MaskedSoftmaxCELoss()

    def step(batch):
        X, X_valid_len, Y, Y_valid_len = [x.as_in_ctx(device) for x in batch]
        dec_input = np.concatenate([np.full((Y.shape[0], 1), bos, dtype=Y.dtype, ctx=device), Y[:, :-1]], 1)
        with autograd.record():
            l = loss(core.decoder_scores(net(X, dec_input, X_valid_len)), Y, Y_valid_len)
        l.backward()
        grad_clipping(net, 1)
        num_tokens = float(Y_valid_len.sum())
        trainer.step(num_tokens)
        return l.sum(), num_tokens

    return core.train_seq2seq_epochs(num_epochs, data_iter, step, str(device))


def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, device, save_attention_weights=False):
    """``(translation, attention weights)``: ``src_sentence`` translated greedily by the trained ``net``, at most
    ``num_steps`` tokens, stopping at ``'<eos>'``; the decoder's attention weights per step if asked."""
    tokens, valid_len = core.source_tokens(src_sentence, src_vocab, num_steps)
    enc_valid_len = np.array([valid_len], ctx=device)
    enc_outputs = net.encoder(np.array([tokens], ctx=device), enc_valid_len)
    state = {"dec": net.decoder.init_state(enc_outputs, enc_valid_len)}

    def step(token):
        Y, state["dec"] = net.decoder(np.array([[token]], ctx=device), state["dec"])
        return Y.argmax(axis=2).astype("int32").item()

    attention = (lambda: attention_weights_of(net.decoder)) if save_attention_weights else None
    return core.greedy_translation(step, tgt_vocab, num_steps, attention)
