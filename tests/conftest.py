"""One suite for every backend: tests that take ``backend`` run once per backend.

Which backends: those named by ``--backend NAME`` (repeatable) or the
environment variable ``D2LX_BACKEND`` (comma-separated); otherwise every
backend whose framework is installed. A backend that was asked for but cannot
be imported is an error, not a skip. The backends and their frameworks come from
``d2lx.backends``, the registry.
"""

from __future__ import annotations

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
