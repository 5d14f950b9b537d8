"""The functional API of the book's 2.0 edition, designed for JAX (the 2.0 edition has no JAX code).

JAX arrays are immutable and gradients come from ``jax.grad`` of a function,
so the 2.0 edition's functions take the parameters explicitly, always second,
as Flax's ``model.apply(params, X)`` does:

* ``net(params, X)`` is the model: a function of its parameters (any pytree:
  a list ``[W, b]``, Flax's ``{'params': ...}``), e.g. ``model.apply``;
* ``sgd(params, grads, lr, batch_size)`` returns the updated parameters;
* ``updater`` is an Optax optimizer (``optax.sgd(0.1)``, stepped on the mean
  loss's gradients, its state kept across the epochs of one ``train_ch3``), or a
  custom ``updater(params, grads, batch_size) -> new params`` given the summed
  loss's gradients, e.g. ``lambda p, g, n: d2l.sgd(p, g, lr, n)``;
* ``train_ch3(net, params, train_iter, test_iter, loss, num_epochs, updater)``
  returns the trained parameters, ``train_epoch_ch3`` returns
  ``(params, (train_loss, train_acc))``; ``evaluate_accuracy(net, params, data_iter)``,
  ``evaluate_loss(net, params, data_iter, loss)`` and ``predict_ch3(net, params, test_iter, n=6)``;
* chapter 6: ``train_ch6(net, params, train_iter, test_iter, num_epochs, lr, device)`` returns the
  trained parameters (re-drawn Xavier-uniform first, as the book's ``train_ch6`` re-initialises the
  net; trained with ``optax.sgd(lr)`` on the cross-entropy of the logits), and
  ``evaluate_accuracy_gpu(net, params, data_iter, device=None)`` computes on ``device`` (default: where
  ``params`` are). ``device`` is a ``jax.Device`` such as ``d2l.try_gpu()``.

* chapter 8: ``RNNModel(rnn, vocab_size)`` is a Flax module around a Flax ``nn.RNN`` (over
  ``nn.SimpleCell``, ``nn.GRUCell``, ``nn.OptimizedLSTMCell``...): ``net.apply(params, X, state)``
  returns the scores (num_steps * batch_size, vocab_size) and the new state, and
  ``net.begin_state(batch_size, device=None)`` the zero state; a scratch model is any object with
  those two methods. ``predict_ch8(prefix, num_preds, net, params, vocab, device=None)``,
  ``train_epoch_ch8(net, params, train_iter, loss, updater, device, use_random_iter)`` returns
  ``(params, (perplexity, tokens per second))``, and ``train_ch8(net, params, train_iter, vocab, lr,
  num_epochs, device, use_random_iter=False)`` returns the trained parameters; gradients are clipped
  to norm 1 before each update, as in the book.

The loss and its gradients run under ``jax.jit``, as does the net when evaluating
(a ``net`` or ``loss`` that ``jax.jit`` cannot trace runs uncompiled). The loops,
the ``Animator`` and the data functions are the shared core's (``d2lx.functional``).
"""

from __future__ import annotations

import jax
import optax
from flax import linen as nn
from jax import numpy as jnp

from d2lx import checks
from d2lx import functional as core
from d2lx.jax.data import DataModule, FashionMNIST
from d2lx.jax.ops import get_key
from d2lx.jax.seq2seq import MaskedSoftmaxCELoss, init_seq2seq
from d2lx.jax.trainer import grad_clipping
from d2lx.seq2seq import missing_attention_weights
from d2lx.sequence_data import make_sequence_functions

squared_loss = core.squared_loss  # re-exported: the same on this framework's arrays

synthetic_data, data_iter, load_array, load_data_fashion_mnist = core.make_data_functions(DataModule, FashionMNIST)
(seq_data_iter_random, seq_data_iter_sequential, SeqDataLoader, load_data_time_machine, build_array_nmt,
 load_data_nmt) = make_sequence_functions(DataModule, load_array)  # fmt: skip


def sgd(params, grads, lr, batch_size):
    """Minibatch SGD: the parameters ``param - lr * grad / batch_size`` (same structure as ``params``)."""
    return jax.tree_util.tree_map(lambda param, grad: param - lr * grad / batch_size, params, grads)


def _maybe_compiled(function):
    """``function`` under ``jax.jit``, or as it is from the first call ``jax.jit`` cannot trace."""
    compiled = jax.jit(function)
    state = {"compile": True}

    def run(*args):
        if state["compile"]:
            try:
                return compiled(*args)
            except jax.errors.JAXTypeError:  # Python control flow on traced values and the like
                state["compile"] = False
        return function(*args)

    return run


