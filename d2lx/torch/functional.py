"""The 2.0 edition's functional API for PyTorch: ``train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)``
and ``train_ch6(net, train_iter, test_iter, num_epochs, lr, device)``.

The loops, the ``Animator`` and the data functions are the shared core's
(``d2lx.functional``); here is what PyTorch decides: a minibatch step with
``backward()``, where ``updater`` is a ``torch.optim.Optimizer`` (stepped on
the mean loss) or the book's custom ``updater(batch_size)`` (the summed loss's
gradients, divided by the batch size in ``sgd``), and ``eval()``/``no_grad()``
while evaluating; for ``train_ch6``, Xavier-uniform weights for ``nn.Linear`` and
``nn.Conv2d`` layers (``init_cnn``) and ``.to(device)`` for the net and each batch.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from d2lx.functional import (
    make_ch3,
    make_ch6,
    make_data_functions,
    squared_loss,  # noqa: F401 (re-exported: the same on this framework's tensors)
    updater_error,
)
from d2lx.sequence_data import make_sequence_functions
from d2lx.torch.cnn import init_cnn
from d2lx.torch.data import DataModule, FashionMNIST

synthetic_data, data_iter, load_array, load_data_fashion_mnist = make_data_functions(DataModule, FashionMNIST)
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
        raise updater_error(updater, "a torch.optim.Optimizer or a function updater(batch_size)")
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


evaluate_accuracy, evaluate_loss, train_epoch_ch3, train_ch3, predict_ch3 = make_ch3(
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


evaluate_accuracy_gpu, train_ch6 = make_ch6(
    _start_ch6, _to_device, _device_of, evaluating=_evaluating, training=_training
)
