"""The d2l surface of every backend: names, book-style patching, errors on bad input, the NaN guard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import TRUE_B, TRUE_W, backend_name

from d2lx import contract, names

# Every top-level name of d2l 1.0.3's d2l/<backend>.py -> [chapter, section]: see its "_about" lines.
D2L_NAMES = json.loads((Path(__file__).parent / "data" / "d2l_1_0_3_names.json").read_text())


def test_backend_exports_every_name_the_table_provides(backend):
    provided = names.provided(backend_name(backend))
    missing = [name for name, topic in provided.items() if topic != names.LAZY and not hasattr(backend, name)]
    assert missing == []
    lazy = [name for name, topic in provided.items() if topic == names.LAZY]
    assert set(lazy) == set(names.LAZY_MODULES) and backend.plt.__name__ == "matplotlib.pyplot"
    assert sorted(backend.__all__) == sorted(n for n in provided if n not in names.LAZY_MODULES)


def test_every_exception_in_the_table_is_a_real_gap_with_a_reason(backend):
    for (name_of_backend, name), reason in names.EXCEPTIONS.items():
        assert reason.strip()
        if name_of_backend == backend_name(backend):
            assert not hasattr(backend, name), f"{name} exists: remove its entry from d2lx.names.EXCEPTIONS"


def test_every_name_of_d2ls_library_in_the_covered_chapters_exists(backend):
    name_of_backend = backend_name(backend)
    covered = {c.number for c in names.CHAPTERS if c.edition == "1.0" and c.provides and not c.not_yet}
    assert covered >= set(range(2, 8))
    book = {name: chapter for name, (chapter, _) in D2L_NAMES[name_of_backend].items() if chapter in covered}
    assert {"d2l", "nn_Module", "plt", "LeNet"} <= set(book)
    # ``vars``, not ``hasattr``: a lazy name (``d2l.display``) is checked without importing it.
    there = set(vars(backend)) | set(names.LAZY_MODULES)
    excepted = {name for (b, name) in names.EXCEPTIONS if b == name_of_backend}
    missing = [f"{name} (chapter {chapter})" for name, chapter in book.items() if name not in there | excepted]
    assert missing == [], "add them to d2lx/names.py, or to its EXCEPTIONS with the reason"


def test_every_name_of_d2ls_library_in_a_later_chapter_says_where_it_belongs(backend):
    """Each name of d2l 1.0.3's library file for this backend (the data file) is provided, excepted with a
    reason, or listed in a chapter's ``not_yet``, so that ``d2l.<name>`` names the chapter it belongs to."""
    name_of_backend = backend_name(backend)
    there = set(names.provided(name_of_backend)) | set(names.not_yet())
    wrong = [
        f"{name} (chapter {chapter})"
        for name, (chapter, _) in D2L_NAMES[name_of_backend].items()
        if name not in there and (name_of_backend, name) not in names.EXCEPTIONS
    ]
    assert wrong == [], "add them to their chapter's not_yet in d2lx/names.py"


def test_the_library_header_names_mean_what_they_mean_in_d2l(backend):
    assert backend.d2l is backend
    assert issubclass(backend.Module, backend.nn_Module)
    assert backend.nn_Module.__name__ in ("Module", "Block", "Model")
    if backend_name(backend) == "torch":  # d2l's ``from torch.utils import data``, not d2lx's own data module
        import torch

        assert backend.data is torch.utils.data


def test_names_from_later_chapters_say_where_they_belong(backend):
    not_yet = names.not_yet()
    assert [name for name in not_yet if name in vars(backend)] == [], "a provided name must leave not_yet"
    assert not set(not_yet) & set(names.provided(backend_name(backend))), "a name is both provided and not yet"
    for name, chapter in not_yet.items():
        with pytest.raises(AttributeError) as info:
            getattr(backend, name)
        assert str(info.value) == (
            f"{backend.__name__} does not provide {name!r} yet: it belongs to chapter {chapter.number} "
            f"({chapter.title}) of the book's {chapter.edition} edition. d2lx covers {names.covered()} so far."
        )
    with pytest.raises(AttributeError, match=f"module '{backend.__name__}' has no attribute 'no_such_name'"):
        backend.no_such_name  # noqa: B018


