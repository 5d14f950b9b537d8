"""The 2.0 edition's functional API (``synthetic_data``, ``data_iter``, ``train_ch3``, ``train_ch6``, ``Animator``...).

The chapter-3 results with the book's settings, and chapter 6's ``evaluate_accuracy_gpu`` and
``train_ch6``, on every backend; the learner's model code for each framework is in
``functional_recipes.py``.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from functional_recipes import recipe
from helpers import TRUE_B, TRUE_W, small_classification

from d2lx.functional import Animator, accuracy
from d2lx.plotting import to_numpy


def _rows(batches) -> np.ndarray:
    return np.concatenate([np.concatenate([to_numpy(X), to_numpy(y)], axis=1) for X, y in batches])


def test_get_dataloader_workers_is_the_books_four_at_most(backend):
    # (that every 2.0 name exists is checked from d2lx/names.py by test_backend_api.py)
    assert 1 <= backend.get_dataloader_workers() <= 4


def test_synthetic_data_follows_its_definition(backend):
    features, labels = backend.synthetic_data(backend.tensor(TRUE_W.tolist()), TRUE_B, 1000)
    X, y = to_numpy(features), to_numpy(labels)
    assert X.shape == (1000, 2) and y.shape == (1000, 1) and X.dtype == y.dtype == np.float32
    assert np.abs(y[:, 0] - (X @ TRUE_W + TRUE_B)).max() < 0.06  # noise N(0, 0.01)


def test_data_iter_gives_every_example_once_per_epoch(backend):
    features, labels = backend.synthetic_data(backend.tensor(TRUE_W.tolist()), TRUE_B, 23)
    everything = _rows([(features, labels)])
    for _ in range(2):
        batches = list(backend.data_iter(5, features, labels))
        assert [int(X.shape[0]) for X, _ in batches] == [5, 5, 5, 5, 3]
        seen = _rows(batches)
        assert not np.array_equal(seen, everything)  # shuffled
        np.testing.assert_array_equal(seen[np.argsort(seen[:, 0])], everything[np.argsort(everything[:, 0])])


def test_load_array_keeps_order_unless_training(backend):
    features, labels = backend.synthetic_data(backend.tensor(TRUE_W.tolist()), TRUE_B, 25)
    everything = _rows([(features, labels)])
    ordered = backend.load_array((features, labels), 10, is_train=False)
    assert len(ordered) == 3
    np.testing.assert_array_equal(_rows(ordered), everything)
    np.testing.assert_array_equal(_rows(ordered), everything)  # reusable, like a DataLoader
    shuffled = _rows(backend.load_array((features, labels), 10))
    assert not np.array_equal(shuffled, everything)
    assert sorted(shuffled[:, 0].tolist()) == sorted(everything[:, 0].tolist())


def test_linear_regression_from_scratch_recovers_w_and_b(backend):
    features, labels = backend.synthetic_data(backend.tensor(TRUE_W.tolist()), TRUE_B, 1000)
    cells = recipe(backend)
    w, b = cells.linreg_scratch(backend, features, labels, batch_size=10, lr=0.03, num_epochs=3)
    errors = np.abs(np.concatenate([TRUE_W - to_numpy(w).reshape(-1), [TRUE_B - float(to_numpy(b).reshape(-1)[0])]]))
    assert errors.max() < 0.1, errors
    data = backend.load_array((features, labels), 100)
    loss = backend.evaluate_loss(*cells.linear_net(backend, w, b), data, backend.squared_loss)
    assert 0 < loss < 1e-3  # the noise's share, 0.01**2 / 2


@pytest.mark.full_training
@pytest.mark.parametrize("kind", ["scratch", "concise"])
def test_train_ch3_softmax_regression_on_fashion_mnist(backend, kind):
    train_iter, test_iter = backend.load_data_fashion_mnist(256)
    assert (len(train_iter), len(test_iter)) == (235, 40)
    train = getattr(recipe(backend), f"softmax_{kind}")
    test_acc, net = train(backend, train_iter, test_iter, num_epochs=10, lr=0.1)
    assert test_acc >= 0.80
    backend.plt.close("all")
    backend.predict_ch3(*net, test_iter, n=4)
    X, y = next(iter(test_iter))
    titles = [ax.get_title() for ax in backend.plt.gcf().axes]
    assert [t.split("\n")[0] for t in titles] == backend.get_fashion_mnist_labels(y[:4])
    assert sum(t.split("\n")[0] == t.split("\n")[1] for t in titles) >= 2  # most predictions are right
    backend.plt.close("all")


def test_load_data_fashion_mnist_resizes_once(backend):
    train_iter, test_iter = backend.load_data_fashion_mnist(32, resize=32)
    X, y = next(iter(train_iter))
    assert X.shape[0] == 32 and sorted(int(d) for d in X.shape[1:]) == [1, 32, 32]
    assert len(test_iter) == 313 and set(np.unique(to_numpy(y))) <= set(range(10))


def test_bad_arguments_get_clear_errors(backend):
    features, labels = backend.synthetic_data(backend.tensor(TRUE_W.tolist()), TRUE_B, 10)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        backend.data_iter(0, features, labels)
    with pytest.raises(ValueError, match="features and labels must have the same number of rows, got 10 and 9"):
        backend.data_iter(5, features, labels[:9])
    with pytest.raises(ValueError, match="resize must be a positive int, got 0"):
        backend.load_data_fashion_mnist(256, resize=0)
    net = recipe(backend).linear_net(backend, backend.tensor([[2.0], [-3.4]]), backend.tensor([4.2]))
    data = backend.load_array((features, labels), 5)
    with pytest.raises(TypeError, match="updater must be .*, got 'sgd' \\(str\\)"):
        backend.train_epoch_ch3(*net, data, backend.squared_loss, "sgd")
    with pytest.raises(ValueError, match="num_epochs must be a positive int, got 0"):
        backend.train_ch3(*net, data, data, backend.squared_loss, 0, lambda *args: None)


# --- chapter 6 -------------------------------------------------------------------


class _Counting:
    """A loader that counts the batches drawn from it."""

    def __init__(self, loader):
        self.loader, self.batches = loader, 0

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            self.batches += 1
            yield batch


def _device_name(device) -> str:
    return getattr(device, "_device_name", str(device))  # TensorFlow's device is a tf.device scope


def _ch6_data(d2l):
    """512 training and 128 test examples of 3x4 "images" in 10 classes, in batches of 64."""
    data = small_classification(d2l, num_train=512, num_val=128, batch_size=64)
    return data.train_dataloader(), data.val_dataloader()


def test_evaluate_accuracy_gpu_is_the_hand_computed_accuracy(backend):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3, 4)).astype(np.float32)
    y = rng.integers(0, 10, 50)
    W = rng.standard_normal((12, 10)).astype(np.float32)
    expected = float(((X.reshape(50, -1) @ W).argmax(axis=1) == y).mean())
    assert 0.05 < expected < 0.95
    data = backend.load_array((backend.tensor(X), backend.tensor(y)), 16, is_train=False)  # 3 batches and 2
    net = recipe(backend).fixed_linear(backend, W)
    assert backend.evaluate_accuracy_gpu(*net, data) == pytest.approx(expected)
    assert backend.evaluate_accuracy_gpu(*net, data, backend.cpu()) == pytest.approx(expected)  # where the net is


def test_train_ch6_trains_on_the_device_and_prints_the_books_two_lines(backend, capsys, no_budget):
    train_iter, test_iter = _ch6_data(backend)
    args, trained = recipe(backend).linear_ch6(backend, num_inputs=12, num_classes=10)
    device = backend.try_gpu()  # the CPU here
    returned = backend.train_ch6(*args, train_iter, test_iter, 5, 0.5, device)
    lines = capsys.readouterr().out.strip().splitlines()
    numbers = re.fullmatch(r"loss ([\d.]+), train acc ([\d.]+), test acc ([\d.]+)", lines[-2])
    assert numbers is not None, lines
    loss, train_acc, test_acc = map(float, numbers.groups())
    assert re.fullmatch(rf"\d+\.\d examples/sec on {re.escape(_device_name(device))}", lines[-1]), lines
    # from fresh Xavier weights (chance: 0.1) to a trained classifier: the parameters were trained
    assert math.isfinite(loss) and train_acc > 0.5 and test_acc > 0.5
    assert backend.evaluate_accuracy_gpu(*trained(returned), test_iter) == pytest.approx(test_acc, abs=5e-4)


@pytest.mark.parametrize("chapter", [3, 6])
def test_train_ch3_and_ch6_honour_the_budget_of_the_environment(backend, capsys, monkeypatch, chapter):
    monkeypatch.setenv("D2LX_LIMIT_TRAIN_BATCHES", "2")
    monkeypatch.setenv("D2LX_LIMIT_VAL_BATCHES", "1")
    if chapter == 6:
        train_iter, test_iter = (_Counting(loader) for loader in _ch6_data(backend))  # 8 and 2 batches
        args, _ = recipe(backend).linear_ch6(backend, num_inputs=12, num_classes=10)
        backend.train_ch6(*args, train_iter, test_iter, 3, 0.1, backend.try_gpu())
        assert "examples/sec" in capsys.readouterr().out
        assert (train_iter.batches, test_iter.batches) == (3 * 2, 3 * 1)
    else:
        train_iter, test_iter = (_Counting(loader) for loader in backend.load_data_fashion_mnist(256))
        recipe(backend).softmax_concise(backend, train_iter, test_iter, num_epochs=3, lr=0.1)
        # then the recipe's evaluate_accuracy on the whole test set, which no budget limits
        assert (train_iter.batches, test_iter.batches) == (3 * 2, 3 * 1 + len(test_iter))
    monkeypatch.setenv("D2LX_LIMIT_TRAIN_BATCHES", "0")
    with pytest.raises(ValueError, match="train_iter gave no examples .*D2LX_LIMIT_TRAIN_BATCHES"):
        args, _ = recipe(backend).linear_ch6(backend, num_inputs=12, num_classes=10)
        backend.train_ch6(*args, train_iter, test_iter, 1, 0.1, backend.try_gpu())


def test_train_ch6_under_fast_dev_run_trains_one_batch(backend, capsys, no_budget, monkeypatch):
    """``D2LX_FAST_DEV_RUN=1`` means for the 2.0 loops what it means for ``Trainer``: one epoch of one
    training batch and one test batch, whatever ``num_epochs`` and the limits say."""
    monkeypatch.setenv("D2LX_FAST_DEV_RUN", "1")
    monkeypatch.setenv("D2LX_LIMIT_TRAIN_BATCHES", "5")  # overridden, as in Lightning
    train_iter, test_iter = (_Counting(loader) for loader in _ch6_data(backend))  # 8 and 2 batches
    args, _ = recipe(backend).linear_ch6(backend, num_inputs=12, num_classes=10)
    backend.train_ch6(*args, train_iter, test_iter, 10, 0.1, backend.try_gpu())
    assert (train_iter.batches, test_iter.batches) == (1, 1)
    assert "examples/sec" in capsys.readouterr().out
    monkeypatch.setenv("D2LX_FAST_DEV_RUN", "0.5")
    with pytest.raises(ValueError) as info:
        backend.train_ch6(*args, train_iter, test_iter, 10, 0.1, backend.try_gpu())
    assert str(info.value) == (
        "D2LX_FAST_DEV_RUN must be a non-negative int (batches) or a bool (true/false, yes/no, on/off), got '0.5'"
    )


def test_train_ch6_under_overfit_batches_and_max_batch_size(backend, capsys, no_budget, monkeypatch):
    """``D2LX_OVERFIT_BATCHES=2``: every epoch trains on the same first 2 batches and tests on them;
    ``D2LX_MAX_BATCH_SIZE=16`` caps the batches of d2lx's loaders, which the 2.0 loops train on."""
    monkeypatch.setenv("D2LX_OVERFIT_BATCHES", "2")
    train_iter, test_iter = (_Counting(loader) for loader in _ch6_data(backend))
    args, _ = recipe(backend).linear_ch6(backend, num_inputs=12, num_classes=10)
    backend.train_ch6(*args, train_iter, test_iter, 3, 0.1, backend.try_gpu())
    assert (train_iter.batches, test_iter.batches) == (2, 0)  # drawn once, served every epoch
    monkeypatch.delenv("D2LX_OVERFIT_BATCHES")
    monkeypatch.setenv("D2LX_MAX_BATCH_SIZE", "16")
    train_iter, test_iter = (_Counting(loader) for loader in _ch6_data(backend))
    assert (len(train_iter), len(test_iter)) == (512 // 16, 128 // 16)
    backend.train_ch6(*args, train_iter, test_iter, 1, 0.1, backend.try_gpu())
    assert (train_iter.batches, test_iter.batches) == (32, 8)
    capsys.readouterr()


def test_more_examples_than_a_batch_holds_is_named(backend, no_budget, monkeypatch):
    """``predict_ch3(n=18)`` or a cell's ``reshape(X[:18], (18, 28, 28))`` from a batch of 16 (e.g. under
    ``D2LX_MAX_BATCH_SIZE=16``) gets one sentence, not the framework's traceback."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3, 4)).astype(np.float32)
    data = backend.load_array((backend.tensor(X), backend.tensor(rng.integers(0, 10, 40))), 16, is_train=False)
    net = recipe(backend).fixed_linear(backend, rng.standard_normal((12, 10)).astype(np.float32))
    with pytest.raises(ValueError) as info:
        backend.predict_ch3(*net, data, n=18)
    assert str(info.value) == "n=18 asks for more images than the first test batch holds (16)"
    first = next(iter(data))[0]
    with pytest.raises(ValueError) as info:
        backend.reshape(first[:18], (18, 12))
    assert str(info.value) == (
        "reshape: x of shape (16, 3, 4) holds 192 values, which cannot take the shape (18, 12) (216 values); "
        "a slice such as X[:n] holds fewer than n rows when the batch is smaller"
    )
    monkeypatch.setenv("D2LX_MAX_BATCH_SIZE", "16")
    hint = " (D2LX_MAX_BATCH_SIZE=16 caps every d2lx loader's batches at 16 examples)"
    with pytest.raises(ValueError) as info:
        backend.predict_ch3(*net, data, n=18)
    assert str(info.value) == "n=18 asks for more images than the first test batch holds (16)" + hint
    with pytest.raises(ValueError) as info:
        backend.reshape(first[:18], (18, 12))
    assert str(info.value).endswith("cannot take the shape (18, 12) (216 values); a slice such as X[:n] holds "
                                    "fewer than n rows when the batch is smaller" + hint)  # fmt: skip
    assert tuple(backend.reshape(first, (16, 12)).shape) == (16, 12)  # a right shape is the framework's reshape
    assert tuple(backend.reshape(first, (-1, 12)).shape) == (16, 12)


@pytest.mark.parametrize(
    ("num_epochs", "lr", "error", "message"),
    [
        (0, 0.9, ValueError, "num_epochs must be a positive int, got 0"),
        (2.5, 0.9, TypeError, "num_epochs must be a positive int, got 2.5"),
        ("10", 0.9, TypeError, "num_epochs must be a positive int, got '10' (str)"),
        (10, 0, ValueError, "lr must be a positive number, got 0"),
        (10, -0.9, ValueError, "lr must be a positive number, got -0.9"),
        (10, math.nan, ValueError, "lr must be a positive number, got nan"),
        (10, None, TypeError, "lr must be a positive number, got None (NoneType)"),
    ],
)
def test_train_ch6_names_a_bad_argument_before_any_work(backend, capsys, no_budget, num_epochs, lr, error, message):
    args, _ = recipe(backend).linear_ch6(backend, num_inputs=12, num_classes=10)
    with pytest.raises(error) as info:
        backend.train_ch6(*args, *_ch6_data(backend), num_epochs, lr, backend.try_gpu())
    assert str(info.value) == message
    assert capsys.readouterr().out == ""  # nothing trained, nothing printed (PyTorch's "training on" included)


# --- backend-free ----------------------------------------------------------------
def test_accuracy_counts_correct_predictions():
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), np.array([1, 1, 1])) == 2.0
    assert accuracy(np.array([1, 0, 1]), np.array([[1], [1], [1]])) == 2.0  # labels of shape (n, 1)
    with pytest.raises(ValueError, match="one prediction per label"):
        accuracy(np.zeros((4, 3)), np.zeros(3))


def test_animator_adds_points_per_line_and_is_silent_outside_jupyter(tmp_path, capsys):
    animator = Animator(xlabel="epoch", legend=["train loss", "train acc", "test acc"], xlim=[1, 5])
    for epoch in range(1, 6):
        animator.add(epoch, (1 / epoch, 0.5 + epoch / 20, None if epoch < 3 else 0.6 + epoch / 50))
    assert animator.X[0] == [1, 2, 3, 4, 5] and animator.X[2] == [3, 4, 5]
    assert animator.Y[1] == pytest.approx([0.55, 0.6, 0.65, 0.7, 0.75])
    assert capsys.readouterr() == ("", "")
    path = animator.save(tmp_path / "ch3.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    lines = animator.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["train loss", "train acc", "test acc"]
    assert [(line.get_linestyle(), line.get_color()) for line in lines][1:] == [("--", "m"), ("-.", "g")]
    animator.add([6, 6], [0.1, 0.8])  # one x per line; no name for a fourth line
    animator.add(7, [0.1, 0.8, 0.7, 0.2])
    figure = animator.render()
    assert len(figure.axes[0].get_lines()) == 4  # lines are reused, one more for the new fourth
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["train loss", "train acc", "test acc"]


def test_animator_with_several_subplots():
    animator = Animator(nrows=2, ncols=2)
    animator.add(1, 2.0)
    assert len(animator.render().axes) == 4 and len(animator.axes) == 4
    assert animator.X == [[1.0]] and animator.Y == [[2.0]]
    with pytest.raises(ValueError, match="nrows must be a positive int, got 0"):
        Animator(nrows=0)


@pytest.mark.parametrize(
    ("poison", "lr", "words"),
    [
        ("inputs", 0.1, "the training data's inputs (X) are not finite (nan at position"),
        (None, 3e38, "lower the learning rate"),
    ],
)
def test_train_ch6_says_why_the_loss_diverged(backend, capsys, no_budget, poison, lr, words):
    data = small_classification(backend, num_train=256, num_val=64, batch_size=64, scale=1e3 if poison is None else 1)
    if poison == "inputs":
        X, y = (to_numpy(t) for t in (data.X, data.y))
        X = X.copy()
        X[300 % 256, 1, 2] = np.nan  # one value of one training example
        data.X = backend.tensor(X)
    args, _ = recipe(backend).linear_ch6(backend, num_inputs=12, num_classes=10)
    with pytest.raises(backend.TrainingDivergedError) as info:
        backend.train_ch6(*args, data.train_dataloader(), data.val_dataloader(), 3, lr, backend.try_gpu())
    message = str(info.value)
    assert re.match(r"training loss became (nan|-?inf) in epoch [123]/3: ", message), message
    assert words in message
