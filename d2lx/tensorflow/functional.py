"""The 2.0 edition's functional API for TensorFlow: ``train_ch3``, ``Updater``, ``sgd``, ``train_ch6``...

The loops, the ``Animator`` and the data functions are the shared core's
(``d2lx.functional``); here is what TensorFlow decides: a minibatch step under
``tf.GradientTape``, where ``updater`` is a Keras optimizer (applied to
``net.trainable_variables``) or the book's custom ``Updater`` holding its
``params`` (called as ``updater(batch_size, grads)``); after the first
minibatch the step runs compiled with ``tf.function``. Keras losses take
``(labels, predictions)`` and return the batch mean; the book's own losses take
``(predictions, labels)`` and return one value per example. Both work.

As in the book, ``train_ch6(net_fn, train_iter, test_iter, num_epochs, lr, device)`` takes a
function that builds the Keras model, builds it inside ``device`` (a ``tf.device`` scope; Keras
layers start Glorot-uniform, i.e. Xavier), trains it with Keras's SGD and cross-entropy on logits
in the shared loop, and returns it. The book's TensorFlow code has no ``evaluate_accuracy_gpu``;
d2lx's evaluates under ``device`` when one is given.

Chapter 8 (``predict_ch8``, ``train_epoch_ch8``, ``train_ch8(net, train_iter, vocab, lr, num_epochs,
strategy, use_random_iter=False)``, ``RNNModel``): gradients from the tape, clipped with
``grad_clipping(grads, 1)``, applied by the Keras optimizer. Keras 3 removed ``time_major`` from its
recurrent layers, so the book's ``tf.keras.layers.RNN(cell, time_major=True, return_sequences=True,
return_state=True)`` is written without it, and ``RNNModel`` feeds the layer batch-major and lays the
scores out time step after time step, as the book's labels (``tf.transpose(Y)``) are.
"""

from __future__ import annotations

import contextlib

import tensorflow as tf

from d2lx import checks
from d2lx import functional as core
from d2lx.seq2seq import attention_weights_of
from d2lx.sequence_data import make_sequence_functions
from d2lx.tensorflow.data import DataModule, FashionMNIST
from d2lx.tensorflow.devices import try_gpu
from d2lx.tensorflow.own_errors import KeepsOwnErrors
from d2lx.tensorflow.seq2seq import MaskedSoftmaxCELoss
from d2lx.tensorflow.trainer import grad_clipping

synthetic_data, data_iter, load_array, load_data_fashion_mnist = core.make_data_functions(DataModule, FashionMNIST)
(seq_data_iter_random, seq_data_iter_sequential, SeqDataLoader, load_data_time_machine, build_array_nmt,
 load_data_nmt) = make_sequence_functions(DataModule, load_array)  # fmt: skip


def squared_loss(y_hat, y):
    """Half the squared error of each example (not reduced)."""
    return (y_hat - tf.reshape(y, y_hat.shape)) ** 2 / 2


def sgd(params, grads, lr, batch_size):
    """Minibatch SGD on ``tf.Variable``s: ``param -= lr * grad / batch_size`` for each pair."""
    for param, grad in zip(params, grads):
        if grad is None:
            raise ValueError(
                f"sgd got no gradient for the variable of shape {tuple(param.shape)}: the loss does not depend "
                "on it (was it computed inside the GradientTape?)"
            )
        param.assign_sub(lr * grad / batch_size)


class Updater:
    """The book's custom updater: ``Updater(params, lr)``; ``updater(batch_size, grads)`` runs ``sgd`` on ``params``."""

    def __init__(self, params, lr):
        self.params = params
        self.lr = lr

    def __call__(self, batch_size, grads):
        sgd(self.params, grads, self.lr, batch_size)


def _call_loss(loss, y_hat, y):
    return loss(y, y_hat) if isinstance(loss, tf.keras.losses.Loss) else loss(y_hat, y)


def _eager_step(net, loss, updater, X, y, training=False):
    with tf.GradientTape() as tape:
        y_hat = net(X, training=True) if training else net(X)
        l = _call_loss(loss, y_hat, y)
    if isinstance(updater, tf.keras.optimizers.Optimizer):
        params = net.trainable_variables
        updater.apply_gradients(zip(tape.gradient(l, params), params))
    else:
        updater(X.shape[0], tape.gradient(l, updater.params))
    return l, y_hat