def test_covered_chapters_are_said_in_words():
    chapters = (
        names.Chapter("1.0", 2, "A", {"x": "a"}),
        names.Chapter("1.0", 3, "B", {"x": "b"}),
        names.Chapter("1.0", 5, "C", {"x": "c"}),
        names.Chapter("1.0", 6, "D", {"x": "d"}, not_yet="e"),
        names.Chapter("2.0", 3, "E", {"x": "f"}),
    )
    original = names.CHAPTERS
    names.CHAPTERS = chapters
    try:
        assert names.covered() == "the 1.0 edition's chapters 2-3, 5 and the 2.0 edition's chapters 3"
    finally:
        names.CHAPTERS = original


def test_backend_supplies_every_hook_of_the_contract(backend):
    import importlib

    from d2lx import datamodule, trainer

    core = {"DataModuleBase": datamodule.DataModuleBase, "FashionMNISTBase": datamodule.FashionMNISTBase,
            "TrainerBase": trainer.TrainerBase}  # fmt: skip
    mine = {"DataModuleBase": backend.DataModule, "FashionMNISTBase": backend.FashionMNIST,
            "TrainerBase": backend.Trainer}  # fmt: skip
    assert set(core) == set(contract.REQUIRED)
    for base, hooks in contract.REQUIRED.items():
        for hook in hooks:
            assert getattr(mine[base], hook) is not getattr(core[base], hook), f"{mine[base]} lacks {hook}"
    for module_name, functions in contract.REQUIRED_FUNCTIONS.items():
        module = importlib.import_module(f"{backend.__name__}.{module_name}")
        assert all(callable(getattr(module, f, None)) for f in functions)


def test_a_missing_hook_names_itself_and_the_class(backend):
    class HalfTrainer(backend.Trainer):
        fit_epoch = trainer_base_hook("fit_epoch")

    data = backend.SyntheticRegressionData(w=backend.tensor([2.0, -3.4]), b=4.2, num_train=64, num_val=32)
    with pytest.raises(NotImplementedError) as info:
        HalfTrainer(max_epochs=1).fit(backend.LinearRegressionScratch(2, lr=0.03), data)
    assert str(info.value) == (
        f"{__name__}.test_a_missing_hook_names_itself_and_the_class.<locals>.HalfTrainer does not implement "
        "the backend hook 'fit_epoch': every backend supplies it (see the list in d2lx/contract.py)"
    )


def trainer_base_hook(name):
    from d2lx.trainer import TrainerBase

    return getattr(TrainerBase, name)


def test_trainer_attributes_follow_d2l(backend):
    data = backend.SyntheticRegressionData(w=backend.tensor([2.0, -3.4]), b=4.2)
    model = backend.LinearRegressionScratch(2, lr=0.03)
    trainer = backend.Trainer(max_epochs=2)
    trainer.fit(model, data)
    assert (trainer.max_epochs, trainer.gradient_clip_val, trainer.num_gpus) == (2, 0, 0)
    assert trainer.train_batch_idx == 2 * trainer.num_train_batches == 2 * 32
    assert trainer.val_batch_idx == 2 * trainer.num_val_batches == 2 * 32
    assert trainer.epoch == 1 and trainer.model is model and model.trainer is trainer
    assert len(model.board.data["train_loss"]) == 4 and len(model.board.data["val_loss"]) == 2


