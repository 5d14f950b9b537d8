"""Small helpers shared by the backend tests."""

from __future__ import annotations

import re

import numpy as np

from d2lx import backends
from d2lx.plotting import to_numpy

TRUE_W = np.array([2.0, -3.4], dtype=np.float32)
TRUE_B = 4.2


def w_b_errors(model) -> np.ndarray:
    """Absolute errors of the recovered ``w`` (two values) and ``b`` (one value)."""
    w, b = (to_numpy(t).reshape(-1) for t in model.get_w_b())
    return np.abs(np.concatenate([TRUE_W - w, [TRUE_B - b[0]]]))


def final_val_accuracy(model) -> float:
    return model.board.data["val_acc"][-1].y


def backend_name(d2l) -> str:
    """The registry's name for ``d2l``, an imported ``d2lx.<name>`` module."""
    return backends.get(d2l.__name__.rsplit(".", 1)[-1]).name


CHANNELS_LAST = {"jax", "tensorflow"}  # the book's JAX and TensorFlow code keeps images (n, h, w, c)


def layout(d2l, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A channels-first shape in the backend's own layout."""
    if backend_name(d2l) in CHANNELS_LAST and len(shape) == 4:
        n, c, h, w = shape
        return (n, h, w, c)
    return shape


def layer_summary_shapes(d2l, model, shape, capsys) -> list[tuple[int, ...]]:
    """The output shapes ``model.layer_summary(shape)`` prints, each run of equal shapes once."""
    if backend_name(d2l) == "jax":
        model.layer_summary(shape, key=d2l.get_key())
    else:
        model.layer_summary(shape)
    lines = [line for line in capsys.readouterr().out.splitlines() if "output shape" in line]
    shapes = [tuple(int(v) for v in re.findall(r"\d+", line.split("output shape")[1])) for line in lines]
    return [s for i, s in enumerate(shapes) if i == 0 or s != shapes[i - 1]]


def per_backend(*classes: type) -> dict[str, type]:
    """``{backend: class}`` in the registry's order, for classes that name their backend (``backend = "jax"``).

    The tests' per-framework classes (``adapters.py``, ``functional_recipes.py``) are looked up here by the
    registry's names; a class naming an unknown backend fails at once, and ``test_registry`` reports a
    backend left without one.
    """
    table = {backends.get(cls.backend).name: cls for cls in classes}
    return {name: table[name] for name in backends.names() if name in table}


def small_classification(d2l, num_train: int = 128, num_val: int = 64, batch_size: int = 64, scale: float = 1.0):
    """A few hundred 3x4 "images" in 10 classes, as a ``d2l.DataModule`` (fixed numbers, not seeded)."""
    rng = np.random.default_rng(42)
    n = num_train + num_val
    X = (scale * rng.standard_normal((n, 3, 4))).astype(np.float32)
    y = (X.reshape(n, -1) @ rng.standard_normal((12, 10))).argmax(axis=1).astype(np.int64)

    return own_data(d2l, X, y, num_train, batch_size)


def own_data(d2l, X: np.ndarray, y: np.ndarray, num_train: int, batch_size: int):
    """A learner's own ``d2l.DataModule`` over ``X`` and ``y``: the first ``num_train`` rows train, the rest
    validate (not one of d2lx's data modules, so nothing is vouched for in advance)."""

    class OwnData(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.num_train, self.batch_size = num_train, batch_size
            self.X, self.y = d2l.tensor(X), d2l.tensor(y)

        def get_dataloader(self, train):
            rows = slice(0, self.num_train) if train else slice(self.num_train, None)
            return self.get_tensorloader((self.X, self.y), train, rows)

    return OwnData()
