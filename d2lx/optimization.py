"""Chapter 12 of the 1.0 edition (11 of the 2.0 edition), Optimization Algorithms, written once.

What does not depend on the framework is here: the two-variable toy problems (``train_2d``,
``show_trace_2d``, ``annotate``), the airfoil data (read through the hub, whitened, cut to the first
``n`` rows: ``make_get_data_ch11``), and the bookkeeping of the chapter's two training loops
(``fit_ch11``: the budget of the environment, the ``Animator`` fed every 200 examples, the timer, the
printed line and the returned ``(times, losses)``). Each backend's ``optimization.py`` says only how
one minibatch is differentiated and handed to the optimizer: ``trainer_fn([w, b], states,
hyperparams)`` after ``backward()`` (PyTorch, MXNet), ``trainer_fn(params, grads, states,
hyperparams)`` (TensorFlow, and JAX, where it returns ``(params, states)``), or the framework's own
optimizer in ``train_concise_ch11``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from d2lx import checks, hub
from d2lx.functional import Animator, budgeted
from d2lx.module import TrainingDivergedError
from d2lx.plotting import set_figsize, to_numpy
from d2lx.utils import Timer

AIRFOIL = "airfoil"  # the DATA_HUB key of NASA's airfoil self-noise data (section 12.5)
EVERY = 200  # the book plots the loss on all the data after every 200 training examples


# --- two-variable toy problems (sections 12.1-12.3) ------------------------------------------------
def _scalar(value) -> float:
    """A number, or a tensor holding one (the book's noisy SGD makes ``x1`` a tensor of shape (1,), which
    ``float`` refuses on TensorFlow with NumPy 2: "only 0-dimensional arrays can be converted")."""
    return float(np.asarray(to_numpy(value)).reshape(()))


def annotate(text: str, xy, xytext) -> None:
    """Label the point ``xy`` of the current axes with ``text`` written at ``xytext``, with an arrow."""
    from matplotlib import pyplot as plt

    plt.gca().annotate(text, xy=xy, xytext=xytext, arrowprops=dict(arrowstyle="->"))


def train_2d(trainer: Callable, steps: int = 20, f_grad: Callable | None = None) -> list[tuple]:
    """Run ``trainer`` for ``steps`` steps from ``(x1, x2) = (-5, -2)`` with states ``s1 = s2 = 0``.

    ``trainer(x1, x2, s1, s2)`` (or ``trainer(x1, x2, s1, s2, f_grad)`` when ``f_grad`` is given) returns
    the next ``(x1, x2, s1, s2)``; the states are what momentum, Adagrad and RMSProp carry between steps.
    Prints the last point, as the book does, and returns every point, the start included.
    """
    if not callable(trainer):
        raise TypeError(f"trainer must be a function (x1, x2, s1, s2) -> (x1, x2, s1, s2), got {trainer!r}")
    steps = checks.positive_int("steps", steps)
    if f_grad is not None and not callable(f_grad):
        raise TypeError(f"f_grad must be a function (x1, x2) -> (g1, g2) or None, got {f_grad!r}")
    x1, x2, s1, s2 = -5, -2, 0, 0
    results = [(x1, x2)]
    for _ in range(steps):
        args = (x1, x2, s1, s2) if f_grad is None else (x1, x2, s1, s2, f_grad)
        x1, x2, s1, s2 = trainer(*args)
        results.append((x1, x2))
    print(f"epoch {steps}, x1: {_scalar(x1):f}, x2: {_scalar(x2):f}")
    return results


def show_trace_2d(f: Callable, results: list[tuple]) -> None:
    """Draw the points ``results`` of ``train_2d`` over the contour lines of ``f(x1, x2)``.

    ``f`` is evaluated on a numpy grid over [-5.5, 1] x [-3, 1], so it should use arithmetic (``x1 ** 2``)
    or numpy functions, as the book's objectives do.
    """
    from matplotlib import pyplot as plt

    points = [(_scalar(a), _scalar(b)) for a, b in results]
    set_figsize()
    plt.plot(*zip(*points), "-o", color="#ff7f0e")
    x1, x2 = np.meshgrid(np.arange(-5.5, 1.0, 0.1), np.arange(-3.0, 1.0, 0.1))
    plt.contour(x1, x2, np.asarray(f(x1, x2)), colors="#1f77b4")
    plt.xlabel("x1")
    plt.ylabel("x2")


# --- the airfoil data (section 12.5) ------------------------------------------------------------
def airfoil(n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` rows of the airfoil data, every column whitened over the whole file (mean 0,
    variance 1), as float32 ``(features, labels)``: five features and the sound pressure level."""
    n = checks.positive_int("n", n)
    data = np.genfromtxt(hub.download(AIRFOIL), dtype=np.float32, delimiter="\t")
    if n > data.shape[0]:
        raise ValueError(f"n must be at most {data.shape[0]}, the rows of the airfoil data, got {n}")
    data = (data - data.mean(axis=0)) / data.std(axis=0)
    return data[:n, :-1], data[:n, -1]


