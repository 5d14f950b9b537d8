"""The 2.0 edition's functional API for MXNet: ``train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)``
and ``train_ch6(net, train_iter, test_iter, num_epochs, lr, device)``.

The loops, the ``Animator`` and the data functions are the shared core's
(``d2lx.functional``); here is what MXNet decides: a minibatch step under
``autograd.record()``, where ``updater`` is a ``gluon.Trainer`` (its
``step(batch_size)``) or the book's custom ``updater(batch_size)``. Both get
the gradients of the summed loss and divide by the batch size. Outside
``record()`` MXNet predicts, so evaluation needs nothing more. ``train_ch6``
initialises the net with ``init.Xavier()`` on ``device`` (a context) and moves each
batch there with ``as_in_ctx``.
"""

from __future__ import annotations

from mxnet import autograd, gluon, init

from d2lx.functional import (
    make_ch3,
    make_ch6,
    make_data_functions,
    squared_loss,  # noqa: F401 (re-exported: the same on this framework's tensors)
    updater_error,
)
from d2lx.mxnet.data import DataModule, FashionMNIST
from d2lx.sequence_data import make_sequence_functions

synthetic_data, data_iter, load_array, load_data_fashion_mnist = make_data_functions(DataModule, FashionMNIST)
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
        raise updater_error(updater, "a gluon.Trainer or a function updater(batch_size)")
    with autograd.record():
        y_hat = net(X)
        l = loss(y_hat, y)
    l.backward()
    updater(X.shape[0])
    return l, y_hat


evaluate_accuracy, evaluate_loss, train_epoch_ch3, train_ch3, predict_ch3 = make_ch3(_step)


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


evaluate_accuracy_gpu, train_ch6 = make_ch6(_start_ch6, _to_device, _device_of)
