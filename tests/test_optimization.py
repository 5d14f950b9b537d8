"""Chapter 12 (Optimization Algorithms; 11 in the 2.0 edition) on every backend: the book's optimizer cells
(``optimization_book.py``) trained by ``train_ch11`` on the airfoil data, the concise loop, ``train_2d`` on a
worked case, the plots, and the errors of bad arguments.

The loss thresholds were measured: at the book's batch size 10, every from-scratch optimizer ended between
0.242 and 0.251 after the book's two epochs on all four backends (seeds 0 and 1), as the book's chapter shows
(about 0.243-0.25), and between 0.242 and 0.250 after one epoch (seeds 0-2); the tests train one epoch (the
book's TensorFlow cells update their variables eagerly, slice by slice) and assert below 0.255.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from helpers import backend_name, staged_data
from optimization_book import book

from d2lx import hub
from d2lx.plotting import to_numpy

BOOK_LOSS = 0.255  # measured: 0.242-0.251 at batch size 10 after one or two epochs, every optimizer and backend
SECTIONS = ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam", "yogi")


@pytest.fixture
def airfoil(monkeypatch, no_budget):
    """The staged ``airfoil_self_noise.dat`` as ``D2LX_DATA_DIR``; the hub cannot download."""
    sha1 = hub.DATA_HUB["airfoil"][1]
    staged_data(monkeypatch, {"airfoil_self_noise.dat": sha1}, "airfoil_self_noise.dat")
    monkeypatch.setitem(hub.DATA_HUB, "airfoil", ("http://127.0.0.1:9/airfoil_self_noise.dat", sha1))


_TRAINED: dict[tuple[str, str, str], tuple] = {}  # (backend, scratch|concise, section) -> (times, losses, output)


def _trained(d2l, kind: str, name: str, capsys) -> tuple:
    """The book's ``train_ch11`` (or ``train_concise_ch11``) cell of section ``name`` at the book's batch size,
    run once per session: seeded with 0, batch size 10, one epoch."""
    key = (backend_name(d2l), kind, name)
    if key not in _TRAINED:
        d2l.set_seed(0)
        data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
        if kind == "scratch":
            trainer_fn, states, hyperparams = book(d2l).scratch(d2l)[name]
            times, losses = d2l.train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=1)
        else:
            trainer, hyperparams = book(d2l).concise(d2l)[name]
            times, losses = d2l.train_concise_ch11(trainer, hyperparams, data_iter, num_epochs=1)
        _TRAINED[key] = (times, losses, capsys.readouterr().out)
    return _TRAINED[key]


@pytest.mark.parametrize("name", SECTIONS)
def test_each_book_optimizer_reaches_the_books_loss(backend, airfoil, capsys, name):
    times, losses, out = _trained(backend, "scratch", name, capsys)
    # 1500 examples in 10s: a point every 200, 7 in all, at epochs 2/15, 4/15, ..., 14/15
    assert len(losses) == len(times) == 7
    assert losses[-1] < BOOK_LOSS
    assert losses[0] > losses[-1]  # it learned
    assert all(b >= a for a, b in zip(times, times[1:]))  # cumulative
    assert re.fullmatch(rf"loss: {losses[-1]:.3f}, \d+\.\d{{3}} sec/epoch\n", out)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_scratch_and_concise_versions_agree(backend, airfoil, capsys, name):
    """The book's concise cell (the framework's optimizer) ends where its from-scratch cell does: same data
    order (seed 0), the same algorithm. Measured differences: at most 0.007 (the SGD cells of PyTorch and
    TensorFlow, whose steps differ from the scratch one's: their losses have no factor 1/2)."""
    scratch = _trained(backend, "scratch", name, capsys)[1]
    concise = _trained(backend, "concise", name, capsys)[1]
    assert len(concise) == 7
    assert concise[-1] < BOOK_LOSS
    assert abs(scratch[-1] - concise[-1]) < 0.01


def test_the_books_concise_cells_run(backend, airfoil, monkeypatch, capsys):
    """Every ``train_concise_ch11`` cell of the chapter, on a budget of 20 batches of one epoch."""
    monkeypatch.setenv("D2LX_LIMIT_TRAIN_BATCHES", "20")
    for name, (trainer, hyperparams) in book(backend).concise(backend).items():
        data_iter, _ = backend.get_data_ch11(batch_size=10)
        times, losses = backend.train_concise_ch11(trainer, hyperparams, data_iter, num_epochs=1)
        assert len(losses) == len(times) == 1, name  # 200 examples: one point
        assert 0.2 < losses[0] < 1.5, (name, losses)  # the whitened labels' variance is 1 (0.5 in half squares)


def test_get_data_ch11_whitens_the_first_n_rows(backend, airfoil):
    data_iter, feature_dim = backend.get_data_ch11(batch_size=30, n=100)
    assert feature_dim == 5
    assert len(data_iter) == 4  # 100 rows in batches of 30: the last has 10
    batches = list(data_iter)  # one pass: each pass draws another order
    X, y = (np.concatenate([to_numpy(b[i]) for b in batches]) for i in (0, 1))
    assert X.shape == (100, 5) and y.shape == (100,) and X.dtype == np.float32
    raw = np.genfromtxt(hub.download("airfoil"), dtype=np.float32, delimiter="\t")
    whitened = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    got = np.column_stack([X, y])
    expected = whitened[:100]
    # the loader shuffles: compare the rows, each sorted the same way
    np.testing.assert_allclose(got[np.lexsort(got.T)], expected[np.lexsort(expected.T)], rtol=1e-6, atol=1e-6)


def test_train_2d_on_a_worked_case(backend, capsys):
    """Gradient descent with eta = 0.1 on f = x1^2 + 2 x2^2 multiplies x1 by 0.8 and x2 by 0.6 each step."""
    eta = 0.1

    def gd_2d(x1, x2, s1, s2):
        return (x1 - eta * 2 * x1, x2 - eta * 4 * x2, 0, 0)

    results = backend.train_2d(gd_2d)
    assert len(results) == 21 and results[0] == (-5, -2)
    np.testing.assert_allclose(results[-1], (-5 * 0.8**20, -2 * 0.6**20), rtol=1e-12)
    assert capsys.readouterr().out == "epoch 20, x1: -0.057646, x2: -0.000073\n"

    def with_grad(x1, x2, s1, s2, f_grad):  # the SGD section's trainer takes the gradient function
        g1, g2 = f_grad(x1, x2)
        return (x1 - eta * g1, x2 - eta * g2, s1 + 1, s2)

    results = backend.train_2d(with_grad, steps=3, f_grad=lambda x1, x2: (2 * x1, 4 * x2))
    np.testing.assert_allclose(results, [(-5, -2), (-4, -1.2), (-3.2, -0.72), (-2.56, -0.432)])


def test_train_2d_takes_one_element_tensors(backend, capsys):
    """The book's noisy SGD (12.4) adds a tensor of shape (1,) to each coordinate; TensorFlow's ``float``
    refuses such a tensor under NumPy 2, d2lx's ``train_2d`` and ``show_trace_2d`` take it on every backend."""
    from matplotlib import pyplot as plt

    half = backend.ones(1) / 2
    results = backend.train_2d(lambda x1, x2, s1, s2: (x1 * half, x2 * half, s1, s2), steps=2)
    assert capsys.readouterr().out == "epoch 2, x1: -1.250000, x2: -0.500000\n"
    backend.show_trace_2d(lambda x1, x2: x1**2 + 2 * x2**2, results)
    np.testing.assert_allclose(plt.gca().get_lines()[-1].get_ydata(), [-2, -1, -0.5])
    plt.close("all")


def test_show_trace_2d_and_annotate_draw(backend, capsys):
    from matplotlib import pyplot as plt

    plt.close("all")
    results = backend.train_2d(lambda x1, x2, s1, s2: (x1 / 2, x2 / 2, 0, 0), steps=4)
    backend.show_trace_2d(lambda x1, x2: x1**2 + 2 * x2**2, results)
    axes = plt.gca()
    (trace,) = axes.get_lines()
    np.testing.assert_allclose(trace.get_xdata(), [-5, -2.5, -1.25, -0.625, -0.3125])
    assert axes.get_xlabel() == "x1" and axes.get_ylabel() == "x2"
    backend.annotate("minimum", (0, 0), (-2, 0.5))
    (note,) = [t for t in axes.texts if t.get_text() == "minimum"]
    assert note.xy == (0, 0)
    plt.close("all")


def test_the_saddle_point_grid_of_12_1(backend):
    """The book's saddle-point cell (12.1): ``d2l.meshgrid`` of two ``d2l.linspace`` without ``indexing``
    warns nowhere (PyTorch warns that a later release will require the argument) and gives each framework's
    own grid: "ij" on PyTorch, NumPy's "xy" elsewhere. ``z = x**2 - y**2`` is checked against NumPy's."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, y = backend.meshgrid(backend.linspace(-1.0, 1.0, 3), backend.linspace(-1.0, 1.0, 5))
    z = x**2 - y**2
    indexing = "ij" if backend_name(backend) == "torch" else "xy"
    nx, ny = np.meshgrid(np.linspace(-1.0, 1.0, 3), np.linspace(-1.0, 1.0, 5), indexing=indexing)
    assert tuple(z.shape) == nx.shape == ((3, 5) if indexing == "ij" else (5, 3))
    np.testing.assert_allclose(to_numpy(x), nx, atol=1e-7)
    np.testing.assert_allclose(to_numpy(z), nx**2 - ny**2, atol=1e-6)


def test_a_short_budget_still_reports_its_loss(backend, airfoil, monkeypatch, capsys):
    """Under ``D2LX_FAST_DEV_RUN=2`` no point falls on a multiple of 200 examples: the last one is drawn."""
    monkeypatch.setenv("D2LX_FAST_DEV_RUN", "2")
    trainer_fn, states, hyperparams = book(backend).scratch(backend)["sgd"]
    data_iter, feature_dim = backend.get_data_ch11(batch_size=10)
    times, losses = backend.train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=5)
    assert len(losses) == len(times) == 1 and math.isfinite(losses[0])
    assert capsys.readouterr().out.startswith(f"loss: {losses[0]:.3f}, ")


def test_a_diverging_learning_rate_is_named(backend, airfoil, capsys):
    trainer_fn, states, _ = book(backend).scratch(backend)["sgd"]
    data_iter, feature_dim = backend.get_data_ch11(batch_size=10)
    with pytest.raises(backend.TrainingDivergedError, match=r"^the loss became (inf|nan) after 200 examples: lower "
                       r"the learning rate in hyperparams$"):  # fmt: skip
        backend.train_ch11(trainer_fn, states, {"lr": 1e18}, data_iter, feature_dim)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda d2l: d2l.get_data_ch11(batch_size=0), ValueError, "batch_size must be a positive int, got 0"),
        (lambda d2l: d2l.get_data_ch11(batch_size=2.5), TypeError, "batch_size must be a positive int, got 2.5"),
        (lambda d2l: d2l.get_data_ch11(n=2000), ValueError,
         "n must be at most 1503, the rows of the airfoil data, got 2000"),
        (lambda d2l: d2l.get_data_ch11(n=0), ValueError, "n must be a positive int, got 0"),
        (lambda d2l: d2l.train_ch11(None, None, {"lr": 0.1}, *d2l.get_data_ch11()), TypeError,
         "trainer_fn must be a function"),
        (lambda d2l: d2l.train_ch11(book(d2l).scratch(d2l)["sgd"][0], None, 0.1, *d2l.get_data_ch11()), TypeError,
         "hyperparams must be a dict such as {'lr': 0.05}, got 0.1"),
        (lambda d2l: d2l.train_ch11(book(d2l).scratch(d2l)["sgd"][0], None, {"lr": -0.1}, *d2l.get_data_ch11()),
         ValueError, "hyperparams['lr'] must be a positive number, got -0.1"),
        (lambda d2l: d2l.train_ch11(book(d2l).scratch(d2l)["sgd"][0], None, {"lr": 0.1}, d2l.get_data_ch11()[0], 0),
         ValueError, "feature_dim must be a positive int, got 0"),
        (lambda d2l: d2l.train_concise_ch11(book(d2l).concise(d2l)["sgd"][0], {"learning_rate": float("nan")},
                                            d2l.get_data_ch11()[0]), ValueError,
         "hyperparams['learning_rate'] must be a positive number, got nan"),
    ],
)  # fmt: skip
def test_bad_arguments_are_named(backend, airfoil, call, error, message):
    with pytest.raises(error, match="^" + re.escape(message)):
        call(backend)


def test_the_learning_rate_schedules_of_12_11(backend):
    """The section's schedules, as its plotting cells draw them, at values worked out by hand. The multi-factor
    policy halves the rate from epoch 15 and again from 30; MXNet's ``MultiFactorScheduler`` counts updates and
    halves once ``num_update`` is past a step, so one call later."""
    got = book(backend).schedules(backend)
    assert got["square_root"][:4] == pytest.approx([1.0, 0.5**0.5, 3**-0.5, 0.5], rel=1e-12)
    assert got["square_root"][8] == pytest.approx(1 / 3, rel=1e-12)
    factor = got["factor"]
    assert factor[:3] == pytest.approx([1.8, 1.62, 1.458], rel=1e-12)
    assert factor[49] == pytest.approx(0.010307, rel=1e-4)  # 2 * 0.9**50, the last above the floor
    assert factor[50:] == [0.01] * 10
    first = 16 if backend_name(backend) == "mxnet" else 15
    assert got["multi_factor"] == pytest.approx([0.5] * first + [0.25] * 15 + [0.125] * (60 - first - 15))
    close = {"rel": 1e-6, "abs": 1e-7}  # Optax computes in float32
    cosine = got["cosine"]
    assert [cosine[0], cosine[5], cosine[10]] == pytest.approx([0.3, 0.01 + 0.145 * (1 + 0.5**0.5), 0.155], **close)
    assert cosine[20:] == pytest.approx([0.01] * 40, **close)  # pinned to the final rate after max_update
    warmup = got["warmup"]
    assert warmup[:6] == pytest.approx([0.0, 0.06, 0.12, 0.18, 0.24, 0.3], **close)  # linear to the base rate
    assert warmup[10] == pytest.approx(0.01 + 0.145 * 1.5, **close)  # a third of the way down: cos(pi / 3)
    assert warmup[20:] == pytest.approx([0.01] * 40, **close)
