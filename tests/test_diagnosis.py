"""A learner's data mistakes get the right diagnosis, on every backend (issue 19).

Two tables: labels that are not class indices (each error names the batch and the offending
value), and the causes of a loss that became NaN (the inputs, the targets, parameters already
non-finite before training, or the step size). Each row gives the exception type and the key
words of its message.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from adapters import adapter
from helpers import backend_name, own_data, small_classification

from d2lx.trainer import _nbytes

NAN = math.nan


def _classification(d2l, bad_row=None, bad_label=None, dtype=np.int64):
    """64 training and 32 validation examples of 12 features in 10 classes; one batch each."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 12)).astype(np.float32)
    y = (np.arange(96) % 10).astype(dtype)
    if bad_row is not None:
        y[bad_row] = bad_label
    return own_data(d2l, X, y, num_train=64, batch_size=64)


def _scratch(d2l):
    return d2l.SoftmaxRegressionScratch(num_inputs=12, num_outputs=10, lr=0.1)


def _concise(d2l):
    return d2l.SoftmaxRegression(num_outputs=10, lr=0.1)


@pytest.mark.parametrize(
    ("make_model", "make_data", "error", "words"),
    [
        (_scratch, lambda d2l: _classification(d2l, 5, -1), ValueError,
         ["labels must be class indices in [0, 10)", "got -1", "epoch 1/1, train batch 0"]),
        (_concise, lambda d2l: _classification(d2l, 5, -1), ValueError,
         ["labels must be class indices in [0, 10)", "got -1", "epoch 1/1, train batch 0"]),
        (_scratch, lambda d2l: _classification(d2l, 7, 10), ValueError,
         ["labels must be class indices in [0, 10)", "got 10", "train batch 0"]),
        (_concise, lambda d2l: _classification(d2l, 7, 10), ValueError,
         ["labels must be class indices in [0, 10)", "got 10", "train batch 0"]),
        (_concise, lambda d2l: _classification(d2l, 80, 12), ValueError,  # a validation example
         ["labels must be class indices in [0, 10)", "got 12", "epoch 1/1, val batch 0"]),
        (_scratch, lambda d2l: _classification(d2l, dtype=np.float32), TypeError,
         ["labels must be integer class indices", "float32", "train batch 0"]),
        (_concise, lambda d2l: _classification(d2l, dtype=np.float32), TypeError,
         ["labels must be integer class indices", "float32", "train batch 0"]),
    ],
)  # fmt: skip
def test_labels_that_are_not_class_indices(backend, make_model, make_data, error, words):
    with pytest.raises(error) as info:
        backend.Trainer(max_epochs=1).fit(make_model(backend), make_data(backend))
    for word in words:
        assert word in str(info.value)


def test_data_module_with_known_labels_is_checked_once(backend):
    """d2lx's own data modules (Fashion-MNIST) read their label range once, when built; a model with too
    few outputs is refused before the first batch."""
    data = _classification(backend)
    data._known_label_range = lambda: (0, 9)
    model = backend.SoftmaxRegression(num_outputs=5, lr=0.1)
    with pytest.raises(ValueError, match=r"labels run from 0 to 9, but SoftmaxRegression predicts 5 classes"):
        backend.Trainer(max_epochs=1).fit(model, data)


def test_good_labels_train(backend):
    """Class indices pass the checks and the model learns from them: full-batch gradient descent on
    softmax regression's convex loss at a small step, so the loss falls at every step (by more than
    0.01 on every backend; torch: 2.302, 2.285, 2.269, 2.253, 2.238)."""
    model = _scratch(backend)
    backend.Trainer(max_epochs=5).fit(model, _classification(backend))
    losses = [float(point.y) for point in model.board.data["train_loss"]]
    assert len(losses) == 5 and all(map(math.isfinite, losses)), losses
    assert all(later < earlier - 0.01 for earlier, later in zip(losses, losses[1:])), losses