# (net, loss, updater, compiled step or None): the step of the latest training run, kept across its epochs
_compiled: tuple = (None, None, None, None)


def _step(net, X, y, loss, updater, training=False):
    """One minibatch, compiled with ``tf.function`` after the first (eager: it builds lazy layers and the
    optimizer's variables). Code TensorFlow cannot trace runs eagerly, as does everything after
    ``tf.config.run_functions_eagerly(True)``. ``training=True`` calls the Keras model as ``net(X,
    training=True)``, as ``fit`` does (dropout on)."""
    global _compiled
    custom = callable(updater) and hasattr(updater, "params")
    if not custom and not isinstance(updater, tf.keras.optimizers.Optimizer):
        raise core.updater_error(updater, "a tf.keras.optimizers.Optimizer or an Updater(params, lr) with .params")
    if not custom and not hasattr(net, "trainable_variables"):
        raise TypeError(
            "a Keras optimizer updates net.trainable_variables, so net must be a Keras model; "
            f"got {type(net).__name__}: for a function, pass d2l.Updater(params, lr) as the updater"
        )
    if any(a is not b for a, b in zip(_compiled[:3], (net, loss, updater))):  # a new training run
        step = tf.function(lambda X, y: _eager_step(net, loss, updater, X, y, training))
        step._omit_frequent_tracing_warning = True  # one function per training run: not a retracing loop
        _compiled = (net, loss, updater, step)
        return _eager_step(net, loss, updater, X, y, training)
    step = _compiled[3]
    if step is not None:
        try:
            return step(X, y)
        except Exception:  # not traceable: eagerly from now on (an error of the user's code shows again below)
            _compiled = (net, loss, updater, None)
    return _eager_step(net, loss, updater, X, y, training)


evaluate_accuracy, evaluate_loss, train_epoch_ch3, train_ch3, predict_ch3 = core.make_ch3(
    _step, call_loss=_call_loss, reshape=tf.reshape
)


def _start_ch6(net, lr, device):
    optimizer = tf.keras.optimizers.SGD(learning_rate=lr)
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return lambda X, y: _step(net, X, y, loss, optimizer, training=True)


def _to_device(X, device):
    with device:
        return [tf.identity(x) for x in X] if isinstance(X, list) else tf.identity(X)


def _device_of(net):
    return None  # Keras places the model's variables itself


def _device_name(device):
    return getattr(device, "_device_name", device)  # "/CPU:0" for tf.device("/CPU:0"), as the book prints


evaluate_accuracy_gpu, _train_ch6 = core.make_ch6(_start_ch6, _to_device, _device_of, device_name=_device_name)


def train_ch6(net_fn, train_iter, test_iter, num_epochs, lr, device):
    """Build the Keras model ``net_fn()`` inside ``device`` (a ``tf.device`` scope, e.g. ``d2l.try_gpu()``),
    train it with SGD at learning rate ``lr`` on the cross-entropy of its logits for ``num_epochs`` epochs,
    drawing training loss and accuracy and test accuracy and printing the last of them and the speed;
    return the trained model. The environment's training budget applies (``d2lx.functional.budgeted``)."""
    core.check_ch6(num_epochs, lr)
    if not callable(net_fn) or isinstance(net_fn, tf.keras.Model):
        raise TypeError(
            "net_fn must be a function that returns a new Keras model (as in the book: def net(): return "
            f"tf.keras.models.Sequential([...])), got {type(net_fn).__name__}"
        )
    with device:
        net = net_fn()
        _train_ch6(net, train_iter, test_iter, num_epochs, lr, device)
    return net


