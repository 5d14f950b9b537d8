"""The backend-free halves of ``DataModule`` and the two datasets of chapters 3 and 4.

A backend's ``DataModule`` adds ``get_tensorloader`` and ``_from_numpy`` (how
numpy arrays become its tensors); everything else (argument checks, drawing the
synthetic data, finding Fashion-MNIST, text labels, pictures) is written here once.
"""

from __future__ import annotations

import numpy as np

from d2lx import checks
from d2lx.data.fashion_mnist import fashion_mnist_arrays, text_labels
from d2lx.data.synthetic import synthetic_regression
from d2lx.hparams import HyperParameters
from d2lx.plotting import show_images, to_numpy


class DataModuleBase(HyperParameters):
    """Data for a ``Trainer``: ``train_dataloader()`` and ``val_dataloader()``.

    ``root`` is where a dataset is looked for first; ``None`` means d2lx's
    default search (see ``d2lx.data.fashion_mnist``). ``num_workers`` is kept
    for the book's signature: d2lx's loaders batch tensors already in memory.
    """

    def __init__(self, root: str | None = None, num_workers: int = 4):
        self.save_hyperparameters()

    def get_dataloader(self, train: bool):
        raise NotImplementedError(f"{type(self).__name__} must define get_dataloader(self, train)")

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)

    def _from_numpy(self, array: np.ndarray):  # pragma: no cover - every backend defines it
        raise NotImplementedError


class SyntheticRegressionDataBase(DataModuleBase):
    """``y = Xw + b + noise`` with ``X ~ N(0, 1)``: ``num_train`` rows to train on, ``num_val`` to validate."""

    def __init__(self, w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32):
        super().__init__()
        checks.positive_int("num_train", num_train)
        checks.non_negative_int("num_val", num_val)
        checks.positive_int("batch_size", batch_size)
        self.save_hyperparameters()
        X, y = synthetic_regression(w, b, noise, num_train + num_val)
        self.X, self.y = self._from_numpy(X), self._from_numpy(y)

    def get_dataloader(self, train: bool):
        rows = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader((self.X, self.y), train, rows)


class WeightDecayDataBase(SyntheticRegressionDataBase):
    """The book's ``Data`` of section 3.7 (weight decay): few examples, many inputs, easy to overfit.

    ``y = 0.05 + sum(0.01 * x_i) + noise`` with ``X ~ N(0, 1)`` of ``num_inputs`` columns and noise
    ``N(0, 0.01)``; drawn, like ``SyntheticRegressionData``, from d2lx's seeded generator, so a
    seeded run has the same rows on every backend.
    """

    def __init__(self, num_train: int, num_val: int, num_inputs: int, batch_size: int):
        checks.positive_int("num_inputs", num_inputs)
        w = np.full(num_inputs, 0.01, dtype=np.float32)
        super().__init__(w, 0.05, noise=0.01, num_train=num_train, num_val=num_val, batch_size=batch_size)
        self.save_hyperparameters()


class FashionMNISTBase(DataModuleBase):
    """The real Fashion-MNIST (60000 training and 10000 validation images), resized once if asked."""

    def __init__(self, batch_size: int = 64, resize: tuple[int, int] = (28, 28)):
        super().__init__()
        checks.positive_int("batch_size", batch_size)
        checks.image_size("resize", resize)
        self.save_hyperparameters()
        train_X, train_y, val_X, val_y = fashion_mnist_arrays(self.root, tuple(resize))
        self.train = self._make_dataset(train_X, train_y)
        self.val = self._make_dataset(val_X, val_y)

    def _make_dataset(self, images: np.ndarray, labels: np.ndarray):  # pragma: no cover - per backend
        raise NotImplementedError

    def text_labels(self, indices) -> list[str]:
        """The class names of numeric labels."""
        return text_labels(indices)

    def visualize(self, batch, nrows: int = 1, ncols: int = 8, labels=()):
        """Show the first ``nrows * ncols`` images of ``batch`` with their class names."""
        X, y = batch
        if not labels:
            labels = self.text_labels(y)
        images = to_numpy(X)
        images = images.reshape(images.shape[0], *self.resize)  # drops the channel axis, wherever it is
        return show_images(images, nrows, ncols, titles=labels)