def _regression(d2l, X_nan=None, y_nan=None):
    """320 training and 32 validation rows ``y = Xw + b``; a NaN at ``X_nan`` or ``y_nan`` (row, column)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((352, 2)).astype(np.float32)
    y = (X @ np.array([[2.0], [-3.4]], dtype=np.float32) + 4.2).astype(np.float32)
    if X_nan is not None:
        X[X_nan] = NAN
    if y_nan is not None:
        y[y_nan] = NAN
    return own_data(d2l, X, y, num_train=320, batch_size=32)


def _poison_parameters(d2l, model, trainer, monkeypatch):
    """Make every parameter NaN before training starts, as a bad initialization or a bad load would."""
    name = backend_name(d2l)
    if name == "jax":
        import jax

        original = trainer._prepare_state

        def prepare_state(model):
            original(model)
            params = jax.tree_util.tree_map(lambda p: p * NAN, trainer.state.params)
            trainer.state = trainer.state.replace(params=params)

        monkeypatch.setattr(trainer, "_prepare_state", prepare_state)
    elif name == "torch":
        with d2l.torch.no_grad():
            model.w.fill_(NAN)
    elif name == "tensorflow":
        model.w.assign(d2l.tf.fill(model.w.shape, NAN))
    else:  # mxnet: a scratch model's bare array
        model.w[:] = NAN


DIVERGENCES = [
    (lambda d2l: _regression(d2l, X_nan=(3, 1)), 0.03, False, ["inputs (X) are not finite", "nan", "train batch"]),
    (lambda d2l: _regression(d2l, y_nan=(10, 0)), 0.03, False, ["targets (y) are not finite", "nan"]),
    (lambda d2l: _regression(d2l), 0.03, True,
     ["parameters were already not finite before training", "initialized or loaded", "train batch 0"]),
    (lambda d2l: _regression(d2l), 10, False, ["learning rate 10", "Lower the learning rate"]),
]  # fmt: skip


@pytest.mark.parametrize(("make_data", "lr", "poison", "words"), DIVERGENCES)
def test_divergence_names_its_cause(backend, monkeypatch, make_data, lr, poison, words):
    model = backend.LinearRegressionScratch(2, lr=lr)
    trainer = backend.Trainer(max_epochs=3)
    if poison:
        _poison_parameters(backend, model, trainer, monkeypatch)
    with pytest.raises(backend.TrainingDivergedError) as info:
        trainer.fit(model, make_data(backend))
    message = str(info.value)
    for word in words:
        assert word in message
    if words[-1] != "Lower the learning rate":
        assert "Lower the learning rate" not in message


LATE_DEPTHS = [4, None]  # 4: values read mid-epoch; None: the default (16: the whole epoch of these small sets waits)


@pytest.mark.parametrize("depth", LATE_DEPTHS)
@pytest.mark.parametrize(("make_data", "lr", "poison", "words"), DIVERGENCES)
def test_divergence_read_late_says_what_reading_at_once_says(backend, monkeypatch, make_data, lr, poison, words,
                                                             depth):  # fmt: skip
    """On a GPU (and on MXNet) losses are read a few calls late (``module.PlotPoint``); the message must not
    change: the same epoch, batch, cause, and the parameters as they were before the first update."""
    if depth is not None:
        monkeypatch.setattr(backend.Trainer, "LATE_READS_MAX_DEPTH", depth)
    messages = []
    for late in ("0", "1"):
        monkeypatch.setenv("D2LX_READ_PLOTS_LATE", late)
        backend.set_seed(7)
        model = backend.LinearRegressionScratch(2, lr=lr)
        trainer = backend.Trainer(max_epochs=3, progress_bar=False)
        if poison:
            _poison_parameters(backend, model, trainer, monkeypatch)
        with pytest.raises(backend.TrainingDivergedError) as info:
            trainer.fit(model, make_data(backend))
        messages.append(str(info.value))
        assert not trainer.__dict__.get("_d2lx_pending_points")  # nothing kept after the fit
    assert messages[1] == messages[0]
    for word in words:
        assert word in messages[1]


@pytest.mark.parametrize("depth", LATE_DEPTHS)
def test_a_board_read_late_is_the_board_read_at_once(backend, monkeypatch, depth):
    if depth is not None:
        monkeypatch.setattr(backend.Trainer, "LATE_READS_MAX_DEPTH", depth)
    boards = []
    for late in ("0", "1"):
        monkeypatch.setenv("D2LX_READ_PLOTS_LATE", late)
        backend.set_seed(3)
        data = backend.SyntheticRegressionData(w=backend.tensor([2.0, -3.4]), b=4.2, num_train=96, num_val=64,
                                               batch_size=8)  # fmt: skip
        model = backend.LinearRegressionScratch(2, lr=0.03)
        model.board.display = False
        trainer = backend.Trainer(max_epochs=2, progress_bar=False)
        trainer.fit(model, data)
        assert trainer._d2lx_reads_late is False and not trainer.__dict__.get("_d2lx_pending_points")
        assert trainer.__dict__.get("_d2lx_late_depth") == (None if late == "0" else depth or 16)
        boards.append({label: [(p.x, p.y) for p in points] for label, points in model.board.data.items()})
    assert boards[1] == boards[0]
    assert sorted(boards[0]) == ["train_loss", "val_loss"]
    assert len(boards[0]["train_loss"]) == 4 and len(boards[0]["val_loss"]) == 2  # the epochs' last points too


# ---- a concise model fed a batch of another width ------------------------------------------------
CONCISE = {
    "SoftmaxRegression": lambda d2l: d2l.SoftmaxRegression(num_outputs=10, lr=0.1),
    "MLP": lambda d2l: d2l.MLP(num_outputs=10, num_hiddens=8, lr=0.1),
    "DropoutMLP": lambda d2l: d2l.DropoutMLP(10, 8, 8, 0.5, 0.5, lr=0.1),
}


@pytest.mark.parametrize("kind", CONCISE)
def test_a_concise_model_fed_another_number_of_features(backend, kind):
    model = CONCISE[kind](backend)
    trainer = backend.Trainer(max_epochs=1, progress_bar=False)
    trainer.fit(model, small_classification(backend))  # 3x4 "images": 12 features
    X = backend.tensor(np.zeros((5, 13), dtype=np.float32))
    with pytest.raises(ValueError) as info:
        adapter(backend).model_outputs(model, X, training=False, trainer=trainer)
    assert str(info.value) == (
        f"{kind} was built for examples with 12 features (by the first batch it saw) and got 13 "
        "(X of shape (5, 13)); every batch needs the first batch's features"
    )


def test_concise_linear_regression_fed_another_number_of_features(backend):
    data = backend.SyntheticRegressionData(w=backend.tensor([2.0, -3.4]), b=4.2)
    model = backend.LinearRegression(lr=0.03)
    trainer = backend.Trainer(max_epochs=1, progress_bar=False)
    trainer.fit(model, data)
    with pytest.raises(ValueError) as info:
        adapter(backend).model_outputs(model, backend.tensor(np.zeros((4, 3), np.float32)), training=False,
                                       trainer=trainer)  # fmt: skip
    assert "LinearRegression was built for examples with 2 features" in str(info.value)
    assert "got 3 (X of shape (4, 3))" in str(info.value)


@pytest.mark.parametrize(("shape", "dtype", "depth"), [
    ((256, 1, 28, 28), np.float32, 16),  # Fashion-MNIST at 28x28: 0.8 MB a batch
    ((128, 1, 224, 224), np.float32, 2),  # at 224x224: 25.7 MB
    ((128, 3, 224, 224), np.float32, 1),  # 77 MB: one batch is already past the bound
    ((256, 1, 28, 28), np.uint8, 16),
])  # fmt: skip
def test_values_wait_to_be_read_while_their_batches_stay_small(backend, shape, dtype, depth):
    """Each value waiting to be read keeps its batch for the divergence guard: at most 16 wait, and their
    batches hold at most ``LATE_READS_MAX_BYTES`` (64 MiB)."""

    class Point:  # what _late_reads_depth reads of a PlotPoint
        batch = (backend.tensor(np.zeros(shape, dtype)), backend.tensor(np.zeros(shape[0], np.int32)))

    trainer = backend.Trainer(max_epochs=1, progress_bar=False)
    assert trainer._late_reads_depth(Point) == depth
    assert trainer._late_reads_depth(None) == depth  # decided once a fit, by the first point read late
    labels_bytes = shape[0] * 4
    assert sum(_nbytes(a) for a in Point.batch) == math.prod(shape) * np.dtype(dtype).itemsize + labels_bytes


def test_a_bad_read_late_switch_is_named_before_training(backend, monkeypatch):
    monkeypatch.setenv("D2LX_READ_PLOTS_LATE", "late")
    data = backend.SyntheticRegressionData(w=backend.tensor([2.0, -3.4]), b=4.2, num_train=16, num_val=16)
    model = backend.LinearRegressionScratch(2, lr=0.03)
    with pytest.raises(ValueError) as info:
        backend.Trainer(max_epochs=1, progress_bar=False).fit(model, data)
    assert str(info.value) == "D2LX_READ_PLOTS_LATE must be 1 or 0 (or true/false, yes/no, on/off), got 'late'"
    assert model.board.data == {} or all(not points for points in model.board.data.values())  # nothing trained


def test_values_are_read_late_where_reading_waits_for_the_device(backend, monkeypatch):
    """Without the switch: MXNet reads late on the CPU too (its engine is asynchronous: reading
    at once made softmax regression 1.4-1.7x of a hand-written loop); the others read at once on the
    CPU, and on a GPU torch and JAX read late (their ``_device_reads_block`` is ``bool(self.gpus)``)."""
    monkeypatch.delenv("D2LX_READ_PLOTS_LATE", raising=False)
    trainer = backend.Trainer(max_epochs=1, progress_bar=False)
    name = backend.__name__.rsplit(".", 1)[-1]
    assert trainer._reads_plots_late() is (name == "mxnet")
    if name in ("torch", "jax"):
        trainer.gpus = ["a GPU"]  # what num_gpus=1 gives on a machine with one
        assert trainer._reads_plots_late() is True
    monkeypatch.setenv("D2LX_READ_PLOTS_LATE", "0")  # the switch wins either way
    assert trainer._reads_plots_late() is False
