"""``Trainer(jit_compile=True)`` on every backend: the compiled path trains to the default loop's numbers
(parameters, batch-norm statistics, the board's points, the counters), keeps the budgets, the progress bar
and the divergence guard, and falls back with one warning where a method it needs was replaced.

PyTorch compiles with inductor, which takes seconds per model on a CPU (tens for the first): the tests
reuse three small models (softmax regression, the linear regression scratch model, a small batch-norm
network), and a later fit of the same model reuses its compiled code.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from adapters import adapter
from helpers import TRUE_B, TRUE_W, backend_name

from d2lx.plotting import to_numpy

COMPILED = {"torch", "jax", "tensorflow"}  # MXNet has none: it warns and trains on the default loop
FALLBACK = "Trainer(jit_compile=True) fell back to the default loop: "
NO_MXNET_PATH = FALLBACK + "MXNet has no compiled path (Gluon's hybridize gives the book's models no clear gain)."
ENVIRONMENT = (
    "D2LX_JIT_COMPILE",
    "D2LX_LIMIT_TRAIN_BATCHES",
    "D2LX_LIMIT_VAL_BATCHES",
    "D2LX_FAST_DEV_RUN",
    "D2LX_OVERFIT_BATCHES",
)


@pytest.fixture(autouse=True)
def _nothing_from_outside(monkeypatch):
    for variable in ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)


def _compiled_backend(d2l):
    if backend_name(d2l) not in COMPILED:
        pytest.skip(f"{backend_name(d2l)} has no compiled path")


def _fit(d2l, make_model, make_data, jit_compile: bool, **trainer_args):
    """Seed, build, fit; returns the trainer, the model and the warnings about ``jit_compile``."""
    d2l.set_seed(0)
    data, model = make_data(d2l), make_model(d2l)
    trainer = d2l.Trainer(**{"max_epochs": 1, **trainer_args}, jit_compile=jit_compile)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(model, data)
    messages = [str(w.message) for w in caught if "jit_compile" in str(w.message)]
    return trainer, model, messages


def _trained_arrays(d2l, trainer, model) -> list[np.ndarray]:
    """The parameters (JAX: ``trainer.state``'s) and the batch-norm running statistics after ``fit``, as
    numpy copies."""
    parameters = [np.array(to_numpy(p)) for p in trainer._parameter_arrays()]
    return parameters + adapter(d2l).running_statistics(model, trainer)


def _assert_same_training(d2l, default, compiled, atol: float = 1e-5):
    """Same parameters (to ``atol``), counters and board: the same curves at the same x positions."""
    (trainer_a, model_a, _), (trainer_b, model_b, _) = default, compiled
    arrays_a, arrays_b = _trained_arrays(d2l, trainer_a, model_a), _trained_arrays(d2l, trainer_b, model_b)
    assert len(arrays_a) == len(arrays_b) > 0
    for a, b in zip(arrays_a, arrays_b):
        np.testing.assert_allclose(b, a, rtol=0, atol=atol)
    assert (trainer_b.train_batch_idx, trainer_b.val_batch_idx) == (trainer_a.train_batch_idx, trainer_a.val_batch_idx)
    board_a, board_b = model_a.board, model_b.board
    assert list(board_b.data) == list(board_a.data)
    for label, points in board_a.data.items():
        assert [p.x for p in board_b.data[label]] == [p.x for p in points], label
        np.testing.assert_allclose([p.y for p in board_b.data[label]], [p.y for p in points], rtol=1e-5, atol=1e-6)
    assert {k: len(v) for k, v in board_b.raw_points.items()} == {k: len(v) for k, v in board_a.raw_points.items()}


# --- the models ------------------------------------------------------------------------------------
def _fashion_mnist(batch_size):
    return lambda d2l: d2l.FashionMNIST(batch_size=batch_size)


def _synthetic(d2l):
    return d2l.SyntheticRegressionData(w=d2l.tensor(TRUE_W.tolist()), b=TRUE_B)  # 1000 rows: the last batch short


def _softmax(d2l):
    return d2l.SoftmaxRegression(num_outputs=10, lr=0.1)


def _linear_scratch(d2l, lr=0.03):
    return d2l.LinearRegressionScratch(2, lr=lr)


def _small_batch_norm_network(d2l):
    """Flatten, a dense layer of 16, batch normalization, ReLU, 10 outputs: batch norm at a cost that
    torch.compile's CPU compilation can afford in a test (``BNLeNet`` takes it close to a minute)."""
    name = backend_name(d2l)
    if name == "torch":
        from torch import nn

        class SmallBatchNorm(d2l.Classifier):
            def __init__(self, lr=0.1):
                super().__init__()
                self.save_hyperparameters()
                self.net = nn.Sequential(
                    nn.Flatten(), nn.LazyLinear(16), nn.LazyBatchNorm1d(), nn.ReLU(), nn.LazyLinear(10)
                )

    elif name == "tensorflow":
        import tensorflow as tf

        class SmallBatchNorm(d2l.Classifier):
            def __init__(self, lr=0.1):
                super().__init__()
                self.save_hyperparameters()
                layers = tf.keras.layers
                self.net = tf.keras.Sequential(
                    [layers.Flatten(), layers.Dense(16), layers.BatchNormalization(), layers.ReLU(), layers.Dense(10)]
                )

    elif name == "jax":
        from flax import linen as nn

        class SmallBatchNorm(d2l.Classifier):
            lr: float = 0.1
            training: bool = True

            def setup(self):
                self.net = nn.Sequential([
                    lambda X: X.reshape((X.shape[0], -1)), nn.Dense(16), nn.BatchNorm(not self.training),
                    nn.relu, nn.Dense(10),
                ])  # fmt: skip

    else:
        pytest.skip(f"{name} has no compiled path")
    return SmallBatchNorm()


# --- the compiled path gives the default loop's numbers ----------------------------------------------
def test_softmax_regression_compiled_gives_the_default_parameters_and_points(backend):
    """The book's concise softmax regression on Fashion-MNIST, 2 epochs of 30 batches (validation: all 40,
    the last one short), on the default loop and compiled (one test, so that torch compiles it once)."""
    _compiled_backend(backend)
    budget = {"max_epochs": 2, "limit_train_batches": 30}
    default, compiled = (_fit(backend, _softmax, _fashion_mnist(256), jit, **budget) for jit in (False, True))
    assert compiled[2] == []  # no fallback
    _assert_same_training(backend, default, compiled)
    (_, model_a, _), (trainer_b, model_b, _) = default, compiled
    assert (trainer_b.train_batch_idx, trainer_b.val_batch_idx) == (60, 80)
    assert set(model_b.board.data) == {"train_loss", "val_loss", "val_acc"}
    assert [p.x for p in model_b.board.data["val_acc"]] == [1.0, 2.0]
    accuracy = [(p.y, q.y) for p, q in zip(model_a.board.data["val_acc"], model_b.board.data["val_acc"])]
    assert all(abs(a - b) < 1e-6 for a, b in accuracy), accuracy


def test_batch_norm_statistics_compiled_as_by_default(backend):
    """Training moves the running statistics (JAX: the trainer state's ``batch_stats``) and validation
    reads them, compiled as on the default loop."""
    _compiled_backend(backend)
    runs = [
        _fit(backend, _small_batch_norm_network, _fashion_mnist(64), jit, limit_train_batches=5, limit_val_batches=3)
        for jit in (False, True)
    ]
    assert runs[1][2] == []
    _assert_same_training(backend, *runs)
    statistics = adapter(backend).running_statistics(runs[1][1], runs[1][0])
    assert statistics and not np.allclose(statistics[0], 0)  # the means moved


def test_linear_regression_scratch_compiled_gives_the_default_parameters(backend):
    _compiled_backend(backend)
    runs = [_fit(backend, _linear_scratch, _synthetic, jit, max_epochs=2) for jit in (False, True)]
    assert runs[1][2] == []
    _assert_same_training(backend, *runs)
    (w_a, b_a), (w_b, b_b) = runs[0][1].get_w_b(), runs[1][1].get_w_b()
    np.testing.assert_allclose(to_numpy(w_b), to_numpy(w_a), rtol=0, atol=1e-5)
    np.testing.assert_allclose(to_numpy(b_b), to_numpy(b_a), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "budget",
    [
        {"max_epochs": 2, "overfit_batches": 3},
        {"fast_dev_run": 2},
        {"limit_train_batches": 0},
        {"max_epochs": 2, "limit_train_batches": 5, "limit_val_batches": 0.5},
        {"gradient_clip_val": 0.5},
    ],
    ids=["overfit_batches", "fast_dev_run", "no_training", "limits", "gradient_clip_val"],
)
def test_budgets_and_clipping_hold_on_the_compiled_path(backend, budget):
    _compiled_backend(backend)
    runs = [_fit(backend, _linear_scratch, _synthetic, jit, **budget) for jit in (False, True)]
    assert runs[1][2] == []
    _assert_same_training(backend, *runs)


def test_progress_bar_counts_the_compiled_batches(backend, capsys):
    _compiled_backend(backend)
    _fit(backend, _linear_scratch, _synthetic, True, max_epochs=2, limit_train_batches=5, progress_bar=True)
    assert "10/10" in capsys.readouterr().err


def test_divergence_is_named_as_on_the_default_loop(backend):
    """A learning rate far too large: the same error, naming the same epoch and batch."""
    _compiled_backend(backend)
    messages = []
    for jit in (False, True):
        with pytest.raises(backend.TrainingDivergedError) as info:
            _fit(backend, lambda d2l: _linear_scratch(d2l, lr=1e4), _synthetic, jit, max_epochs=2)
        messages.append(str(info.value))
    assert messages[1] == messages[0] and "learning rate 10000.0" in messages[0]


def test_a_non_finite_example_is_named_as_on_the_default_loop(backend):
    _compiled_backend(backend)

    def data_with_a_nan(d2l):
        data = _synthetic(d2l)
        X = to_numpy(data.X).copy()
        X[123, 1] = np.nan
        data.X = d2l.tensor(X)
        return data

    messages = []
    for jit in (False, True):
        with pytest.raises(backend.TrainingDivergedError) as info:
            _fit(backend, _linear_scratch, data_with_a_nan, jit, max_epochs=2)
        messages.append(str(info.value))
    assert messages[1] == messages[0] and "inputs (X) are not finite (nan at position" in messages[0]


# --- falling back ----------------------------------------------------------------------------------
def test_a_replaced_training_step_falls_back_with_one_warning(backend):
    """A notebook cell's ``training_step`` (here added to a subclass, so d2lx's class stays as it is) runs
    on every batch, on the default loop, after one warning naming it."""
    calls = []

    class Replaced(backend.LinearRegressionScratch):
        pass

    @backend.add_to_class(Replaced)
    def training_step(self, *args):
        calls.append(1)
        return backend.LinearRegressionScratch.training_step(self, *args)

    def replaced(d2l):
        return Replaced(2, lr=0.03)

    default = _fit(backend, replaced, _synthetic, False, max_epochs=2)
    calls.clear()
    compiled = _fit(backend, replaced, _synthetic, True, max_epochs=2)
    expected = (
        NO_MXNET_PATH
        if backend_name(backend) == "mxnet"
        else FALLBACK + "Replaced.training_step was replaced (by a notebook cell?); the compiled path needs d2lx's own."
    )
    assert compiled[2] == [expected]
    assert len(calls) == 64  # 2 epochs of 32 batches, each through the cell's training_step
    _assert_same_training(backend, default, compiled, atol=0)


def test_a_fit_epoch_around_d2lxs_keeps_the_compiled_path(backend):
    """The compiled path runs inside d2lx's ``fit_epoch``: a cell's ``fit_epoch`` that calls it (here a
    timer, as ``bench/bench.py`` sets on the instance) still trains compiled, to the same numbers."""
    _compiled_backend(backend)
    epochs, runs = [], []
    for jit in (False, True):
        backend.set_seed(0)
        data, model = _synthetic(backend), _linear_scratch(backend)
        trainer = backend.Trainer(max_epochs=2, limit_train_batches=3, jit_compile=jit)

        def timed(own_fit_epoch=trainer.fit_epoch):
            epochs.append(jit)
            own_fit_epoch()

        trainer.fit_epoch = timed
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer.fit(model, data)
        assert not [w for w in caught if "jit_compile" in str(w.message)]
        runs.append((trainer, model, []))
    assert epochs == [False, False, True, True]
    _assert_same_training(backend, *runs)


def test_a_replaced_fit_epoch_falls_back_after_the_first_epoch(backend):
    """A cell's ``fit_epoch`` that does not call d2lx's: it trains, and the first epoch tells."""
    _compiled_backend(backend)
    epochs = []

    class Trainer(backend.Trainer):
        def fit_epoch(self):  # a loop of one's own: counts the epochs and trains nothing
            epochs.append(self.epoch)

    backend.set_seed(0)
    trainer = Trainer(max_epochs=2, limit_train_batches=3, jit_compile=True)
    with pytest.warns(UserWarning) as caught:
        trainer.fit(_linear_scratch(backend), _synthetic(backend))
    assert [str(w.message) for w in caught if "jit_compile" in str(w.message)] == [
        FALLBACK + "Trainer.fit_epoch was replaced (by a notebook cell?); the compiled path needs d2lx's own."
    ]
    assert epochs == [0, 1] and trainer.train_batch_idx == 0


def test_a_failed_compilation_falls_back(backend, monkeypatch):
    """Compiling fails (simulated: the compiler raises): one warning quoting the error, and the default
    loop trains the rest of the fit, to its own numbers."""
    _compiled_backend(backend)
    name = backend_name(backend)
    trainer_module = importlib.import_module(f"d2lx.{name}.trainer")

    def failing(*args, **kwargs):
        raise RuntimeError("no compiler today\nmore detail")

    if name == "torch":
        monkeypatch.setattr(trainer_module.torch, "compile", lambda function, **options: failing)
        what = "torch.compile failed"
    elif name == "jax":
        monkeypatch.setattr(trainer_module.CompiledEpochs, "_compiled", staticmethod(lambda *args: failing))
        what = "JAX could not compile the training epoch"
    else:
        real = trainer_module._function
        monkeypatch.setattr(
            trainer_module, "_function", lambda f, xla, autograph: failing if xla else real(f, xla, autograph)
        )
        what = "XLA could not compile the training step"
    runs = [_fit(backend, _linear_scratch, _synthetic, jit, max_epochs=2) for jit in (False, True)]
    assert runs[1][2] == [FALLBACK + what + " (RuntimeError: no compiler today)."]
    _assert_same_training(backend, *runs, atol=0)


def test_mxnet_warns_that_it_has_no_compiled_path(backend):
    if backend_name(backend) != "mxnet":
        pytest.skip("only MXNet has no compiled path")
    default = _fit(backend, _linear_scratch, _synthetic, False, max_epochs=2)
    compiled = _fit(backend, _linear_scratch, _synthetic, True, max_epochs=2)
    assert compiled[2] == [NO_MXNET_PATH]
    _assert_same_training(backend, default, compiled, atol=0)


def test_jax_data_that_is_not_resident_falls_back(backend):
    """JAX compiles the epoch from the loader's resident arrays; a loader of another kind (here a list of
    batches) trains on the default loop, after a warning that says so."""
    if backend_name(backend) != "jax":
        pytest.skip("only JAX compiles the whole epoch from the data's arrays")

    class ListedData(backend.DataModule):
        def __init__(self):
            super().__init__()
            self.data = _synthetic(backend)

        def get_dataloader(self, train):
            return list(self.data.get_dataloader(train))

    default = _fit(backend, _linear_scratch, lambda d2l: ListedData(), False, max_epochs=2)
    compiled = _fit(backend, _linear_scratch, lambda d2l: ListedData(), True, max_epochs=2)
    assert compiled[2] == [
        FALLBACK + "the training loader does not serve d2lx's resident arrays (an ArrayLoader, as get_tensorloader "
        "and d2lx's data modules give); the compiled epoch gathers its batches on the device."
    ]
    _assert_same_training(backend, default, compiled, atol=0)


def test_jax_book_scratch_sgd_falls_back(backend):
    """The book's JAX ``sgd`` keeps the class ``optax.EmptyState`` as its state, which ``jax.jit`` cannot
    take: the default loop trains it uncompiled, as it does without ``jit_compile``."""
    if backend_name(backend) != "jax":
        pytest.skip("a JAX optimizer")
    import jax
    import optax

    def sgd(lr):  # the book's section 3.4
        def init(params):
            del params
            return optax.EmptyState

        def update(updates, state, params=None):
            del params
            return jax.tree_util.tree_map(lambda g: -lr * g, updates), state

        return optax.GradientTransformation(init, update)

    class BookSGD(backend.LinearRegressionScratch):
        def configure_optimizers(self):
            return sgd(self.lr)

    runs = [
        _fit(backend, lambda d2l: BookSGD(2, lr=0.03), _synthetic, jit, limit_train_batches=4) for jit in (False, True)
    ]
    assert runs[1][2] == [
        FALLBACK + "the TrainState holds something jax.jit cannot take (the book's scratch SGD keeps the class "
        "optax.EmptyState as its state); the compiled epoch passes the whole state."
    ]
    _assert_same_training(backend, *runs, atol=0)


# --- the switch ------------------------------------------------------------------------------------
def test_the_environment_turns_it_on_and_an_argument_wins(backend, monkeypatch):
    assert backend.Trainer.jit_compile is False  # for a notebook cell's own __init__
    assert backend.Trainer(max_epochs=1).jit_compile is False
    monkeypatch.setenv("D2LX_JIT_COMPILE", "1")
    assert backend.Trainer(max_epochs=1).jit_compile is True
    assert backend.Trainer(max_epochs=1, jit_compile=False).jit_compile is False
    monkeypatch.setenv("D2LX_JIT_COMPILE", " Off ")
    assert backend.Trainer(max_epochs=1).jit_compile is False
    assert backend.Trainer(max_epochs=1, jit_compile=True).jit_compile is True


@pytest.mark.parametrize("value", ["yes", 1, None.__class__])
def test_a_bad_argument_is_named(backend, value):
    with pytest.raises(TypeError) as info:
        backend.Trainer(max_epochs=1, jit_compile=value)
    described = {"yes": "'yes' (str)", 1: "1", None.__class__: "<class 'NoneType'> (type)"}[value]
    assert str(info.value) == f"jit_compile must be True or False, got {described}"


def test_a_bad_environment_variable_is_named(backend, monkeypatch):
    monkeypatch.setenv("D2LX_JIT_COMPILE", "maybe")
    with pytest.raises(ValueError) as info:
        backend.Trainer(max_epochs=1)
    assert str(info.value) == "D2LX_JIT_COMPILE must be 1 or 0 (or true/false, yes/no, on/off), got 'maybe'"
