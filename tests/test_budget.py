"""The training budget (``limit_train_batches``, ``limit_val_batches``, ``fast_dev_run``,
``overfit_batches`` and their environment variables), on every backend: what runs, what the
counters, bar and board say."""

from __future__ import annotations

import pytest


def _fit(d2l, **trainer_args):
    # 1000 training and 1000 validation rows in batches of 32: 32 batches each per epoch
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2.0, -3.4]), b=4.2)
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    trainer = d2l.Trainer(**{"max_epochs": 2, **trainer_args})
    trainer.fit(model, data)
    return trainer, model


@pytest.fixture(autouse=True)
def _no_budget_from_outside(no_budget):
    """Every test here sets its own budget (conftest's ``no_budget``)."""


def test_limit_train_batches_as_a_count(backend):
    trainer, model = _fit(backend, limit_train_batches=5)
    assert (trainer.num_train_batches, trainer.train_batch_idx) == (5, 10)
    assert (trainer.num_val_batches, trainer.val_batch_idx) == (32, 64)
    # the board's x-axis counts epochs of the limited size: the last points reach epoch 2 (counted in
    # full epochs, 10 of 32 batches would end near 0.3)
    assert 1.5 < model.board.data["train_loss"][-1].x <= 2.0


def test_limit_as_a_fraction_and_no_validation(backend):
    trainer, model = _fit(backend, limit_train_batches=0.25, limit_val_batches=0)
    assert (trainer.num_train_batches, trainer.train_batch_idx) == (8, 16)
    assert (trainer.num_val_batches, trainer.val_batch_idx) == (0, 0)
    assert "val_loss" not in model.board.data


def test_fast_dev_run_is_one_epoch_of_one_batch(backend):
    trainer, _ = _fit(backend, max_epochs=10, fast_dev_run=True)
    assert (trainer.max_epochs, trainer.train_batch_idx, trainer.val_batch_idx) == (1, 1, 1)
    trainer, _ = _fit(backend, max_epochs=10, fast_dev_run=3)
    assert (trainer.max_epochs, trainer.train_batch_idx, trainer.val_batch_idx) == (1, 3, 3)


def test_environment_sets_the_budget_and_an_argument_wins(backend, monkeypatch):
    monkeypatch.setenv("D2LX_LIMIT_TRAIN_BATCHES", "3")
    monkeypatch.setenv("D2LX_LIMIT_VAL_BATCHES", "0.5")
    trainer, _ = _fit(backend)
    assert (trainer.train_batch_idx, trainer.val_batch_idx) == (6, 32)
    trainer, _ = _fit(backend, limit_train_batches=4)
    assert trainer.train_batch_idx == 8
    monkeypatch.setenv("D2LX_FAST_DEV_RUN", "true")
    trainer, _ = _fit(backend)
    assert (trainer.max_epochs, trainer.train_batch_idx, trainer.val_batch_idx) == (1, 1, 1)


def test_overfit_batches_trains_and_validates_on_the_same_first_batches(backend, monkeypatch):
    trainer, model = _fit(backend, max_epochs=3, overfit_batches=2)
    assert (trainer.num_train_batches, trainer.num_val_batches) == (2, 2)
    assert (trainer.train_batch_idx, trainer.val_batch_idx) == (6, 6)
    first, again = list(trainer.train_dataloader), list(trainer.train_dataloader)
    assert len(first) == 2 and all(a[0] is b[0] for a, b in zip(first, again))  # drawn once, not reshuffled
    assert list(trainer.val_dataloader) == first
    monkeypatch.setenv("D2LX_OVERFIT_BATCHES", "0.25")  # a fraction of the 32 training batches
    trainer, _ = _fit(backend)
    assert (trainer.num_train_batches, trainer.num_val_batches) == (8, 8)


def test_progress_bar_counts_the_limited_epochs(backend, capsys):
    _fit(backend, limit_train_batches=5, progress_bar=True)
    assert "10/10" in capsys.readouterr().err


def test_a_limit_larger_than_the_epoch_changes_nothing(backend):
    trainer, _ = _fit(backend, limit_train_batches=1000, limit_val_batches=1.0)
    assert (trainer.num_train_batches, trainer.num_val_batches) == (32, 32)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"limit_train_batches": -1}, ValueError, "limit_train_batches must be a non-negative int, got -1"),
        ({"limit_val_batches": 1.5}, ValueError,
         "limit_val_batches must be an int (batches) or a float in [0, 1] (a fraction), got 1.5"),
        ({"limit_train_batches": True}, TypeError,
         "limit_train_batches must be an int (batches) or a float in [0, 1] (a fraction), got True (bool)"),
        ({"fast_dev_run": -2}, ValueError, "fast_dev_run must be a bool or a non-negative int (batches), got -2"),
        ({"fast_dev_run": 0.5}, TypeError,
         "fast_dev_run must be a bool or a non-negative int (batches), got 0.5"),
        ({"overfit_batches": 2.5}, ValueError,
         "overfit_batches must be an int (batches) or a float in [0, 1] (a fraction), got 2.5"),
    ],
)  # fmt: skip
def test_bad_budgets_are_named(backend, arguments, error, message):
    with pytest.raises(error) as info:
        backend.Trainer(max_epochs=1, **arguments)
    assert str(info.value) == message