# --- chapter 8: language models ---------------------------------------------------------
class RNNModel(KeepsOwnErrors, tf.keras.layers.Layer):
    """The 2.0 edition's language model around a Keras recurrent layer (``tf.keras.layers.RNN(cell,
    return_sequences=True, return_state=True)``): one-hot inputs, the layer, and a dense output layer.

    ``net(X, state)`` takes token indices ``X`` of shape (batch_size, num_steps) and returns the scores
    of shape (num_steps * batch_size, vocab_size), time step after time step, and the new state (a list).
    """

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        if not (getattr(rnn_layer, "return_sequences", False) and getattr(rnn_layer, "return_state", False)):
            raise ValueError(
                "rnn_layer must return every step's output and its state: build it with "
                f"return_sequences=True, return_state=True (got {type(rnn_layer).__name__})"
            )
        self.rnn = rnn_layer
        self.vocab_size = checks.positive_int("vocab_size", vocab_size)
        self.dense = tf.keras.layers.Dense(vocab_size)

    def call(self, inputs, state):
        time_major = getattr(self.rnn, "time_major", False)  # Keras 2's option; gone in Keras 3
        X = tf.one_hot(tf.transpose(inputs) if time_major else inputs, self.vocab_size)
        Y, *state = self.rnn(X, initial_state=state)
        if not time_major:  # (batch_size, num_steps, num_hiddens) -> (num_steps, batch_size, num_hiddens)
            Y = tf.transpose(Y, (1, 0, 2))
        return self.dense(tf.reshape(Y, (-1, Y.shape[-1]))), state

    def begin_state(self, batch_size=None, dtype=tf.float32, **kwargs):
        """The cell's zero state for ``batch_size`` rows (a list); ``dtype`` as the book's TF cells pass it
        (Keras 3's ``get_initial_state`` takes only the batch size)."""
        return [tf.cast(s, dtype) for s in tf.nest.flatten(self.rnn.cell.get_initial_state(batch_size))]


def predict_ch8(prefix, num_preds, net, vocab):
    """``prefix`` followed by ``num_preds`` characters, each the most likely after the ones before."""
    return core.predict_from(
        prefix,
        num_preds,
        vocab,
        lambda: net.begin_state(batch_size=1, dtype=tf.float32),
        lambda index, state: net(tf.constant([[index]]), state),
    )


def train_epoch_ch8(net, train_iter, loss, updater, use_random_iter):
    """One epoch of training with gradients clipped to norm 1; returns the perplexity and tokens per second.

    ``updater`` is a Keras optimizer, applied to ``net.trainable_variables`` (a scratch model's list too)."""
    if not isinstance(updater, tf.keras.optimizers.Optimizer):
        raise core.updater_error(updater, "a tf.keras.optimizers.Optimizer such as tf.keras.optimizers.SGD(lr)")

    def eager_step(X, Y, state):
        y = tf.reshape(tf.transpose(Y), (-1,))
        with tf.GradientTape() as tape:
            y_hat, state = net(X, state)
            l = tf.reduce_mean(_call_loss(loss, y_hat, y))
        params = net.trainable_variables
        grads = grad_clipping(tape.gradient(l, params), 1)
        updater.apply_gradients(zip(grads, params))
        return l, state

    compiled = _compiled_ch8(net, loss, updater, eager_step)

    def step(X, Y, state):
        l, state = compiled(X, Y, state)
        return l, int(tf.size(Y)), state

    return core.run_epoch_ch8(
        step, lambda n: net.begin_state(batch_size=n, dtype=tf.float32), train_iter, use_random_iter
    )


# (net, loss, updater, step): the compiled step of the latest training run, kept across its epochs
_latest_ch8: tuple = (None, None, None, None)


def _compiled_ch8(net, loss, updater, eager_step):
    """``eager_step`` compiled with ``tf.function`` from its second call on (the first builds the lazy layers
    and the optimizer's variables eagerly); the same function for the epochs of one training run. Code
    TensorFlow cannot trace runs eagerly from then on (an error of the learner's code shows there)."""
    global _latest_ch8
    if any(a is not b for a, b in zip(_latest_ch8[:3], (net, loss, updater))):
        function = tf.function(eager_step)
        function._omit_frequent_tracing_warning = True  # one function per training run: not a retracing loop
        _latest_ch8 = (net, loss, updater, {"function": function, "calls": 0})
    compiled = _latest_ch8[3]

    def step(X, Y, state):
        compiled["calls"] += 1
        if compiled["function"] is not None and compiled["calls"] > 1:
            try:
                return compiled["function"](X, Y, state)
            except Exception:  # not traceable: eagerly from now on
                compiled["function"] = None
        return eager_step(X, Y, state)

    return step