def make_get_data_ch11(DataModule: type, load_array: Callable) -> Callable:
    """The book's ``get_data_ch11`` for a backend: its ``DataModule`` makes the tensors, its ``load_array``
    the shuffled loader."""

    def get_data_ch11(batch_size: int = 10, n: int = 1500):
        """A shuffled loader of ``batch_size`` rows over the first ``n`` airfoil examples, and the
        number of features (5)."""
        checks.positive_int("batch_size", batch_size)
        features, labels = airfoil(n)
        module = DataModule()
        data_iter = load_array((module._from_numpy(features), module._from_numpy(labels)), batch_size, is_train=True)
        return data_iter, features.shape[1]

    return get_data_ch11


def num_features(data_iter: Iterable) -> int:
    """The number of features of the examples of ``data_iter`` (for the concise loop's linear layer)."""
    arrays = getattr(data_iter, "arrays", None)
    X = arrays[0] if arrays else next(iter(data_iter))[0]
    if len(X.shape) != 2:
        raise ValueError(f"data_iter must give features of shape (batch_size, num_features), got {tuple(X.shape)}")
    return int(X.shape[1])


# --- the training loops (section 12.5 on) --------------------------------------------------------
def check_ch11(trainer_fn: Any, hyperparams: Any, what: str, accepts: Callable[[Any], bool] = callable) -> dict:
    """The arguments every backend's ``train_ch11``/``train_concise_ch11`` checks alike: ``trainer_fn`` is
    ``what`` (``accepts`` says whether it is), ``hyperparams`` a dict whose learning rate, if it has one, is
    a positive number or a schedule."""
    if not accepts(trainer_fn):
        raise TypeError(f"trainer_fn must be {what}, got {checks._describe(trainer_fn)}")
    if not isinstance(hyperparams, dict):
        raise TypeError(f"hyperparams must be a dict such as {{'lr': 0.05}}, got {checks._describe(hyperparams)}")
    for name in ("lr", "learning_rate"):
        if name in hyperparams and not callable(hyperparams[name]):  # a schedule is a function of the step
            checks.positive_number(f"hyperparams[{name!r}]", hyperparams[name])
    return hyperparams


def _whole(data_iter: Iterable) -> Iterable:
    """All the examples of ``data_iter`` as one batch where the loader holds them as tensors (d2lx's loaders
    do), else ``data_iter`` itself: the mean loss over the data is the same, computed in one call instead
    of one per minibatch (which made the book's evaluation slower than its training)."""
    arrays = getattr(data_iter, "arrays", None)
    return [tuple(arrays)] if isinstance(arrays, tuple) and len(arrays) == 2 else data_iter


def fit_ch11(
    step: Callable[[Any, Any], None],
    evaluate: Callable[[Any], float],
    data_iter: Iterable,
    num_epochs: int,
) -> tuple[list[float], list[float]]:
    """The loop of ``train_ch11`` and ``train_concise_ch11``: ``step(X, y)`` trains on each minibatch of
    ``data_iter`` for ``num_epochs`` epochs; after every 200 examples, ``evaluate(batches)`` (the mean loss
    on all the data, given as one batch where the loader holds it) is drawn against the epoch, and the time
    spent training is measured.

    Prints ``loss: ..., ... sec/epoch`` and returns the cumulative training times at each drawn point and
    the losses drawn, as the book's ``train_ch11`` does. Under ``D2LX_LIMIT_TRAIN_BATCHES`` or
    ``D2LX_FAST_DEV_RUN`` the epochs are cut as in every d2lx loop; when no point fell on a multiple of 200
    examples the last one is drawn, so a short run still reports its loss. A loss that is not finite
    stops with ``TrainingDivergedError``.
    """
    data_iter, _, num_epochs = budgeted(data_iter, (), num_epochs)
    num_batches = len(data_iter) if hasattr(data_iter, "__len__") else None
    whole = _whole(data_iter)
    animator = Animator(xlabel="epoch", ylabel="loss", xlim=[0, num_epochs], ylim=[0.22, 0.35])
    examples, batches, timer = 0, 0, Timer()

    def draw() -> None:
        timer.stop()
        loss = evaluate(whole)
        if not math.isfinite(loss):
            raise TrainingDivergedError(
                f"the loss became {loss} after {examples} examples: lower the learning rate in hyperparams"
            )
        animator.add(batches / num_batches if num_batches else examples, (loss,))
        timer.start()

    try:
        for _ in range(num_epochs):
            for X, y in data_iter:
                step(X, y)
                examples += int(X.shape[0])
                batches += 1
                if examples % EVERY == 0:
                    draw()
        if not animator.Y or not animator.Y[0]:
            draw()
    finally:
        animator.flush()
    print(f"loss: {animator.Y[0][-1]:.3f}, {timer.sum() / num_epochs:.3f} sec/epoch")
    return timer.cumsum(), animator.Y[0]
