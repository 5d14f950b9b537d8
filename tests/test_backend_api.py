"""The d2l surface of every backend: names, book-style patching, errors on bad input, the NaN guard."""

from __future__ import annotations

import pytest
from helpers import TRUE_B, TRUE_W

from d2lx.checks import positive_int  # noqa: F401 - documents where the messages come from

BOOK_NAMES = [
    # shared core
    "add_to_class", "HyperParameters", "ProgressBoard", "Timer", "Accumulator", "set_seed",
    "plot", "set_figsize", "use_svg_display", "set_axes", "show_images", "plt",
    # classes of chapters 3 and 4
    "Module", "DataModule", "Trainer", "SGD", "SyntheticRegressionData", "FashionMNIST",
    "LinearRegressionScratch", "LinearRegression", "Classifier",
    "SoftmaxRegressionScratch", "SoftmaxRegression",
    # devices
    "cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus",
    # tensor aliases
    "tensor", "ones", "zeros", "arange", "normal", "reshape", "numpy", "argmax", "astype",
    "reduce_sum", "reduce_mean", "matmul", "exp", "log", "float32", "int32", "size", "to",
    "expand_dims", "transpose", "concat", "stack", "linspace", "sin", "cos",
    # the data hub and the Kaggle house-price chapter (1.0 edition, section 5.7)
    "DATA_URL", "DATA_HUB", "download", "extract", "download_extract", "download_all",
    "KaggleHouse", "k_fold_data", "k_fold",
    # multilayer perceptrons, weight decay and dropout (1.0 edition, sections 5.2, 3.7, 5.6)
    "relu", "MLPScratch", "MLP", "Data", "l2_penalty", "WeightDecayScratch", "WeightDecay",
    "dropout_layer", "DropoutMLPScratch", "DropoutMLP",
]  # fmt: skip


def test_backend_exports_the_book_names(backend):
    missing = [name for name in BOOK_NAMES if not hasattr(backend, name)]
    assert missing == []


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


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda d2l: d2l.SyntheticRegressionData(w=d2l.tensor([2.0, -3.4]), b=4.2, batch_size=0),
         ValueError, "batch_size must be a positive int, got 0"),
        (lambda d2l: d2l.FashionMNIST(batch_size=-5), ValueError, "batch_size must be a positive int, got -5"),
        (lambda d2l: d2l.FashionMNIST(resize=(32,)), ValueError,
         r"resize must be two positive ints \(height, width\), got \(32,\)"),
        (lambda d2l: d2l.FashionMNIST(resize=(0, 28)), ValueError,
         r"resize must be two positive ints \(height, width\), got \(0, 28\)"),
        (lambda d2l: d2l.FashionMNIST(resize="32"), ValueError, "resize must be two positive ints"),
        (lambda d2l: d2l.Trainer(max_epochs=0), ValueError, "max_epochs must be a positive int, got 0"),
        (lambda d2l: d2l.LinearRegressionScratch(2, lr=-0.1), ValueError, "lr must be a positive number, got -0.1"),
        (lambda d2l: d2l.SyntheticRegressionData(w="ab", b=4.2), TypeError, "w must be a vector of numbers"),
    ],
)  # fmt: skip
def test_bad_arguments_get_clear_errors(backend, make, error, message):
    with pytest.raises(error, match=message):
        make(backend)


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


def test_names_from_later_chapters_say_where_they_belong(backend):
    from d2lx.coverage import NOT_YET

    provided = sorted(name for name in NOT_YET if name in vars(backend))
    assert provided == [], "exported names must leave d2lx/coverage.py's NOT_YET table"
    with pytest.raises(AttributeError) as info:
        backend.LeNet  # noqa: B018
    assert str(info.value) == (
        f"{backend.__name__} does not provide 'LeNet' yet: it belongs to chapter 7 (Convolutional Neural "
        "Networks) of the book's 1.0 edition. d2lx covers the 1.0 edition's chapters 2-5 (preliminaries, "
        "linear regression, softmax regression, multilayer perceptrons) so far."
    )
    with pytest.raises(AttributeError, match="chapter 6 \\(Convolutional Neural Networks\\) of the book's 2.0"):
        backend.train_ch6  # noqa: B018
    with pytest.raises(AttributeError, match=f"module '{backend.__name__}' has no attribute 'no_such_name'"):
        backend.no_such_name  # noqa: B018


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