class _OptaxUpdater:
    """An Optax optimizer as a custom updater ``(params, grads, batch_size) -> params``, keeping its state."""

    def __init__(self, optimizer: optax.GradientTransformation, params):
        self.state = optimizer.init(params)

        def update(params, state, grads, batch_size):
            grads = jax.tree_util.tree_map(lambda g: g / batch_size, grads)  # the mean loss's gradients
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state

        self._update = jax.jit(update)

    def __call__(self, params, grads, batch_size):
        params, self.state = self._update(params, self.state, grads, batch_size)
        return params


def _as_updater(updater, params):
    if isinstance(updater, optax.GradientTransformation):
        return _OptaxUpdater(updater, params)
    if callable(updater):
        return updater
    raise core.updater_error(
        updater, "an Optax optimizer such as optax.sgd(0.1) or a function (params, grads, batch_size)"
    )


def _predictor(net, params):
    compiled = _maybe_compiled(net)
    return lambda X: compiled(params, X)


def evaluate_accuracy(net, params, data_iter) -> float:
    """The accuracy of ``net`` with ``params`` on the whole of ``data_iter``."""
    return core.count_accuracy(_predictor(net, params), data_iter)


def evaluate_loss(net, params, data_iter, loss) -> float:
    """The mean ``loss`` of ``net`` with ``params`` on ``data_iter`` (labels are reshaped like the outputs)."""
    return core.mean_loss(_predictor(net, params), data_iter, loss)


# (net, loss, their gradient function): kept, so the epochs of one training run compile once
_latest_gradients: tuple = (None, None, None)


def _gradients(net, loss):
    """``(params, X, y) -> ((summed loss, (loss values, y_hat)), grads)``, compiled if possible."""
    global _latest_gradients
    if _latest_gradients[0] is net and _latest_gradients[1] is loss:
        return _latest_gradients[2]

    def objective(params, X, y):
        y_hat = net(params, X)
        l = loss(y_hat, y)
        return l.sum(), (l, y_hat)

    _latest_gradients = (net, loss, _maybe_compiled(jax.value_and_grad(objective, has_aux=True)))
    return _latest_gradients[2]


def _stepper(net, loss, updater, current: dict, device=None):
    """``step(X, y)`` for ``run_epoch``: one update of ``current["params"]`` (on ``device`` if given)."""
    gradients = _gradients(net, loss)

    def step(X, y):
        if device is not None:
            X, y = jax.device_put((X, y), device)
        (_, (l, y_hat)), grads = gradients(current["params"], X, y)
        current["params"] = updater(current["params"], grads, X.shape[0])
        return l, y_hat

    return step


def train_epoch_ch3(net, params, train_iter, loss, updater):
    """One epoch of training; returns ``(params, (train_loss, train_acc))`` with the updated parameters."""
    current = {"params": params}
    metrics = core.run_epoch(_stepper(net, loss, _as_updater(updater, params), current), train_iter)
    return current["params"], metrics


def train_ch3(net, params, train_iter, test_iter, loss, num_epochs: int, updater):
    """Train ``net`` from ``params`` for ``num_epochs`` epochs, drawing training loss and accuracy and test
    accuracy; returns the trained parameters. The environment's training budget applies (``budgeted``)."""
    train_iter, test_iter, num_epochs = core.budgeted(train_iter, test_iter, num_epochs)
    updater = _as_updater(updater, params)
    current = {"params": params}

    def train_epoch(after_batch):
        current["params"], metrics = train_epoch_ch3(net, current["params"], train_iter, loss, updater)
        return metrics

    core.train_epochs(
        num_epochs, train_epoch, lambda: evaluate_accuracy(net, current["params"], test_iter), train_iter=train_iter
    )
    return current["params"]


def predict_ch3(net, params, test_iter, n: int = 6) -> None:
    """Show the first ``n`` test images with their true and predicted classes."""
    core.show_predictions(_predictor(net, params), test_iter, n)


def _device_of(params):
    """The device of the first array of ``params`` (None for a pytree without JAX arrays)."""
    for leaf in jax.tree_util.tree_leaves(params):
        if isinstance(leaf, jax.Array):
            return next(iter(leaf.devices()))
    return None


def evaluate_accuracy_gpu(net, params, data_iter, device=None) -> float:
    """The accuracy of ``net`` with ``params`` on the whole of ``data_iter``, computed on ``device``
    (default: the device of ``params``)."""
    if device is None:
        device = _device_of(params)
    if device is None:
        return evaluate_accuracy(net, params, data_iter)
    params = jax.device_put(params, device)
    predict = _maybe_compiled(net)
    return core.count_accuracy(lambda X: predict(params, jax.device_put(X, device)), data_iter)