def test_a_bad_environment_variable_is_named(backend, monkeypatch):
    monkeypatch.setenv("D2LX_LIMIT_TRAIN_BATCHES", "a few")
    with pytest.raises(ValueError) as info:
        backend.Trainer(max_epochs=1)
    assert str(info.value) == (
        "D2LX_LIMIT_TRAIN_BATCHES must be a non-negative int (batches) or a float in [0, 1] (a fraction), got 'a few'"
    )


_LIMIT = "a non-negative int (batches) or a float in [0, 1] (a fraction)"
_RUN = "a non-negative int (batches) or a bool (true/false, yes/no, on/off)"


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("D2LX_LIMIT_TRAIN_BATCHES", "-2", f"D2LX_LIMIT_TRAIN_BATCHES must be {_LIMIT}, got '-2'"),
        ("D2LX_LIMIT_VAL_BATCHES", "1.5", f"D2LX_LIMIT_VAL_BATCHES must be {_LIMIT}, got '1.5'"),
        ("D2LX_LIMIT_VAL_BATCHES", "nan", f"D2LX_LIMIT_VAL_BATCHES must be {_LIMIT}, got 'nan'"),
        ("D2LX_OVERFIT_BATCHES", "-0.5", f"D2LX_OVERFIT_BATCHES must be {_LIMIT}, got '-0.5'"),
        ("D2LX_FAST_DEV_RUN", "0.5", f"D2LX_FAST_DEV_RUN must be {_RUN}, got '0.5'"),
        ("D2LX_FAST_DEV_RUN", "-1", f"D2LX_FAST_DEV_RUN must be {_RUN}, got '-1'"),
        ("D2LX_FAST_DEV_RUN", "maybe", f"D2LX_FAST_DEV_RUN must be {_RUN}, got 'maybe'"),
    ],
)
def test_a_bad_budget_variable_is_named_by_the_variable_not_the_argument(backend, monkeypatch, variable, text, message):
    """The learner set the variable, so the message names it (and promises only what it takes)."""
    monkeypatch.setenv(variable, text)
    with pytest.raises(ValueError) as info:
        backend.Trainer(max_epochs=1)
    assert str(info.value) == message


def test_fast_dev_run_false_wins_over_the_environment(backend, monkeypatch):
    """An argument given wins over its variable, ``False`` and ``0`` too: the default is "not given" (None)."""
    monkeypatch.setenv("D2LX_FAST_DEV_RUN", "1")
    for off in (False, 0):
        trainer, _ = _fit(backend, fast_dev_run=off)
        assert (trainer.fast_dev_run, trainer.max_epochs, trainer.train_batch_idx, trainer.val_batch_idx) == (
            0, 2, 64, 64)  # fmt: skip
    monkeypatch.setenv("D2LX_LIMIT_TRAIN_BATCHES", "3")
    monkeypatch.setenv("D2LX_OVERFIT_BATCHES", "2")
    trainer, _ = _fit(backend, fast_dev_run=False, limit_train_batches=1.0, overfit_batches=0)
    assert (trainer.num_train_batches, trainer.num_val_batches) == (32, 32)  # each argument won
    trainer, _ = _fit(backend)  # nothing given: the environment's one batch
    assert (trainer.fast_dev_run, trainer.max_epochs, trainer.train_batch_idx) == (1, 1, 1)


def test_fast_dev_run_overrides_the_limits_as_in_lightning(backend, monkeypatch):
    trainer, _ = _fit(backend, max_epochs=5, fast_dev_run=2, limit_train_batches=10, limit_val_batches=0.5)
    assert (trainer.max_epochs, trainer.train_batch_idx, trainer.val_batch_idx) == (1, 2, 2)
    monkeypatch.setenv("D2LX_LIMIT_TRAIN_BATCHES", "7")
    trainer, _ = _fit(backend, fast_dev_run=3)
    assert (trainer.max_epochs, trainer.train_batch_idx, trainer.val_batch_idx) == (1, 3, 3)


def test_max_batch_size_caps_every_loader_and_leaves_the_data_modules_batch_size(backend, monkeypatch):
    """``D2LX_MAX_BATCH_SIZE``: the notebooks' smoke runs of chapter 8 serve 16 images a batch, not 128."""
    monkeypatch.setenv("D2LX_MAX_BATCH_SIZE", "16")
    data = backend.FashionMNIST(batch_size=128, resize=(32, 32))
    X, y = next(iter(data.train_dataloader()))
    assert data.batch_size == 128
    assert tuple(X.shape)[0] == 16 and tuple(y.shape) == (16,)
    assert len(data.val_dataloader()) == 10000 // 16
    regression = backend.SyntheticRegressionData(w=backend.tensor([2.0, -3.4]), b=4.2, batch_size=8)
    assert len(regression.train_dataloader()) == 1000 // 8  # below the cap: unchanged
    trainer, _ = _fit(backend, max_epochs=1)
    assert trainer.num_train_batches == 1000 // 16 + 1  # batch_size 32 capped to 16: 63 batches
    for bad in ("0", "sixteen", "-2", "0.5"):
        monkeypatch.setenv("D2LX_MAX_BATCH_SIZE", bad)
        with pytest.raises(ValueError) as info:
            data.train_dataloader()
        assert str(info.value) == f"D2LX_MAX_BATCH_SIZE must be an int >= 1 (examples per batch), got {bad!r}"
