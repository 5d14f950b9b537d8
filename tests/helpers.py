"""Small helpers shared by the backend tests."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

from d2lx import backends
from d2lx.plotting import to_numpy

TRUE_W = np.array([2.0, -3.4], dtype=np.float32)
TRUE_B = 4.2


def exactly(message: str) -> str:
    """A ``pytest.raises(match=...)`` pattern for the whole message, from its first character: it fails where
    Keras's "Exception encountered when calling ..." frame surrounds d2lx's own sentence on TensorFlow. Notes
    that a framework adds below the message (PEP 678; JAX's, on the frames it hid from the traceback), which
    pytest matches after it, may follow."""
    return "^" + re.escape(message) + r"(\n|\Z)"


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


STAGED = Path(__file__).resolve().parent.parent / "notebooks" / "data"  # where .ci/stage_data.py puts the book's files
_VERIFIED: dict[tuple[str, tuple], bool] = {}


def _holds(folder: Path, files: dict[str, str]) -> bool:
    key = (str(folder), tuple(sorted(files.items())))
    if key not in _VERIFIED:  # hashed once per session
        _VERIFIED[key] = all(
            (folder / name).is_file() and hashlib.sha1((folder / name).read_bytes()).hexdigest() == sha1
            for name, sha1 in files.items()
        )
    return _VERIFIED[key]


def staged_data(monkeypatch, files: dict[str, str], what: str, note: str = "CI's .ci/run does it") -> Path:
    """The folder holding ``files`` (name -> SHA-1) with the right hashes, ``$D2LX_DATA_DIR`` or else the staged
    ``notebooks/data``, made the test's ``D2LX_DATA_DIR``; without them the test fails saying how to stage ``what``."""
    candidates = [Path(os.environ["D2LX_DATA_DIR"])] if os.environ.get("D2LX_DATA_DIR") else []
    candidates.append(STAGED)
    folder = next((c for c in candidates if _holds(c, files)), None)
    if folder is None:
        pytest.fail(
            f"{what} are not staged in {' or '.join(map(str, candidates))}: "
            f"run `python3 .ci/stage_data.py` once ({note})"
        )
    monkeypatch.setenv("D2LX_DATA_DIR", str(folder))
    return folder


BENCH = Path(__file__).resolve().parent.parent / "bench"


def bench_module(name: str):
    """``bench/<name>.py`` loaded by path under its own name (``bench``, ``handwritten``), as the benchmark's
    children import it; ``unload_bench_modules`` removes it again."""
    import importlib.util
    import sys

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # bench.py imports handwritten by name, as its children do
    spec.loader.exec_module(module)
    return module


def unload_bench_modules() -> None:
    """Leave no trace of ``bench_module``'s modules for other test files."""
    import sys

    for name in ("bench", "handwritten"):
        sys.modules.pop(name, None)
