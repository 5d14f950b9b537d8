"""The Kaggle house-price chapter (1.0 edition, section 5.7), written once for every backend.

``KaggleHouseBase`` reads the book's two CSV files through ``d2lx.hub.download``
(trusted by SHA-1 only), ``preprocess`` standardises the numeric columns and
one-hot encodes the others, and ``get_dataloader`` hands out log prices. A
backend's ``KaggleHouse`` only mixes in its ``DataModule`` (how numpy arrays
become tensors). ``k_fold_data`` and ``k_fold`` follow the book's functions.

pandas is imported when the data is read, not when d2lx is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from d2lx import checks
from d2lx.datamodule import DataModuleBase
from d2lx.hub import DATA_URL, default_data_dir, download

TRAIN_FILE = ("kaggle_house_pred_train.csv", "585e9cc93e70b39160e7921475f9bcd7d31219ce")
TEST_FILE = ("kaggle_house_pred_test.csv", "fa19780a7b011d9b009e8bff8e99922a8ee2eb90")
LABEL = "SalePrice"


def _check_frame(name: str, value):
    if value is not None and not (hasattr(value, "columns") and hasattr(value, "iloc")):
        raise TypeError(f"{name} must be a pandas DataFrame or None, got {type(value).__name__}")
    return value


def read_kaggle_house(folder=None):
    """``(raw_train, raw_val)``: the book's two CSV files as DataFrames (1460 x 81 and 1459 x 80).

    The files are looked for in ``folder`` (default ``$D2LX_DATA_DIR``, else
    ``../data``) and downloaded there if no copy with the right SHA-1 is found.
    """
    import pandas as pd

    return tuple(pd.read_csv(download(DATA_URL + name, folder, sha1)) for name, sha1 in (TRAIN_FILE, TEST_FILE))


def preprocess_frames(raw_train, raw_val, label: str = LABEL):
    """The book's preprocessing: drop ``Id``; standardise numeric columns over both sets and fill their
    gaps with 0; one-hot encode the other columns (missing values get their own column).

    Returns ``(train, val)``: ``train`` keeps ``label`` as its last column, ``val`` has none. Numeric
    columns are chosen by kind, so text columns of pandas 3's ``str`` dtype are encoded, not averaged.
    """
    import pandas as pd

    features = pd.concat((raw_train.drop(columns=["Id", label]), raw_val.drop(columns=["Id"])))
    numeric = features.select_dtypes(include="number").columns
    features[numeric] = ((features[numeric] - features[numeric].mean()) / features[numeric].std()).fillna(0)
    features = pd.get_dummies(features, dummy_na=True)
    n = raw_train.shape[0]
    train = features.iloc[:n].copy()
    train[label] = raw_train[label].to_numpy()
    return train, features.iloc[n:].copy()


class KaggleHouseBase(DataModuleBase):
    """``KaggleHouse(batch_size, train=None, val=None)``: house prices from the Kaggle competition.

    Without ``train``, the raw files are read into ``raw_train`` and
    ``raw_val``; call ``preprocess()`` to fill ``train`` and ``val``. With
    DataFrames given (the folds of ``k_fold_data``), nothing is read.
    ``get_dataloader(train)`` gives ``(X, log(price))`` minibatches, or
    ``None`` for a set without prices (the competition's test set).
    """

    def __init__(self, batch_size: int, train=None, val=None):
        super().__init__()
        checks.positive_int("batch_size", batch_size)
        _check_frame("train", train)
        _check_frame("val", val)
        self.save_hyperparameters()
        if self.train is None:
            # the default folder is passed as None, so that download's messages name D2LX_DATA_DIR
            folder = None if self.root == default_data_dir() else self.root
            self.raw_train, self.raw_val = read_kaggle_house(folder)

    def preprocess(self) -> None:
        """Fill ``train`` (features and ``SalePrice``) and ``val`` (features) from the raw files."""
        if getattr(self, "raw_train", None) is None:
            raise RuntimeError(f"{type(self).__name__}.preprocess needs the raw files: make it without train=")
        self.train, self.val = preprocess_frames(self.raw_train, self.raw_val)

    def get_dataloader(self, train: bool):
        data = self.train if train else self.val
        if data is None:
            which = "train" if train else "val"
            raise RuntimeError(f"{type(self).__name__} has no {which} set yet: call data.preprocess() first")
        if LABEL not in data:
            return None
        X = data.drop(columns=[LABEL]).to_numpy(dtype=np.float32)
        y = np.log(data[LABEL].to_numpy(dtype=np.float32)).reshape((-1, 1))
        return self.get_tensorloader((self._from_numpy(X), self._from_numpy(y)), train)


def k_fold_data(data, k: int) -> list:
    """``k`` copies of ``data``'s class, fold ``j`` validating on the ``j``-th block of ``n // k`` rows of
    ``data.train`` and training on the others (the last ``n % k`` rows always train), as in the book."""
    checks.positive_int("k", k)
    frame = getattr(data, "train", None)
    if frame is None:
        raise RuntimeError(f"k_fold_data needs preprocessed data: call data.preprocess() before k_fold(..., k={k})")
    n = frame.shape[0]
    if not 2 <= k <= n:
        raise ValueError(f"k must be an int from 2 to the number of training rows ({n}), got {k}")
    import pandas as pd

    size = n // k
    folds = []
    for j in range(k):
        val = frame.iloc[j * size : (j + 1) * size]
        rest = pd.concat((frame.iloc[: j * size], frame.iloc[(j + 1) * size :]))
        folds.append(type(data)(data.batch_size, rest, val))
    return folds


def k_fold(trainer, data, k: int, lr: float, *, make_model: Callable, keep: Callable | None = None) -> list:
    """Train ``make_model(lr)`` on each of ``k`` folds with ``trainer``; print the average validation log MSE
    and return the ``k`` models. Only the first fold's board is displayed; its y axis is logarithmic.

    ``keep(model, trainer)`` (by default the model itself) is what is returned per fold: a backend whose
    trained parameters live in the trainer uses it to keep each fold's.
    """
    checks.positive_number("lr", lr)
    losses, models = [], []
    for i, fold in enumerate(k_fold_data(data, k)):
        model = make_model(lr)
        model.board.yscale = "log"
        if i != 0:
            model.board.display = False
        trainer.fit(model, fold)
        losses.append(float(model.board.data["val_loss"][-1].y))
        models.append(model if keep is None else keep(model, trainer))
    print(f"average validation log mse = {sum(losses) / len(losses)}")
    return models


def make_k_fold(model_class: Callable, keep: Callable | None = None) -> Callable:
    """The backend's ``k_fold(trainer, data, k, lr)``, training its ``LinearRegression`` as the book does."""

    def k_fold_for_backend(trainer, data, k: int, lr: float) -> list:
        return k_fold(trainer, data, k, lr, make_model=model_class, keep=keep)

    k_fold_for_backend.__name__ = k_fold_for_backend.__qualname__ = "k_fold"
    k_fold_for_backend.__doc__ = (
        f"K-fold cross-validation as in the book: a ``{model_class.__name__}(lr)`` per fold, trained by ``trainer``; "
        "prints the average validation log MSE and returns the models."
    )
    return k_fold_for_backend