def _xavier(params):
    """``params`` with every array of two or more dimensions (the weights of dense and convolutional layers)
    re-drawn Xavier-uniform from ``d2l.get_key()``; biases and other vectors are kept."""
    leaves, tree = jax.tree_util.tree_flatten(params)
    draw = jax.nn.initializers.xavier_uniform()
    keys = jax.random.split(get_key(), max(len(leaves), 1))
    weight = [getattr(leaf, "ndim", 0) >= 2 for leaf in leaves]
    return tree.unflatten([draw(k, x.shape, x.dtype) if w else x for k, x, w in zip(keys, leaves, weight)])


def train_ch6(net, params, train_iter, test_iter, num_epochs, lr, device):
    """Train ``net(params, X)`` on ``device`` from Xavier-uniform weights (the shapes of ``params``), with
    ``optax.sgd(lr)`` on the cross-entropy of the logits, for ``num_epochs`` epochs; returns the trained
    parameters.

    Draws the training loss and accuracy and the test accuracy, then prints the last of them and the
    training speed in examples per second. The environment's training budget applies (``budgeted``).
    """
    num_epochs, lr = core.check_ch6(num_epochs, lr)
    train_iter, test_iter, num_epochs = core.budgeted(train_iter, test_iter, num_epochs)
    current = {"params": jax.device_put(_xavier(params), device)}
    loss = optax.softmax_cross_entropy_with_integer_labels
    step = _stepper(net, loss, _as_updater(optax.sgd(lr), current["params"]), current, device)
    core.train_epochs(
        num_epochs,
        lambda after_batch: core.run_epoch(step, train_iter, after_batch),
        lambda: evaluate_accuracy_gpu(net, current["params"], test_iter),
        num_batches=len(train_iter),
        device_name=str(device),
        train_iter=train_iter,
    )
    return current["params"]


# --- chapter 8: language models ---------------------------------------------------------
class RNNModel(nn.Module):
    """A language model around a Flax recurrent layer ``rnn`` (``nn.RNN(nn.SimpleCell(features=256))``, or
    over ``nn.GRUCell``/``nn.OptimizedLSTMCell``): one-hot inputs, the layer, a dense output layer.

    ``net.apply(params, X, state)`` takes token indices ``X`` of shape (batch_size, num_steps) and returns
    the scores of shape (num_steps * batch_size, vocab_size), time step after time step, and the new
    state. The layer is run time-major and returning its state whatever it was built with, so the
    scores line up with the book's labels (``Y.T``).
    """

    rnn: nn.Module
    vocab_size: int

    @nn.compact
    def __call__(self, inputs, state):
        X = jax.nn.one_hot(inputs.T, self.vocab_size)
        state, Y = self.rnn(X, initial_carry=state, return_carry=True, time_major=True)
        return nn.Dense(self.vocab_size, name="dense")(Y.reshape((-1, Y.shape[-1]))), state

    @nn.nowrap
    def begin_state(self, batch_size=1, device=None):
        """The cell's zero state for ``batch_size`` rows (a pair of arrays for an LSTM), on ``device``."""
        batch_size = checks.positive_int("batch_size", batch_size)
        state = self.rnn.cell.initialize_carry(jax.random.key(0), (batch_size, self.vocab_size))
        return state if device is None else jax.device_put(state, device)


def _check_net_ch8(net):
    if not (callable(getattr(net, "apply", None)) and callable(getattr(net, "begin_state", None))):
        raise TypeError(
            "net must be a model with apply(params, X, state) and begin_state(batch_size, device) such as "
            f"d2l.RNNModel, got {type(net).__name__}"
        )


def predict_ch8(prefix, num_preds, net, params, vocab, device=None):
    """``prefix`` followed by ``num_preds`` characters, each the most likely after the ones before, with the
    parameters ``params``."""
    _check_net_ch8(net)
    apply = _applied(net)

    def call(index, state):
        X = jnp.array([[index]])
        return apply(params, X if device is None else jax.device_put(X, device), state)

    return core.predict_from(prefix, num_preds, vocab, lambda: net.begin_state(batch_size=1, device=device), call)


# (net, loss, their gradient function): kept, so the epochs of one training run compile once
_latest_ch8: tuple = (None, None, None)
# (net, its compiled apply): kept, so the predictions during and after one training run compile once
_latest_apply: tuple = (None, None)


def _applied(net):
    """``net.apply``, compiled if possible (the same function for the same ``net``)."""
    global _latest_apply
    if _latest_apply[0] is not net:
        _latest_apply = (net, _maybe_compiled(net.apply))
    return _latest_apply[1]