def test_book_cells_can_patch_the_trainer(backend):
    seen = []
    original_fit_epoch = backend.Trainer.fit_epoch
    original_prepare_batch = backend.Trainer.prepare_batch

    @backend.add_to_class(backend.Trainer)
    def prepare_batch(self, batch):
        seen.append(("batch", self.epoch))
        return original_prepare_batch(self, batch)

    @backend.add_to_class(backend.Trainer)
    def fit_epoch(self):
        seen.append(("epoch", self.epoch))
        original_fit_epoch(self)

    try:
        data = backend.SyntheticRegressionData(w=backend.tensor([2.0, -3.4]), b=4.2, num_train=64, num_val=32)
        backend.Trainer(max_epochs=2).fit(backend.LinearRegressionScratch(2, lr=0.03), data)
    finally:
        backend.Trainer.fit_epoch = original_fit_epoch
        backend.Trainer.prepare_batch = original_prepare_batch
    assert seen.count(("epoch", 0)) == 1 and seen.count(("epoch", 1)) == 1
    assert seen.count(("batch", 0)) == 3 and seen.count(("batch", 1)) == 3  # 2 train + 1 val batches


def test_w_that_does_not_match_num_inputs(backend):
    data = backend.SyntheticRegressionData(w=backend.tensor([2.0, -3.4, 1.0]), b=4.2)
    model = backend.LinearRegressionScratch(2, lr=0.03)
    with pytest.raises(ValueError, match=r"LinearRegressionScratch\(num_inputs=2\) got examples with 3 features"):
        backend.Trainer(max_epochs=1).fit(model, data)


def test_divergence_stops_with_epoch_batch_and_lr(backend):
    data = backend.SyntheticRegressionData(w=backend.tensor(TRUE_W.tolist()), b=TRUE_B)
    model = backend.LinearRegressionScratch(2, lr=10)
    with pytest.raises(backend.TrainingDivergedError) as info:
        backend.Trainer(max_epochs=3).fit(model, data)
    message = str(info.value)
    assert message.startswith("training loss became ")
    assert "at epoch 1/3, train batch " in message and "learning rate 10" in message
    assert "Trainer(stop_on_nan=False)" in message


def test_divergence_guard_can_be_turned_off(backend):
    data = backend.SyntheticRegressionData(w=backend.tensor(TRUE_W.tolist()), b=TRUE_B)
    model = backend.LinearRegressionScratch(2, lr=10)
    backend.Trainer(max_epochs=1, stop_on_nan=False).fit(model, data)
    assert any(p.y != p.y or abs(p.y) == float("inf") for p in model.board.data["train_loss"])


def test_progress_bar_counts_every_training_batch(backend, capsys):
    data = backend.SyntheticRegressionData(w=backend.tensor([2.0, -3.4]), b=4.2, num_train=96, num_val=32)
    backend.Trainer(max_epochs=2, progress_bar=True).fit(backend.LinearRegressionScratch(2, lr=0.03), data)
    err = capsys.readouterr().err
    assert "6/6" in err and "epoch 2/2" in err
    backend.Trainer(max_epochs=2, progress_bar=False).fit(backend.LinearRegressionScratch(2, lr=0.03), data)
    assert capsys.readouterr().err == ""


def test_more_gpus_than_exist_warns_and_trains(backend):
    extra = backend.num_gpus() + 1
    with pytest.warns(UserWarning, match=rf"Trainer\(num_gpus={extra}\) asked for {extra} GPU"):
        trainer = backend.Trainer(max_epochs=1, num_gpus=extra)
    data = backend.SyntheticRegressionData(w=backend.tensor([2.0, -3.4]), b=4.2, num_train=64, num_val=32)
    trainer.fit(backend.LinearRegression(lr=0.03), data)
    assert trainer.train_batch_idx == 2


def test_tensor_aliases_mean_the_same_on_every_backend(backend):
    import numpy as np

    d2l = backend
    x = d2l.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert tuple(d2l.reshape(x, (4,)).shape) == (4,)
    assert float(d2l.reduce_sum(x)) == 10.0 and float(d2l.reduce_mean(x)) == 2.5
    assert int(d2l.argmax(d2l.reshape(x, (-1,)))) == 3 and int(d2l.size(x)) == 4
    np.testing.assert_array_equal(d2l.numpy(d2l.transpose(x)), [[1.0, 3.0], [2.0, 4.0]])
    np.testing.assert_array_equal(d2l.numpy(d2l.astype(x, d2l.int32)), [[1, 2], [3, 4]])
    assert d2l.numpy(d2l.astype(x, d2l.int32)).dtype == np.int32
