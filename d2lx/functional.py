"""The 2.0 edition's functional API (``train_ch3``, ``train_ch6``, ``Animator``, ``load_data_fashion_mnist``, ...),
written once.

The 2.0 edition of the book (and its Chinese edition) trains with plain
functions where the 1.0 edition has classes:
``train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)`` and
``train_ch6(net, train_iter, test_iter, num_epochs, lr, device)``. What
does not depend on the framework is here: the ``Animator``, counting correct
predictions, the loops over batches and epochs (one loop for both chapters),
the training budget of the environment (``budgeted``), and the data functions (built
on each backend's ``DataModule`` and ``FashionMNIST``, so the data are the
real Fashion-MNIST from the shared reader, resident and batched by index).

Each backend's ``functional.py`` adds what only its framework can say: how one
minibatch is differentiated and applied (``backward()``, ``autograd.record()``,
``GradientTape``, ``jax.grad``) and the book's tensor one-liners
(``linreg``, ``squared_loss``, ``sgd``), and for chapter 6 the Xavier initialisation
and the device placement. ``make_ch3`` and ``make_ch6`` assemble the training
functions for the backends whose ``net`` is called as ``net(X)``; JAX, whose
``net`` is a function of its parameters, composes the same loops itself.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from d2lx import checks
from d2lx.board import Point, ProgressBoard
from d2lx.data.fashion_mnist import text_labels
from d2lx.data.synthetic import synthetic_regression
from d2lx.datamodule import max_batch_size_hint
from d2lx.module import TrainingDivergedError, non_finite_data_cause
from d2lx.plotting import show_images, to_numpy
from d2lx.rnn import predict_greedily
from d2lx.trainer import _limited, _LoaderView, _progress_wanted, budgeted_loaders, resolve_budget
from d2lx.utils import Accumulator, Timer


# --- small helpers of the book ---------------------------------------------------
def get_fashion_mnist_labels(labels) -> list[str]:
    """The class names of numeric Fashion-MNIST labels (a list, array or tensor of ints)."""
    return text_labels(labels)


def get_dataloader_workers() -> int:
    """The book's number of data-loading processes, 4 (fewer on a machine with fewer cores).

    d2lx's own loaders batch arrays already in memory and start no processes; the
    number is for cells that build a framework ``DataLoader`` themselves.
    """
    return min(4, os.cpu_count() or 1)


def _num_elements(x) -> int:
    return int(np.prod(tuple(int(d) for d in x.shape)))


def accuracy(y_hat, y) -> float:
    """The number of correct predictions in a batch (divide by the batch size for a rate), as in the book.

    ``y_hat`` holds one row of scores per example (or the predicted classes); ``y`` the true classes.
    """
    y_hat, y = to_numpy(y_hat), to_numpy(y)
    if y_hat.ndim > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    if y_hat.size != y.size:
        raise ValueError(f"accuracy needs one prediction per label: got y_hat of shape {y_hat.shape}, y {y.shape}")
    return float((y_hat.reshape(-1).astype(y.dtype) == y.reshape(-1)).sum())


def linreg(X, w, b):
    """The linear regression model ``Xw + b`` (``@`` is the matrix product of every framework's tensors)."""
    return X @ w + b


def squared_loss(y_hat, y):
    """Half the squared error of each example (not reduced), with ``y`` reshaped like ``y_hat``."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


# --- the Animator ---------------------------------------------------------------
def _values(v) -> list:
    """``v`` as a list: a list, tuple or 1-D array/tensor gives its elements, anything else one value."""
    if isinstance(v, (list, tuple)):
        return list(v)
    if hasattr(v, "shape") and len(v.shape) > 0:
        return list(to_numpy(v).reshape(-1))
    return [v]


class Animator(ProgressBoard):
    """The 2.0 edition's live plot: ``animator.add(x, y)`` appends a point to each of several lines.

    ``y`` is one value or one per line (``None`` skips a line for this ``x``);
    line ``i`` is drawn with ``fmts[i]`` and named ``legend[i]``. Built on
    ``ProgressBoard``: in Jupyter one image per cell, updated in place at most
    every ``redraw_interval`` seconds (and once more when the cell ends);
    elsewhere nothing is drawn until ``save(path)`` writes a PNG or SVG file.
    ``X`` and ``Y`` hold the points of each line, ``axes`` the subplots.
    """

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        legend: Sequence[str] | None = None,
        xlim=None,
        ylim=None,
        xscale: str = "linear",
        yscale: str = "linear",
        fmts: Sequence[str] = ("-", "m--", "g-.", "r:"),
        nrows: int = 1,
        ncols: int = 1,
        figsize: tuple[float, float] = (3.5, 2.5),
        display: bool = True,
    ):
        checks.positive_int("nrows", nrows)
        checks.positive_int("ncols", ncols)
        if isinstance(legend, str):
            raise TypeError(f"legend must be a list of names, one per line, got {legend!r}")
        super().__init__(xlabel, ylabel, xlim, ylim, xscale, yscale, figsize=figsize, display=display)
        self.save_hyperparameters()
        self.legend = list(legend or [])
        self._line_of: dict[str, int] = {}

    def _label(self, i: int) -> str:
        # a line without a name in ``legend`` gets one starting with "_": it stays out of the legend
        label = self.legend[i] if i < len(self.legend) else f"_line{i}"
        self._line_of.setdefault(label, i)
        return label

    def add(self, x, y) -> None:
        """Add ``(x, y[i])`` to line ``i`` for each ``i`` (``x`` may also be one value per line)."""
        ys = _values(y)
        xs = _values(x)
        if len(xs) == 1 and len(ys) > 1:
            xs = xs * len(ys)
        for i, (a, b) in enumerate(zip(xs, ys)):
            if a is not None and b is not None:
                self.data.setdefault(self._label(i), []).append(Point(_number(a), _number(b)))
        self._request_redraw()

    @property
    def X(self) -> list[list[float]]:
        return [[p.x for p in self.data.get(self._label(i), [])] for i in range(self._num_lines())]

    @property
    def Y(self) -> list[list[float]]:
        return [[p.y for p in self.data.get(self._label(i), [])] for i in range(self._num_lines())]

    def _num_lines(self) -> int:
        return max(self._line_of.values(), default=-1) + 1

    # drawing: the ProgressBoard's, with the book's subplots, formats, legend and grid
    def _ensure_axes(self):
        if self.axes is None:
            from matplotlib.figure import Figure

            self.fig = Figure(figsize=self.figsize)
            self.axes = list(self.fig.subplots(self.nrows, self.ncols, squeeze=False).reshape(-1))
        return self.axes[0]

    def _new_line(self, axes, label: str, position: int, xs, ys):
        i = self._line_of.get(label, position)
        return axes.plot(xs, ys, self.fmts[i % len(self.fmts)], label=label)[0]

    def _decorate(self, axes) -> None:
        super()._decorate(axes)
        axes.grid(True)


def _number(value) -> float:
    return float(np.asarray(to_numpy(value)).reshape(()))


# --- data -----------------------------------------------------------------------
def _resize(resize) -> tuple[int, int]:
    """The 2.0 edition's ``resize`` (``None``, one side as an int, or ``(height, width)``) as ``(height, width)``."""
    if resize is None:
        return (28, 28)
    if isinstance(resize, numbers.Integral) and not isinstance(resize, bool):
        side = checks.positive_int("resize", resize)
        return (side, side)
    return checks.image_size("resize", resize)


def make_data_functions(DataModule: type, FashionMNIST: type) -> tuple[Callable, ...]:
    """``synthetic_data``, ``data_iter``, ``load_array`` and ``load_data_fashion_mnist`` for a backend.

    They use the backend's ``DataModule`` (how numpy arrays become its tensors,
    how its tensors are batched by index) and ``FashionMNIST`` (image layout and
    label type), so the 2.0 edition's data are the 1.0 edition's, batch for batch.
    """

    def loader(arrays, batch_size: int, shuffle: bool):
        module = DataModule()
        module.batch_size = checks.positive_int("batch_size", batch_size)
        return module.get_tensorloader(tuple(arrays), shuffle)

    def synthetic_data(w, b, num_examples: int):
        """``X ~ N(0, 1)`` of shape ``(num_examples, len(w))`` and ``y = Xw + b + N(0, 0.01)`` of shape ``(n, 1)``."""
        X, y = synthetic_regression(w, b, noise=0.01, num_examples=num_examples)
        module = DataModule()
        return module._from_numpy(X), module._from_numpy(y)

    def data_iter(batch_size: int, features, labels):
        """Shuffled minibatches ``(X, y)`` of ``batch_size`` rows: each example once, the last batch may be short."""
        rows = (int(features.shape[0]), int(labels.shape[0]))
        if rows[0] != rows[1]:
            raise ValueError(f"features and labels must have the same number of rows, got {rows[0]} and {rows[1]}")
        return iter(loader((features, labels), batch_size, shuffle=True))

    def load_array(data_arrays, batch_size: int, is_train: bool = True):
        """A reusable loader of minibatches over the tensors ``data_arrays`` (shuffled each pass if ``is_train``)."""
        if not isinstance(data_arrays, (list, tuple)) or not data_arrays:
            raise TypeError(f"data_arrays must be a tuple of tensors such as (features, labels), got {data_arrays!r}")
        return loader(data_arrays, batch_size, shuffle=is_train)

    def load_data_fashion_mnist(batch_size: int, resize=None):
        """``(train_iter, test_iter)`` over the real Fashion-MNIST: 60000 shuffled and 10000 ordered images.

        ``resize`` (an int for square images, or ``(height, width)``) is applied per batch, as it is drawn.
        """
        data = FashionMNIST(batch_size=batch_size, resize=_resize(resize))
        return data.train_dataloader(), data.val_dataloader()

    return synthetic_data, data_iter, load_array, load_data_fashion_mnist


# --- the loops of chapter 3 -------------------------------------------------------
def _call_loss(loss, y_hat, y):
    return loss(y_hat, y)


def _reshape(t, shape):
    return t.reshape(shape)


def loss_total(l, batch_size: int) -> float:
    """The summed loss of a batch; a loss that returns one number for the batch is taken as its mean
    (as framework losses reduce by default) and multiplied by ``batch_size``."""
    values = to_numpy(l)
    if values.size == 1 and batch_size > 1:
        return float(values.reshape(())) * batch_size
    return float(values.sum())


def _no_examples(name: str) -> ValueError:
    return ValueError(
        f"{name} gave no examples (is it empty, or does D2LX_LIMIT_TRAIN_BATCHES or D2LX_LIMIT_VAL_BATCHES "
        "allow 0 batches?)"
    )


def count_accuracy(predict: Callable, data_iter: Iterable) -> float:
    """The fraction of examples of ``data_iter`` whose class ``predict(X)`` gets right."""
    metric = Accumulator(2)  # correct predictions, examples
    for X, y in data_iter:
        metric.add(accuracy(predict(X), y), _num_elements(y))
    if not metric[1]:
        raise _no_examples("data_iter")
    return metric[0] / metric[1]


def mean_loss(predict: Callable, data_iter: Iterable, loss, call_loss=_call_loss, reshape=_reshape) -> float:
    """The mean of ``loss`` over ``data_iter``, with labels shaped like ``predict(X)`` (as in the book)."""
    metric = Accumulator(2)  # summed loss, examples
    for X, y in data_iter:
        out = predict(X)
        y = reshape(y, out.shape)
        n = int(out.shape[0]) if len(out.shape) else 1
        metric.add(loss_total(call_loss(loss, out, y), n), n)
    return metric[0] / metric[1]


def run_epoch(step: Callable, train_iter: Iterable, after_batch: Callable | None = None) -> tuple[float, float]:
    """One pass over ``train_iter``: ``step(X, y)`` trains on a minibatch and returns ``(loss values, y_hat)``.

    Returns the mean training loss and training accuracy, as ``train_epoch_ch3`` does. ``after_batch(i,
    metric)``, if given, is called after batch ``i`` with the running sums (loss, correct predictions, examples).
    """
    metric = Accumulator(3)  # summed loss, correct predictions, examples
    for i, (X, y) in enumerate(train_iter):
        l, y_hat = step(X, y)
        n = _num_elements(y)
        metric.add(loss_total(l, n), accuracy(y_hat, y), n)
        if after_batch is not None:
            after_batch(i, metric)
    if not metric[2]:
        raise _no_examples("train_iter")
    return metric[0] / metric[2], metric[1] / metric[2]


def budgeted(train_iter: Iterable, test_iter: Iterable, num_epochs: int) -> tuple[Iterable, Iterable, int]:
    """``train_iter``, ``test_iter`` and ``num_epochs`` under the training budget of the environment, which
    means here what it means for every ``Trainer`` (``d2lx.trainer.resolve_budget``).

    ``D2LX_LIMIT_TRAIN_BATCHES`` and ``D2LX_LIMIT_VAL_BATCHES`` (an int: batches per epoch; a float in
    [0, 1]: a fraction) limit the loaders; ``D2LX_FAST_DEV_RUN=n`` trains one epoch of n batches and tests
    on n; ``D2LX_OVERFIT_BATCHES`` trains every epoch on the same first training batches and tests on them.
    So a notebook runs ``train_ch3`` and ``train_ch6`` unchanged on a smaller budget (``D2LX_MAX_BATCH_SIZE``
    acts where d2lx's loaders are made). A loader without a length is not limited.
    """
    num_epochs = checks.positive_int("num_epochs", num_epochs)
    budget = resolve_budget()
    if budget.fast_dev_run:
        num_epochs = 1
    if hasattr(train_iter, "__len__") and hasattr(test_iter, "__len__"):
        return (*budgeted_loaders(train_iter, test_iter, budget), num_epochs)
    # a loader without a length (a learner's generator) is served as it is, and nothing is overfitted
    train = _limited(train_iter, budget.limit_train_batches) if hasattr(train_iter, "__len__") else train_iter
    test = _limited(test_iter, budget.limit_val_batches) if hasattr(test_iter, "__len__") else test_iter
    return train, test, num_epochs


def train_epochs(
    num_epochs: int,
    train_epoch: Callable,
    test_accuracy: Callable,
    *,
    num_batches: int | None = None,
    device_name: str | None = None,
    train_iter: Iterable | None = None,
) -> tuple[float, float, float]:
    """The loop of ``train_ch3`` and ``train_ch6``: ``num_epochs`` times ``train_epoch(after_batch)`` then
    ``test_accuracy()``, drawn on an ``Animator``.

    ``train_epoch`` trains one epoch, passing ``after_batch`` on to ``run_epoch``, and returns
    ``(train_loss, train_acc)``. As in ``train_ch3``, the three values are drawn at the end of each epoch.
    As in ``train_ch6``, given ``num_batches`` (the batches of an epoch) and ``device_name``: the running
    training loss and accuracy are drawn five times an epoch and the test accuracy at its end, the time
    spent training is measured, and the book's two lines are printed at the end, ``loss ..., train acc ...,
    test acc ...`` and ``... examples/sec on <device_name>``.

    A progress bar shows in terminals (as for ``Trainer``; ``D2LX_PROGRESS=0`` turns it off). A NaN or
    infinite training loss stops with ``TrainingDivergedError``, which says why (``_divergence_message``;
    ``train_iter`` is searched for non-finite data only then). Returns the last
    ``(train_loss, train_acc, test_acc)``.
    """
    num_epochs = checks.positive_int("num_epochs", num_epochs)
    chapter6 = num_batches is not None
    animator = Animator(
        xlabel="epoch",
        xlim=[1, num_epochs],
        ylim=None if chapter6 else [0.3, 0.9],
        legend=["train loss", "train acc", "test acc"],
    )
    every = max(1, (num_batches or 0) // 5)  # the book's num_batches // 5, at least 1 on a small budget
    timer, state = Timer(), {"epoch": 0, "examples": 0.0}

    def after_batch(i: int, metric: Accumulator) -> None:
        if "first_non_finite" not in state and not math.isfinite(metric[0]):
            state["first_non_finite"] = (state["epoch"], i)
        if chapter6 and ((i + 1) % every == 0 or i == num_batches - 1):
            animator.add(state["epoch"] + (i + 1) / num_batches, (metric[0] / metric[2], metric[1] / metric[2], None))
        state["last"] = metric[2]

    bar = _epoch_bar(num_epochs)
    try:
        for epoch in range(num_epochs):
            state["epoch"], state["last"] = epoch, 0.0
            timer.start()
            train_loss, train_acc = train_epoch(after_batch)
            timer.stop()
            state["examples"] += state["last"]
            if not math.isfinite(train_loss):
                where = f"training loss became {train_loss} in epoch {epoch + 1}/{num_epochs}"
                raise TrainingDivergedError(f"{where}: {_divergence_cause(state, train_iter)}")
            test_acc = test_accuracy()
            animator.add(epoch + 1, (None, None, test_acc) if chapter6 else (train_loss, train_acc, test_acc))
            if bar is not None:
                bar.set_postfix(loss=f"{train_loss:.3f}", train_acc=f"{train_acc:.3f}", test_acc=f"{test_acc:.3f}")
                bar.update(1)
    finally:
        animator.flush()
        if bar is not None:
            bar.close()
    if device_name is not None:
        print(f"loss {train_loss:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}")
        print(f"{state['examples'] / timer.sum():.1f} examples/sec on {device_name}")
    return train_loss, train_acc, test_acc


def _divergence_cause(state: dict, train_iter: Iterable | None) -> str:
    """Why the 2.0 loop's training loss stopped being finite: non-finite training data (searched only now,
    so training pays nothing), a loss that was not finite at the very first batch (before any update: the
    initial parameters), or else the step size."""
    for batch in train_iter if train_iter is not None else ():
        cause = non_finite_data_cause(batch, "the training data's")
        if cause is not None:
            return cause
    if state.get("first_non_finite") == (0, 0):
        return (
            "the loss of the very first batch was not finite, before any update, so the learning rate is not "
            "the cause: check that the model's initial parameters are finite"
        )
    return "lower the learning rate"


def show_predictions(predict: Callable, test_iter: Iterable, n: int = 6):
    """``predict_ch3``'s picture: the first ``n`` test images, true class above the predicted one."""
    n = checks.positive_int("n", n)
    X, y = next(iter(test_iter))
    held = int(X.shape[0])
    if n > held:
        raise ValueError(f"n={n} asks for more images than the first test batch holds ({held}){max_batch_size_hint()}")
    predicted = to_numpy(predict(X)).argmax(axis=1)
    titles = [f"{true}\n{pred}" for true, pred in zip(get_fashion_mnist_labels(y), get_fashion_mnist_labels(predicted))]
    images = to_numpy(X)[:n]
    images = images.reshape(len(images), *[d for d in images.shape[1:] if d != 1])  # drop the channel axis
    return show_images(images, 1, n, titles=titles[:n])


def updater_error(updater, expected: str) -> TypeError:
    """The error for an ``updater`` that is neither the framework's optimizer nor a custom updater."""
    return TypeError(f"updater must be {expected}, got {updater!r} ({type(updater).__name__})")


@contextlib.contextmanager
def _unchanged(net):
    yield


def make_ch3(
    step: Callable,
    *,
    evaluating: Callable = _unchanged,
    training: Callable = _unchanged,
    call_loss: Callable = _call_loss,
    reshape: Callable = _reshape,
) -> tuple[Callable, ...]:
    """``evaluate_accuracy``, ``evaluate_loss``, ``train_epoch_ch3``, ``train_ch3`` and ``predict_ch3`` for a
    backend whose ``net`` is called as ``net(X)``.

    ``step(net, X, y, loss, updater)`` trains on one minibatch (forward pass, gradient, update) and returns
    ``(loss values, y_hat)``. ``evaluating(net)`` and ``training(net)`` are context managers around a pass
    (PyTorch: ``eval()`` and ``no_grad()``); ``call_loss(loss, y_hat, y)`` and ``reshape(t, shape)`` are
    the framework's way of calling a loss and reshaping a tensor.
    """

    def evaluate_accuracy(net, data_iter) -> float:
        """The accuracy of ``net`` on the whole of ``data_iter``."""
        with evaluating(net):
            return count_accuracy(net, data_iter)

    def evaluate_loss(net, data_iter, loss) -> float:
        """The mean ``loss`` of ``net`` on ``data_iter`` (labels are reshaped like the outputs)."""
        with evaluating(net):
            return mean_loss(net, data_iter, loss, call_loss, reshape)

    def train_epoch_ch3(net, train_iter, loss, updater) -> tuple[float, float]:
        """One epoch of training; returns the mean training loss and the training accuracy.

        ``updater`` is the framework's optimizer, or the book's custom updater (see this backend's ``sgd``).
        """
        with training(net):
            return run_epoch(lambda X, y: step(net, X, y, loss, updater), train_iter)

    def train_ch3(net, train_iter, test_iter, loss, num_epochs: int, updater) -> None:
        """Train ``net`` for ``num_epochs`` epochs, drawing training loss and accuracy and test accuracy.

        The environment's training budget applies (``budgeted``)."""
        train_iter, test_iter, num_epochs = budgeted(train_iter, test_iter, num_epochs)
        train_epochs(
            num_epochs,
            lambda after_batch: train_epoch_ch3(net, train_iter, loss, updater),
            lambda: evaluate_accuracy(net, test_iter),
            train_iter=train_iter,
        )

    def predict_ch3(net, test_iter, n: int = 6) -> None:
        """Show the first ``n`` test images with their true and predicted classes."""
        with evaluating(net):
            show_predictions(net, test_iter, n)

    return evaluate_accuracy, evaluate_loss, train_epoch_ch3, train_ch3, predict_ch3


# --- the loop of chapter 6 ----------------------------------------------------------
def check_ch6(num_epochs, lr) -> tuple[int, float]:
    """``train_ch6``'s ``num_epochs`` (a positive int) and ``lr`` (a positive number), checked before any work."""
    return checks.positive_int("num_epochs", num_epochs), checks.positive_number("lr", lr)


def make_ch6(
    start: Callable,
    to_device: Callable,
    device_of: Callable,
    *,
    evaluating: Callable = _unchanged,
    training: Callable = _unchanged,
    device_name: Callable = str,
) -> tuple[Callable, Callable]:
    """``evaluate_accuracy_gpu`` and ``train_ch6`` for a backend whose ``net`` is called as ``net(X)``.

    ``start(net, lr, device)`` does what the book's ``train_ch6`` does before its loop (Xavier
    initialisation, the net onto ``device``, the cross-entropy loss and SGD) and returns ``step(X, y)``,
    one minibatch of training on batches already on ``device``, returning ``(loss values, y_hat)``.
    ``to_device(X, device)`` moves a tensor (or a list of tensors) to ``device``; ``device_of(net)`` is the
    device of the net's first parameter, or None; ``device_name(device)`` is how the book prints it.
    ``evaluating`` and ``training`` are as for ``make_ch3``.
    """

    def evaluate_accuracy_gpu(net, data_iter, device=None) -> float:
        """The accuracy of ``net`` on the whole of ``data_iter``, computed on ``device`` (default: the
        device of the net's first parameter)."""
        with evaluating(net):
            if device is None:
                device = device_of(net)
            if device is None:
                return count_accuracy(net, data_iter)
            return count_accuracy(lambda X: net(to_device(X, device)), data_iter)

    def train_ch6(net, train_iter, test_iter, num_epochs: int, lr, device) -> None:
        """Train ``net`` on ``device`` from Xavier-initialised weights, with minibatch SGD at learning rate
        ``lr`` on the cross-entropy loss, for ``num_epochs`` epochs.

        Draws the training loss and accuracy and the test accuracy, then prints the last of them and the
        training speed in examples per second. The environment's training budget applies (``budgeted``).
        """
        num_epochs, lr = check_ch6(num_epochs, lr)
        train_iter, test_iter, num_epochs = budgeted(train_iter, test_iter, num_epochs)
        step = start(net, lr, device)

        def train_epoch(after_batch):
            with training(net):
                return run_epoch(lambda X, y: step(to_device(X, device), to_device(y, device)), train_iter, after_batch)

        train_epochs(
            num_epochs,
            train_epoch,
            lambda: evaluate_accuracy_gpu(net, test_iter),
            num_batches=len(train_iter),
            device_name=device_name(device),
            train_iter=train_iter,
        )

    return evaluate_accuracy_gpu, train_ch6


# --- the language models of chapter 8 -------------------------------------------------
def check_ch8(num_epochs, lr) -> tuple[int, float]:
    """``train_ch8``'s ``num_epochs`` (a positive int) and ``lr`` (a positive number), checked before any work."""
    return checks.positive_int("num_epochs", num_epochs), checks.positive_number("lr", lr)


def budgeted_ch8(train_iter: Iterable, num_epochs: int) -> tuple[Iterable, int]:
    """``train_iter`` and ``num_epochs`` under the environment's training budget, as ``budgeted`` does.

    The 2.0 edition's ``SeqDataLoader`` has no length (its random offset changes the number of batches
    from one pass to the next), so where ``budgeted`` would serve it whole, an int
    ``D2LX_LIMIT_TRAIN_BATCHES`` (or ``D2LX_FAST_DEV_RUN=n``) still cuts each epoch to that many batches;
    a fraction needs a length and, as for any loader without one, is not applied.
    """
    num_epochs = checks.positive_int("num_epochs", num_epochs)
    budget = resolve_budget()
    if budget.fast_dev_run:
        num_epochs = 1
    if hasattr(train_iter, "__len__"):
        return budgeted_loaders(train_iter, None, budget)[0], num_epochs
    if isinstance(budget.limit_train_batches, int):
        return _LoaderView(train_iter, budget.limit_train_batches), num_epochs
    return train_iter, num_epochs


def run_epoch_ch8(step: Callable, begin_state: Callable, train_iter: Iterable, use_random_iter) -> tuple[float, float]:
    """The loop of ``train_epoch_ch8``: returns the perplexity and the speed in tokens per second.

    ``begin_state(batch_size)`` makes a fresh state: for the first minibatch, and for every one under
    random sampling, whose rows do not continue the rows before. ``step(X, Y, state)`` trains on one
    minibatch from ``state`` (cut from the graph of the batch before, so the gradients stay within one
    minibatch, with clipping) and returns ``(mean loss per token, number of tokens, new state)``.
    """
    if not isinstance(use_random_iter, (bool, np.bool_)):
        raise TypeError(f"use_random_iter must be True or False, got {checks._describe(use_random_iter)}")
    state, timer = None, Timer()
    metric = Accumulator(2)  # summed loss, tokens
    for X, Y in train_iter:
        if state is None or use_random_iter:
            state = begin_state(int(X.shape[0]))
        l, n, state = step(X, Y, state)
        metric.add(_number(l) * n, n)
    if not metric[1]:
        raise _no_examples("train_iter")
    mean = metric[0] / metric[1]
    return (math.exp(mean) if mean < 700 else math.inf), metric[1] / timer.stop()  # exp overflows past 709


def detached(state):
    """``state`` (a tensor, or a tuple or list of them) cut from the graph of the minibatch before, for the
    frameworks whose tensors have ``detach()`` (PyTorch, MXNet). MXNet's ``detach`` returns a new array, so
    the book's ``for s in state: s.detach()`` cuts nothing there: the cut state must be the one used."""
    if isinstance(state, (tuple, list)):
        return type(state)(s.detach() for s in state)
    return state.detach()


def predict_from(prefix, num_preds: int, vocab, begin_state: Callable, call: Callable) -> str:
    """``predict_ch8``'s loop (``d2lx.rnn.predict_greedily``) for a net whose state starts as ``begin_state()``
    (a batch of one) and where ``call(index, state)`` feeds it the token ``index``, returning ``(scores,
    new state)``."""

    def step(index, state, scores):
        return call(index, begin_state() if state is None else state)

    return predict_greedily(prefix, num_preds, vocab, step)


def _epoch_bar(num_epochs: int):
    """A progress bar over the epochs where one is wanted (``_progress_wanted``), else None."""
    if not _progress_wanted(None):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=num_epochs, unit="epoch")


@contextlib.contextmanager
def _epoch_progress(num_epochs: int, ylabel: str, legend: Sequence[str] | None = None):
    """The drawing of the 2.0 edition's epoch loops (``train_ch8``, ``train_seq2seq``): yields ``(every, show)``;
    ``show(epoch, value, **postfix)`` draws ``value`` on an ``Animator`` every ``every`` epochs (10, as the
    book; every epoch in a run of fewer, where the book would draw nothing) and moves the progress bar on,
    which is closed, and the drawing flushed, however the loop ends."""
    every = 10 if num_epochs >= 10 else 1
    animator = Animator(
        xlabel="epoch", ylabel=ylabel, legend=legend, xlim=[every, num_epochs] if num_epochs > every else None
    )
    bar = _epoch_bar(num_epochs)

    def show(epoch: int, value: float, **postfix) -> None:
        if (epoch + 1) % every == 0:
            animator.add(epoch + 1, [value])
        if bar is not None:
            bar.set_postfix(**postfix)
            bar.update(1)

    try:
        yield every, show
    finally:
        animator.flush()
        if bar is not None:
            bar.close()


def train_epochs_ch8(num_epochs: int, train_epoch: Callable, predict: Callable, device_name: str) -> float:
    """The loop of ``train_ch8``: ``num_epochs`` times ``train_epoch()`` (which returns the perplexity and the
    speed), drawn on an ``Animator``; returns the last perplexity.

    As in the book: every 10 epochs ``predict('time traveller')`` is printed and the perplexity drawn,
    and at the end the book's lines, ``perplexity ..., ... tokens/sec on <device_name>`` and the
    predictions after ``'time traveller'`` and ``'traveller'``. A run shorter than 10 epochs draws every
    epoch (the book would draw nothing). A perplexity that is not finite stops with
    ``TrainingDivergedError``.
    """
    with _epoch_progress(num_epochs, "perplexity", ["train"]) as (every, show):
        for epoch in range(num_epochs):
            ppl, speed = train_epoch()
            if not math.isfinite(ppl):
                raise TrainingDivergedError(
                    f"perplexity became {ppl} in epoch {epoch + 1}/{num_epochs}: lower the learning rate"
                )
            if (epoch + 1) % every == 0 and every == 10:
                print(predict("time traveller"))
            show(epoch, ppl, ppl=f"{ppl:.1f}")
    print(f"perplexity {ppl:.1f}, {speed:.1f} tokens/sec on {device_name}")
    print(predict("time traveller"))
    print(predict("traveller"))
    return ppl


# --- chapter 9 (the 2.0 edition's section 9.7): sequence to sequence ----------------------------
def check_seq2seq_vocab(tgt_vocab) -> tuple[int, int]:
    """``(index of '<bos>', index of '<eos>')`` in ``tgt_vocab``, after checking it is a ``Vocab`` that has
    both (as ``load_data_nmt``'s vocabularies do): the same message on every backend."""
    from d2lx.text import Vocab

    if not isinstance(tgt_vocab, Vocab):
        raise TypeError(f"tgt_vocab must be a d2l.Vocab, as load_data_nmt returns, got {checks._describe(tgt_vocab)}")
    missing = [t for t in ("<bos>", "<eos>") if t not in tgt_vocab.token_to_idx]
    if missing:
        raise ValueError(
            f"tgt_vocab must hold the tokens '<bos>' and '<eos>', as load_data_nmt's does; it lacks {missing}"
        )
    return tgt_vocab["<bos>"], tgt_vocab["<eos>"]


def decoder_scores(outputs):
    """The scores of an encoder-decoder's output: the 2.0 edition's ``EncoderDecoder`` returns the decoder's
    ``(scores, state)``, the 1.0 edition's (d2lx's ``d2l.EncoderDecoder``) the scores alone; both train."""
    return outputs[0] if isinstance(outputs, (tuple, list)) else outputs


def train_seq2seq_epochs(num_epochs: int, data_iter: Iterable, step: Callable, device_name: str) -> float:
    """The loop of ``train_seq2seq``: ``num_epochs`` passes over ``data_iter`` (under the environment's training
    budget, see ``budgeted_ch8``), ``step(batch)`` training on one batch ``(X, X_valid_len, Y, Y_valid_len)``
    and returning ``(summed loss, number of tokens)``. The loss per token is drawn every 10 epochs (every
    epoch in a run of fewer) and printed at the end with the speed of the last epoch, as in the book;
    returns that loss. A loss that is not finite stops with ``TrainingDivergedError``."""
    data_iter, num_epochs = budgeted_ch8(data_iter, num_epochs)
    with _epoch_progress(num_epochs, "loss") as (_, show):
        for epoch in range(num_epochs):
            timer, metric = Timer(), Accumulator(2)  # summed loss, tokens
            for batch in data_iter:
                l, num_tokens = step(batch)
                metric.add(_number(l), _number(num_tokens))
            if not metric[1]:
                raise _no_examples("data_iter")
            loss = metric[0] / metric[1]
            if not math.isfinite(loss):
                raise TrainingDivergedError(f"the loss became {loss} in epoch {epoch + 1}/{num_epochs}: lower lr")
            show(epoch, loss, loss=f"{loss:.3f}")
    print(f"loss {loss:.3f}, {metric[1] / timer.stop():.1f} tokens/sec on {device_name}")
    return loss


def source_tokens(src_sentence, src_vocab, num_steps) -> tuple[list[int], int]:
    """``predict_seq2seq``'s source: the indices of ``src_sentence``'s words (lower-cased, split at spaces, as
    in the book; an unknown word is ``'<unk>'``) and ``'<eos>'``, cut or padded to ``num_steps``, and the
    number of them before the padding. An empty sentence is refused: the book would translate ``['']``,
    one unknown word, which is never what was meant."""
    from d2lx.text import Vocab, truncate_pad

    num_steps = checks.positive_int("num_steps", num_steps)
    if not isinstance(src_vocab, Vocab):
        raise TypeError(f"src_vocab must be a d2l.Vocab, as load_data_nmt returns, got {checks._describe(src_vocab)}")
    if not isinstance(src_sentence, str):
        raise TypeError(f"src_sentence must be a str such as 'go .', got {checks._describe(src_sentence)}")
    if not src_sentence.strip():
        raise ValueError(f"src_sentence must hold at least one word, such as 'go .', got {src_sentence!r}")
    tokens = src_vocab[src_sentence.lower().split(" ")] + [src_vocab["<eos>"]]
    return truncate_pad(tokens, num_steps, src_vocab["<pad>"]), len(tokens)


def greedy_translation(
    step: Callable[[int], int], tgt_vocab, num_steps: int, attention: Callable[[], Any] | None = None
) -> tuple[str, list]:
    """``predict_seq2seq``'s loop: from ``'<bos>'``, ``step(token)`` feeds the decoder one token (its state
    kept by the caller) and returns the most likely next one, at most ``num_steps`` times, stopping at
    ``'<eos>'``. ``attention()``, if given, is read after every step (the book's
    ``save_attention_weights``). Returns ``(the tokens joined by spaces, the attention weights)``."""
    bos, eos = check_seq2seq_vocab(tgt_vocab)
    output_seq, attention_weight_seq, token = [], [], bos
    for _ in range(num_steps):
        token = int(step(token))
        if attention is not None:
            attention_weight_seq.append(attention())
        if token == eos:
            break
        output_seq.append(token)
    return " ".join(tgt_vocab.to_tokens(output_seq)), attention_weight_seq


def make_train_ch8(start: Callable, train_epoch_ch8: Callable, predict_ch8: Callable) -> Callable:
    """The 2.0 edition's ``train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False)``
    for a framework whose ``train_epoch_ch8`` and ``predict_ch8`` take the book's ``device`` (PyTorch, MXNet).

    ``start(net, lr, device)`` is all the framework decides: it returns ``(loss, updater)``, the updater
    being the framework's optimizer for a framework model and the book's scratch ``sgd`` for a model
    with ``params``.
    """

    def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False):
        """Train ``net`` (an ``RNNModel``, or a scratch model with ``params``) with SGD at learning rate ``lr``
        on the cross-entropy, printing predictions and, at the end, the perplexity and the speed. The
        environment's training budget applies (``budgeted_ch8``). On MXNet a Gluon ``net`` is first
        initialised from N(0, 0.01) on ``device``, as the book's MXNet ``train_ch8`` does."""
        num_epochs, lr = check_ch8(num_epochs, lr)
        train_iter, num_epochs = budgeted_ch8(train_iter, num_epochs)
        loss, updater = start(net, lr, device)
        train_epochs_ch8(
            num_epochs,
            lambda: train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter),
            lambda prefix: predict_ch8(prefix, 50, net, vocab, device),
            str(device),
        )

    return train_ch8


__all__ = ["Animator", "accuracy", "get_dataloader_workers", "get_fashion_mnist_labels", "linreg"]
