"""One suite for every backend: tests that take ``backend`` run once per backend.

Which backends: those named by ``--backend NAME`` (repeatable) or the
environment variable ``D2LX_BACKEND`` (comma-separated); otherwise every
backend whose framework is installed. A backend that was asked for but cannot
be imported is an error, not a skip. The backends and their frameworks come from
``d2lx.backends``, the registry.
"""

from __future__ import annotations

import functools
import importlib
import os

import pytest

from d2lx import backends

BACKENDS = backends.names()


def pytest_addoption(parser):
    parser.addoption("--backend", action="append", default=[], choices=BACKENDS, help="backend(s) to test")


def _requested(config) -> list[str]:
    names = list(config.getoption("--backend"))
    env = os.environ.get("D2LX_BACKEND", "")
    names += [n.strip() for n in env.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown:
        raise pytest.UsageError(f"unknown backend(s) {unknown}; choose from {list(BACKENDS)}")
    return list(dict.fromkeys(names))


def pytest_collection_modifyitems(config, items):
    """The long trainings (marked ``full_training``) first, the rest after them in their own order.

    pytest-xdist hands the tests to its workers in this order (CI runs two): a minute-long training that
    starts last leaves the other worker idle until it ends, while short tests at the end even the
    workers out. Every test stays independent of the order.
    """
    items.sort(key=lambda item: item.get_closest_marker("full_training") is None)  # a stable sort


@functools.cache
def _gpu_count(name: str) -> int:
    return importlib.import_module(f"d2lx.{name}").num_gpus()


def pytest_runtest_setup(item):
    """A test marked ``gpu`` runs only where its backend has a GPU: the backend it is parametrized with,
    or the marker's ``backend=`` (a framework's own test file). Elsewhere it is skipped, saying so."""
    marker = item.get_closest_marker("gpu")
    if marker is None:
        return
    callspec = getattr(item, "callspec", None)
    name = callspec.params["backend"] if callspec and "backend" in callspec.params else marker.kwargs.get("backend")
    if name is None:
        raise pytest.UsageError(f"{item.nodeid}: a gpu test takes the backend fixture or says gpu(backend=NAME)")
    requested = _requested(item.config)
    if requested and name not in requested:  # a framework's own file, collected for another backend
        pytest.skip(f"a GPU test of {name}, which is not among --backend {requested}")
    if _gpu_count(name) == 0:
        pytest.skip(f"needs a GPU that {name} can use (on a GPU machine: pytest -m gpu --backend {name})")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        names = _requested(metafunc.config) or list(backends.installed())
        metafunc.parametrize("backend", names, indirect=True)


@pytest.fixture
def backend(request):
    """The imported ``d2lx.<name>`` module, seeded with 0."""
    module = importlib.import_module(f"d2lx.{request.param}")
    module.set_seed(0)
    return module


@pytest.fixture(autouse=True)
def _no_progress_bars(monkeypatch):
    monkeypatch.setenv("D2LX_PROGRESS", "0")


# The trainers' budget variables (notebooks/run.py sets them for its kernels; a developer may have them set)
BUDGET_VARIABLES = ("D2LX_LIMIT_TRAIN_BATCHES", "D2LX_LIMIT_VAL_BATCHES", "D2LX_FAST_DEV_RUN", "D2LX_OVERFIT_BATCHES",
                    "D2LX_MAX_BATCH_SIZE")  # fmt: skip


@pytest.fixture
def no_budget(monkeypatch):
    """No budget variable from outside: a test that trains gets the budget it asks for, and no other."""
    for variable in BUDGET_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def fra_eng(monkeypatch):
    """The staged ``fra-eng.zip`` as ``D2LX_DATA_DIR`` (see ``helpers.staged_data``); the hub cannot download."""
    from helpers import staged_data

    from d2lx import hub

    sha1 = hub.DATA_HUB["fra-eng"][1]
    staged_data(monkeypatch, {"fra-eng.zip": sha1}, "fra-eng.zip")
    monkeypatch.setitem(hub.DATA_HUB, "fra-eng", ("http://127.0.0.1:9/fra-eng.zip", sha1))


@pytest.fixture
def time_machine(monkeypatch):
    """The staged ``timemachine.txt`` as ``D2LX_DATA_DIR`` (see ``helpers.staged_data``); the hub cannot download."""
    from helpers import staged_data

    from d2lx import hub

    sha1 = hub.DATA_HUB["time_machine"][1]
    staged_data(monkeypatch, {"timemachine.txt": sha1}, "timemachine.txt")
    monkeypatch.setitem(hub.DATA_HUB, "time_machine", ("http://127.0.0.1:9/timemachine.txt", sha1))