def _gradients_ch8(net, loss):
    """``(params, X, y, state) -> ((mean loss, new state), grads)``, compiled if possible."""
    global _latest_ch8
    if _latest_ch8[0] is net and _latest_ch8[1] is loss:
        return _latest_ch8[2]

    def objective(params, X, y, state):
        y_hat, state = net.apply(params, X, state)
        return loss(y_hat, y).mean(), state

    _latest_ch8 = (net, loss, _maybe_compiled(jax.value_and_grad(objective, has_aux=True)))
    return _latest_ch8[2]


def train_epoch_ch8(net, params, train_iter, loss, updater, device, use_random_iter):
    """One epoch of training with gradients clipped to norm 1; returns ``(params, (perplexity, tokens per
    second))``. ``updater`` is an Optax optimizer or a function ``(params, grads, batch_size) -> params``
    (given batch size 1: the loss is already the mean); ``loss(y_hat, y)`` gives one value per token."""
    _check_net_ch8(net)
    updater = _as_updater(updater, params)
    gradients = _gradients_ch8(net, loss)
    current = {"params": params}

    def step(X, Y, state):
        y = Y.T.reshape(-1)
        if device is not None:
            X, y = jax.device_put((X, y), device)
        (l, state), grads = gradients(current["params"], X, y, state)
        current["params"] = updater(current["params"], grad_clipping(grads, 1), 1)
        return l, int(y.size), state

    speed = core.run_epoch_ch8(
        step, lambda n: net.begin_state(batch_size=n, device=device), train_iter, use_random_iter
    )
    return current["params"], speed


def train_ch8(net, params, train_iter, vocab, lr, num_epochs, device=None, use_random_iter=False):
    """Train ``net`` from ``params`` with ``optax.sgd(lr)`` on the cross-entropy, printing predictions and, at
    the end, the perplexity and the speed; returns the trained parameters. The environment's training
    budget applies (``d2lx.functional.budgeted_ch8``)."""
    _check_net_ch8(net)
    num_epochs, lr = core.check_ch8(num_epochs, lr)
    train_iter, num_epochs = core.budgeted_ch8(train_iter, num_epochs)
    loss = optax.softmax_cross_entropy_with_integer_labels
    current = {"params": params if device is None else jax.device_put(params, device)}
    updater = _as_updater(optax.sgd(lr), current["params"])

    def train_epoch():
        current["params"], speed = train_epoch_ch8(
            net, current["params"], train_iter, loss, updater, device, use_random_iter
        )
        return speed

    predict = lambda prefix: predict_ch8(prefix, 50, net, current["params"], vocab, device)  # noqa: E731
    where = device if device is not None else _device_of(current["params"])
    core.train_epochs_ch8(num_epochs, train_epoch, predict, str(where))
    return current["params"]


# --- chapter 9: sequence to sequence ----------------------------------------------------
def _check_net_seq2seq(net):
    if not (callable(getattr(net, "apply", None)) and hasattr(net, "encoder") and hasattr(net, "decoder")):
        raise TypeError(
            "net must be a Flax encoder-decoder with fields encoder and decoder, such as "
            f"d2l.EncoderDecoder(encoder, decoder, training=True), got {type(net).__name__}"
        )


# (net, its compiled encoder and decoder): kept, so the sentences translated with one net compile once
_latest_seq2seq: tuple = (None, None, None)


def _coders(net):
    global _latest_seq2seq
    if _latest_seq2seq[0] is not net:
        encoder, decoder = net.encoder, net.decoder
        encode = jax.jit(
            lambda p, X, valid_len: encoder.apply({"params": p}, X, valid_len, training=False, mutable="intermediates")
        )
        decode = jax.jit(
            lambda p, X, state: decoder.apply({"params": p}, X, state, training=False, mutable="intermediates")
        )
        _latest_seq2seq = (net, encode, decode)
    return _latest_seq2seq[1:]


# (net, bos, compiled update): kept, so training the same net again compiles nothing new
_latest_seq2seq_update: tuple = (None, None, None)
# Adam with its learning rate in its state, not in the compiled step: another lr compiles nothing new
_adam = optax.inject_hyperparams(optax.adam)


