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
"""

from __future__ import annotations

import tensorflow as tf

from d2lx.functional import check_ch6, make_ch3, make_ch6, make_data_functions, updater_error
from d2lx.sequence_data import make_sequence_functions
from d2lx.tensorflow.data import DataModule, FashionMNIST

synthetic_data, data_iter, load_array, load_data_fashion_mnist = make_data_functions(DataModule, FashionMNIST)
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
        raise updater_error(updater, "a tf.keras.optimizers.Optimizer or an Updater(params, lr) with .params")
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


evaluate_accuracy, evaluate_loss, train_epoch_ch3, train_ch3, predict_ch3 = make_ch3(
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


evaluate_accuracy_gpu, _train_ch6 = make_ch6(_start_ch6, _to_device, _device_of, device_name=_device_name)


def train_ch6(net_fn, train_iter, test_iter, num_epochs, lr, device):
    """Build the Keras model ``net_fn()`` inside ``device`` (a ``tf.device`` scope, e.g. ``d2l.try_gpu()``),
    train it with SGD at learning rate ``lr`` on the cross-entropy of its logits for ``num_epochs`` epochs,
    drawing training loss and accuracy and test accuracy and printing the last of them and the speed;
    return the trained model. The environment's training budget applies (``d2lx.functional.budgeted``)."""
    check_ch6(num_epochs, lr)
    if not callable(net_fn) or isinstance(net_fn, tf.keras.Model):
        raise TypeError(
            "net_fn must be a function that returns a new Keras model (as in the book: def net(): return "
            f"tf.keras.models.Sequential([...])), got {type(net_fn).__name__}"
        )
    with device:
        net = net_fn()
        _train_ch6(net, train_iter, test_iter, num_epochs, lr, device)
    return net