def train_ch8(net, train_iter, vocab, lr, num_epochs, strategy=None, use_random_iter=False):
    """Train ``net`` (an ``RNNModel``, or a scratch model with ``trainable_variables``) with Keras's SGD at
    learning rate ``lr`` on the cross-entropy of the logits, printing predictions and, at the end, the
    perplexity and the speed. ``strategy`` (the book's ``tf.distribute.OneDeviceStrategy``) scopes the
    loss and the optimizer. The environment's training budget applies (``d2lx.functional.budgeted_ch8``)."""
    num_epochs, lr = core.check_ch8(num_epochs, lr)
    train_iter, num_epochs = core.budgeted_ch8(train_iter, num_epochs)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        updater = tf.keras.optimizers.SGD(float(lr))
    predict = lambda prefix: predict_ch8(prefix, 50, net, vocab)  # noqa: E731
    core.train_epochs_ch8(
        num_epochs,
        lambda: train_epoch_ch8(net, train_iter, loss, updater, use_random_iter),
        predict,
        str(_device_name(try_gpu())),
    )


# --- chapter 9: sequence to sequence ----------------------------------------------------
def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, device):
    """Train the encoder-decoder ``net`` with Adam at ``lr`` on the masked cross-entropy, the decoder fed
    ``'<bos>'`` and the target minus its last token (teacher forcing), gradients clipped to norm 1; draws
    the loss per token and prints it with the speed on ``device`` (only named: TensorFlow places the
    computation itself, as in the book). Keras's own initial weights, as the book's. The environment's
    training budget applies. ``net(X, dec_X, X_valid_len, training=True)`` may return the scores (d2lx's
    ``d2l.EncoderDecoder``) or ``(scores, state)`` (the 2.0 edition's)."""
    num_epochs, lr = core.check_ch8(num_epochs, lr)
    bos, _ = core.check_seq2seq_vocab(tgt_vocab)
    optimizer = tf.keras.optimizers.Adam(learning_rate=float(lr))

    def eager_step(X, X_valid_len, Y, Y_valid_len):
        dec_input = tf.concat([tf.fill((tf.shape(Y)[0], 1), tf.cast(bos, Y.dtype)), Y[:, :-1]], 1)  # teacher forcing
        with tf.GradientTape() as tape:
            Y_hat = core.decoder_scores(net(X, dec_input, X_valid_len, training=True))
            l = MaskedSoftmaxCELoss(Y_valid_len)(Y, Y_hat)
        gradients = grad_clipping(tape.gradient(l, net.trainable_variables), 1)
        optimizer.apply_gradients(zip(gradients, net.trainable_variables))
        return tf.reduce_sum(l), tf.reduce_sum(Y_valid_len)

    compiled = {"function": tf.function(eager_step), "calls": 0}
    compiled["function"]._omit_frequent_tracing_warning = True  # one function per training run

    def step(batch):
        # eagerly at first (the lazy layers and the optimizer make their variables), then compiled; code
        # TensorFlow cannot trace (a learner's cell) runs eagerly from then on
        compiled["calls"] += 1
        if compiled["function"] is not None and compiled["calls"] > 1:
            try:
                return compiled["function"](*batch)
            except Exception:
                compiled["function"] = None
        return eager_step(*batch)

    return core.train_seq2seq_epochs(num_epochs, data_iter, step, str(_device_name(device)))


def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, save_attention_weights=False):
    """``(translation, attention weights)``: ``src_sentence`` translated greedily by the trained ``net``, at most
    ``num_steps`` tokens, stopping at ``'<eos>'``; the decoder's attention weights per step if asked. No
    ``device``, as in the TensorFlow book."""
    tokens, valid_len = core.source_tokens(src_sentence, src_vocab, num_steps)
    enc_valid_len = tf.constant([valid_len])
    enc_outputs = net.encoder(tf.constant([tokens]), enc_valid_len, training=False)
    state = {"dec": net.decoder.init_state(enc_outputs, enc_valid_len)}

    def step(token):
        Y, state["dec"] = net.decoder(tf.constant([[token]]), state["dec"], training=False)
        return int(tf.argmax(Y, axis=2)[0, 0])

    attention = (lambda: attention_weights_of(net.decoder)) if save_attention_weights else None
    return core.greedy_translation(step, tgt_vocab, num_steps, attention)