def _seq2seq_update(net, bos):
    """One compiled training step ``update(variables, opt_state, batch, key) -> (variables, opt_state, summed
    loss, tokens)`` with ``_adam`` (the same function for the same ``net``)."""
    global _latest_seq2seq_update
    if _latest_seq2seq_update[:2] == (net, bos):
        return _latest_seq2seq_update[2]
    optimizer, loss = _adam(learning_rate=1.0), MaskedSoftmaxCELoss()  # updates only: the rate is the state's

    def objective(variables, X, dec_input, X_valid_len, Y, Y_valid_len, key):
        Y_hat = core.decoder_scores(net.apply(variables, X, dec_input, X_valid_len, rngs={"dropout": key}))
        return loss(Y_hat, Y, Y_valid_len).sum()

    @jax.jit
    def update(variables, opt_state, batch, key):
        X, X_valid_len, Y, Y_valid_len = batch
        dec_input = jnp.concatenate([jnp.full((Y.shape[0], 1), bos, Y.dtype), Y[:, :-1]], 1)  # teacher forcing
        l, grads = jax.value_and_grad(objective)(variables, X, dec_input, X_valid_len, Y, Y_valid_len, key)
        updates, opt_state = optimizer.update(grad_clipping(grads, 1), opt_state, variables)
        return optax.apply_updates(variables, updates), opt_state, l, Y_valid_len.sum()

    _latest_seq2seq_update = (net, bos, update)
    return update


def train_seq2seq(net, params, data_iter, lr, num_epochs, tgt_vocab, device=None):
    """Train the Flax encoder-decoder ``net`` from ``params`` (its variables, as ``net.init`` gives them) with
    ``optax.adam(lr)`` on the masked cross-entropy (the sum over the batch of each sequence's loss, as the
    PyTorch book), the weight matrices first redrawn Xavier-uniform (``init_seq2seq``, as the PyTorch
    book's ``xavier_init_weights``), the decoder fed ``'<bos>'`` and the target minus its last token
    (teacher forcing), gradients clipped to norm 1; draws the loss per token, prints it with the speed, and
    returns the trained variables. ``net`` runs in training mode (dropout on, keyed from
    ``d2l.get_key()``); ``net.apply(variables, X, dec_X, X_valid_len)`` may return the scores (d2lx's
    ``d2l.EncoderDecoder``) or ``(scores, state)``. The environment's training budget applies."""
    _check_net_seq2seq(net)
    num_epochs, lr = core.check_ch8(num_epochs, lr)
    bos, _ = core.check_seq2seq_vocab(tgt_vocab)
    if "training" in getattr(net, "__dataclass_fields__", {}):
        net = net.clone(training=True)
    variables = init_seq2seq(params)
    if device is not None:
        variables = jax.device_put(variables, device)
    update = _seq2seq_update(net, bos)
    current = {"variables": variables, "opt_state": _adam(learning_rate=lr).init(variables)}

    def step(batch):
        batch = tuple(jnp.asarray(x) for x in batch)
        if device is not None:
            batch = jax.device_put(batch, device)
        current["variables"], current["opt_state"], l, num_tokens = update(
            current["variables"], current["opt_state"], batch, get_key()
        )
        return l, num_tokens

    where = device if device is not None else _device_of(current["variables"])
    core.train_seq2seq_epochs(num_epochs, data_iter, step, str(where))
    return current["variables"]


def predict_seq2seq(
    net, params, src_sentence, src_vocab, tgt_vocab, num_steps, device=None, save_attention_weights=False
):
    """``(translation, attention weights)``: ``src_sentence`` translated greedily by ``net`` with the variables
    ``params``, at most ``num_steps`` tokens, stopping at ``'<eos>'``; if asked, the attention weights the
    decoder sows into ``'intermediates'`` as ``dec_attention_weights`` (chapter 11's models), per step."""
    _check_net_seq2seq(net)
    tokens, valid_len = core.source_tokens(src_sentence, src_vocab, num_steps)
    inner = params["params"] if isinstance(params, dict) and "params" in params else params
    encode, decode = _coders(net)
    enc_X, enc_valid_len = jnp.array([tokens]), jnp.array([valid_len])
    if device is not None:
        inner, enc_X, enc_valid_len = jax.device_put((inner, enc_X, enc_valid_len), device)
    enc_outputs, _ = encode(inner["encoder"], enc_X, enc_valid_len)
    state = {"dec": net.decoder.init_state(enc_outputs, enc_valid_len), "weights": None}

    def step(token):
        (Y, state["dec"]), sown = decode(inner["decoder"], jnp.array([[token]]), state["dec"])
        state["weights"] = sown.get("intermediates", {}).get("dec_attention_weights")
        return int(jnp.argmax(Y, axis=2)[0, 0])

    def attention():
        if state["weights"] is None:
            raise missing_attention_weights(net.decoder)
        return state["weights"][0]

    return core.greedy_translation(step, tgt_vocab, num_steps, attention if save_attention_weights else None)
