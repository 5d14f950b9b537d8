"""The Kaggle house-price chapter on every backend, on the book's real files, offline.

The two CSV files are staged by ``python3 .ci/stage_data.py`` (CI's ``.ci/run``
does it) into ``notebooks/data``, or read from ``$D2LX_DATA_DIR``. Without them
the real-data tests fail, saying how to stage them: they are never skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from helpers import staged_data

from d2lx import kaggle_house, pandas_compat
from d2lx.plotting import to_numpy


@pytest.fixture
def staged(monkeypatch) -> Path:
    """The folder holding both files with the right SHA-1; the loader reads it through ``D2LX_DATA_DIR``."""
    files = dict((kaggle_house.TRAIN_FILE, kaggle_house.TEST_FILE))
    note = "it imports them from ../shared/data/d2l-hub, else downloads them; CI's .ci/run does it"
    folder = staged_data(monkeypatch, files, "the book's Kaggle house-price files", note)
    monkeypatch.setattr(kaggle_house, "DATA_URL", "http://127.0.0.1:9/")  # never the internet, whatever happens
    return folder


@pytest.fixture
def data(backend, staged):
    house = backend.KaggleHouse(batch_size=64)
    house.preprocess()
    return house


def test_preprocess_gives_the_books_shapes(backend, staged):
    house = backend.KaggleHouse(batch_size=64)
    assert house.raw_train.shape == (1460, 81) and house.raw_val.shape == (1459, 80)
    house.preprocess()
    assert house.train.shape == (1460, 331) and house.val.shape == (1459, 330)
    assert house.train.columns[-1] == "SalePrice" and "SalePrice" not in house.val
    X, y = next(iter(house.train_dataloader()))
    assert tuple(X.shape) == (64, 330) and tuple(y.shape) == (64, 1)
    assert to_numpy(X).dtype == np.float32 and to_numpy(y).dtype == np.float32  # str(tf.float32) is "<dtype: ...>"
    assert 10 < float(to_numpy(y).min()) and float(to_numpy(y).max()) < 14  # log prices
    assert house.val_dataloader() is None  # the competition's test set has no prices, as in the book


def test_the_books_preprocessing_cell_runs_on_this_pandas(backend, staged):
    """The book's own selection of numeric columns, ``dtypes != 'object'``, holds after importing a backend."""
    import pandas as pd

    house = backend.KaggleHouse(batch_size=64)
    label = "SalePrice"
    features = pd.concat((house.raw_train.drop(columns=["Id", label]), house.raw_val.drop(columns=["Id"])))
    numeric_features = features.dtypes[features.dtypes != "object"].index
    features[numeric_features] = features[numeric_features].apply(lambda x: (x - x.mean()) / (x.std()))
    features[numeric_features] = features[numeric_features].fillna(0)
    features = pd.get_dummies(features, dummy_na=True)
    assert features.shape == (2919, 330)
    house.preprocess()
    np.testing.assert_allclose(
        features[: house.raw_train.shape[0]].to_numpy(dtype=float),
        house.train.drop(columns=[label]).to_numpy(dtype=float),
    )


def test_k_fold_reaches_the_books_error_and_writes_a_submission(backend, data, capsys, tmp_path):
    import pandas as pd

    trainer = backend.Trainer(max_epochs=10)
    models = backend.k_fold(trainer, data, k=5, lr=0.01)
    printed = capsys.readouterr().out
    match = re.search(r"average validation log mse = ([0-9.eE+-]+)", printed)
    assert match, printed
    assert float(match.group(1)) < 0.25  # d2l 1.0.3 on mxnet with pandas 2.0: 0.126
    assert len(models) == 5
    assert models[0].board.yscale == "log" and models[0].board.display
    assert all(not m.board.display for m in models[1:])
    assert all(len(m.board.data["val_loss"]) == 10 for m in models)

    X = data.val.to_numpy(dtype=np.float32)
    preds = [to_numpy(model(backend.tensor(X))).reshape(-1, 1) for model in models]
    prices = np.exp(np.concatenate(preds, axis=1)).mean(axis=1)
    submission = pd.DataFrame({"Id": data.raw_val.Id, "SalePrice": prices})
    submission.to_csv(tmp_path / "submission.csv", index=False)
    written = pd.read_csv(tmp_path / "submission.csv")
    assert list(written.columns) == ["Id", "SalePrice"] and len(written) == 1459
    assert (written.SalePrice > 0).all() and written.Id.tolist() == list(range(1461, 2920))


def test_k_fold_data_splits_like_the_book(backend):
    import pandas as pd

    frame = pd.DataFrame({"a": np.arange(23.0), "SalePrice": np.arange(23.0) + 1})
    house = backend.KaggleHouse(4, train=frame, val=frame.drop(columns=["SalePrice"]))
    folds = backend.k_fold_data(house, 5)
    assert [type(f) for f in folds] == [backend.KaggleHouse] * 5
    for j, fold in enumerate(folds):
        assert fold.val["a"].tolist() == list(range(4 * j, 4 * j + 4))  # blocks of 23 // 5 rows
        assert len(fold.train) == 19 and 22.0 in fold.train["a"].tolist() and fold.batch_size == 4
    X, y = next(iter(folds[0].val_dataloader()))
    np.testing.assert_allclose(to_numpy(y).reshape(-1), np.log([1.0, 2.0, 3.0, 4.0]), rtol=1e-6)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda d2l, h: d2l.KaggleHouse(batch_size=0, train=h.train), ValueError,
         "batch_size must be a positive int, got 0"),
        (lambda d2l, h: d2l.KaggleHouse(8, train=[1, 2]), TypeError,
         "train must be a pandas DataFrame or None, got list"),
        (lambda d2l, h: d2l.k_fold_data(h, 1), ValueError,
         r"k must be an int from 2 to the number of training rows \(10\), got 1"),
        (lambda d2l, h: d2l.k_fold_data(h, 2.5), TypeError, "k must be a positive int, got 2.5"),
        (lambda d2l, h: d2l.k_fold(d2l.Trainer(1), h, 2, lr=0), ValueError, "lr must be a positive number, got 0"),
    ],
)  # fmt: skip
def test_bad_arguments_name_themselves(backend, call, error, message):
    import pandas as pd

    frame = pd.DataFrame({"a": np.arange(10.0), "SalePrice": np.arange(10.0) + 1})
    house = backend.KaggleHouse(8, train=frame, val=frame.drop(columns=["SalePrice"]))
    with pytest.raises(error, match=message):
        call(backend, house)


def test_loader_before_preprocess_says_what_to_do(backend):
    import pandas as pd

    house = backend.KaggleHouse(8, train=pd.DataFrame({"SalePrice": [1.0]}))
    with pytest.raises(RuntimeError, match=r"KaggleHouse has no val set yet: call data.preprocess\(\) first"):
        house.val_dataloader()


def test_pandas_text_columns_are_object_unless_opted_out(monkeypatch):
    import warnings

    import pandas as pd

    def infer_string():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas 3.1 deprecates the option
            try:
                return pd.get_option("future.infer_string")
            except (AttributeError, KeyError):  # pandas 2.0: text columns are always object
                return None

    def set_infer_string(value):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.set_option("future.infer_string", value)

    before = infer_string()
    try:
        if before is not None:
            set_infer_string(True)
        monkeypatch.setenv(pandas_compat.ENV_VAR, "0")
        assert pandas_compat.use_object_strings() is False
        assert infer_string() in (True, None)  # left alone
        monkeypatch.delenv(pandas_compat.ENV_VAR)
        assert pandas_compat.use_object_strings() is (before is not None)
        assert str(pd.DataFrame({"a": ["x"]}).dtypes["a"]) == "object"
    finally:
        if before is not None:
            set_infer_string(before)


def test_importing_a_backend_leaves_pandas_to_the_cell_that_imports_it(backend):
    """pandas costs 0.3-0.4 s to import: the backend no longer imports it, and the option the book's cells
    need is set the moment a cell does (in a fresh interpreter, as a notebook is)."""
    import subprocess
    import sys

    name = backend.__name__.split(".")[-1]
    script = (
        f"import sys; from d2lx import {name} as d2l; "
        "print('pandas' in sys.modules); "
        "import pandas as pd; from d2lx import pandas_compat; "
        "print(pd.read_csv(__import__('io').StringIO('a,b\\n1,x\\n'))['b'].dtype)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    preloaded = name == "tensorflow"  # TensorFlow imports pandas itself: the option is then set at once
    assert out == [str(preloaded), "object"]


def test_the_option_is_set_even_after_a_library_asks_whether_pandas_is_installed(backend):
    """torch asks ``importlib.util.find_spec("pandas")`` without importing it; the real import that follows
    must still switch the option off (CI caught the book's cell failing after exactly that)."""
    import subprocess
    import sys

    name = backend.__name__.split(".")[-1]
    script = (
        f"import importlib.util, io, sys; from d2lx import {name} as d2l; "
        "assert importlib.util.find_spec('pandas') is not None; "
        "assert importlib.util.find_spec('pandas') is not None; "
        "import pandas as pd; "
        "print(pd.read_csv(io.StringIO('a,b\\n1,x\\n'))['b'].dtype); "
        "print(sum(type(f).__name__ == '_AfterImport' and f.name == 'pandas' for f in sys.meta_path))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["object", "0"]
