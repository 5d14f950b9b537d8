"""The test matrix: one virtual environment per backend, plus lint.

Backends cannot share an environment (MXNet 1.9.1 needs numpy<1.24; JAX and
TensorFlow need numpy>=1.26), so each gets its own session. ``nox`` runs them
all; ``nox -s tests-torch`` runs one; ``nox -l`` lists them.

Per backend there are two sessions: ``tests-<backend>``
(pytest) and ``notebooks-<backend>`` (executes ``notebooks/<backend>/*.ipynb`` on a reduced
training budget, see ``notebooks/run.py``). The notebooks run in the tests' environment, which
installs the ``notebooks`` extra too: one environment per backend instead of two saves CI a framework
install per backend (minutes on two cores), and ``nox -s notebooks-torch`` therefore runs
``tests-torch`` first (or run ``.nox/tests-torch/bin/python notebooks/run.py torch``). ``tests-<backend>-3.13``
runs the suite on the newest Python with numpy 2 (``tests-core-3.13``: the core without any
framework), less the tests marked ``full_training`` (the book's full Fashion-MNIST trainings,
minutes each on two cores), which ``tests-<backend>`` has run already. ``book-<backend>``
(``nox -t book``) installs the backend's book extra, what the book's own cells import, and checks it.

The backends, their pip extras and their Pythons come from ``d2lx/backends.py``, the registry that the
CLI, the tests and the benchmark read too (loaded here by file path: nox's own Python has no d2lx).
Adding a backend is one entry there.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True


def _load_registry():
    path = Path(__file__).resolve().parent / "d2lx" / "backends.py"
    spec = importlib.util.spec_from_file_location("d2lx_backends", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


d2lx_backends = _load_registry()

# backend -> (python version, extra pip arguments such as a constraints file); why each backend has the
# Pythons and constraints it has is written next to its entry in d2lx/backends.py
BACKENDS = {b.name: (b.pythons[0], list(b.ci_pip_args)) for b in d2lx_backends.BACKENDS}

# The newest Python, tested with numpy 2 for the core and the backends that support it. PyTorch's
# registry wheels for other Pythons are multi-GB CUDA builds and MXNet stops at 3.11, so they stay
# on 3.11 (see README). "core" is the package without any framework.
NEWEST_PYTHON = d2lx_backends.NEWEST_PYTHON
ON_NEWEST_PYTHON = d2lx_backends.tested_on(NEWEST_PYTHON)

# backend -> the pip extra its environments install (tensorflow: tensorflow-cpu, CI has no GPU)
PIP_EXTRA = {b.name: b.ci_extra for b in d2lx_backends.BACKENDS}

# pytest-xdist workers: most of the suite's time is single-threaded (compiling XLA and TensorFlow
# graphs, Python), so two workers on CI's two cores finish sooner; more than two would multiply the
# memory of the chapter 8 models for little gain. D2LX_TEST_WORKERS overrides (1: no xdist).
CPUS = os.cpu_count() or 1
TEST_WORKERS = int(os.environ.get("D2LX_TEST_WORKERS", min(2, CPUS)))


@nox.session(python=d2lx_backends.MAIN_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting, for the whole tree."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def _install(session: nox.Session, backend: str, extras: str) -> None:
    if backend == "core":
        session.install("-e", f".[{extras}]")
        return
    _, pip_args = BACKENDS[backend]
    session.install(*pip_args, "-e", f".[{PIP_EXTRA[backend]},{extras}]")


def _tests(session: nox.Session, backend: str, newest: bool = False) -> None:
    # the backend's main environment also runs its notebooks (notebooks-<backend>); the newest Python's does not
    _install(session, backend, "test" if newest or backend == "core" else "test,notebooks")
    selection = [] if backend == "core" else ["--backend", backend]  # core: backend tests have no backend
    if newest:  # the long trainings ran in tests-<backend> already; here the rest checks the newer versions
        selection += ["-m", "not full_training"]
    env = {"MPLBACKEND": "Agg"}
    if TEST_WORKERS > 1:  # pytest-xdist: tests spread over the cores, each worker capped to its share
        selection += ["-n", str(TEST_WORKERS)]
        env.update(d2lx_backends.thread_caps(max(1, CPUS // TEST_WORKERS)))
    session.run("pytest", "-q", *selection, *session.posargs, env=env)


def _notebooks(session: nox.Session, backend: str) -> None:
    python = Path(".nox") / f"tests-{backend}" / "bin" / "python"  # the environment tests-<backend> made
    session.run(str(python), "notebooks/run.py", backend, *session.posargs, external=True)


for _backend, (_python, _) in BACKENDS.items():
    nox.session(python=_python, name=f"tests-{_backend}")(lambda session, b=_backend: _tests(session, b))
    nox.session(python=False, name=f"notebooks-{_backend}", requires=[f"tests-{_backend}"])(
        lambda session, b=_backend: _notebooks(session, b)
    )
for _backend in ON_NEWEST_PYTHON:
    nox.session(python=NEWEST_PYTHON, name=f"tests-{_backend}-{NEWEST_PYTHON}")(
        lambda session, b=_backend: _tests(session, b, newest=True)
    )


def _book(session: nox.Session, backend: str) -> None:
    entry = d2lx_backends.get(backend)
    session.install(*entry.book_ci_pip_args, "-e", f".[{entry.book_extra}]")
    session.run("python", "-m", "d2lx", "book-check", "--backend", backend)


# The book extras (README, "Reading the book"): each installs and passes ``python -m d2lx book-check``.
# Not in the default sessions: ``nox -t book`` runs them, and ``.ci/run`` does so beside the matrix,
# since their minutes are downloads and unpacking (several GB for torch's pair), not the CPU.
BOOK_SESSIONS = [f"book-{b.name}" for b in d2lx_backends.BACKENDS if b.book_imports]
for _session in BOOK_SESSIONS:
    nox.session(python=d2lx_backends.MAIN_PYTHON, name=_session, tags=["book"])(
        lambda session, b=_session.removeprefix("book-"): _book(session, b)
    )


@nox.session(python=False, requires=[f"tests-{b}" for b in BACKENDS])
def parity(session: nox.Session) -> None:
    """Same seed, same numbers: the seeded workloads in every backend's test environment, one table."""
    out = Path(session.create_tmp()) / "parity"
    out.mkdir(exist_ok=True)
    reports = []
    for backend in BACKENDS:
        python = Path(".nox") / f"tests-{backend}" / "bin" / "python"
        report = out / f"{backend}.json"
        session.run(str(python), "-m", "d2lx", "parity", "--backend", backend, "--out", str(report), external=True)
        reports.append(str(report))
    session.run(str(python), "-m", "d2lx", "parity", "--report", *reports, external=True)


@nox.session(python=False, name="bench-smoke", requires=[f"tests-{b}" for b in BACKENDS])
def bench_smoke(session: nox.Session) -> None:
    """The benchmark (bench/bench.py) on tiny sizes in every backend's test environment: it runs; no timing."""
    for backend in BACKENDS:
        python = Path(".nox") / f"tests-{backend}" / "bin" / "python"
        smoke = ["--backend", backend, "--tiny", "--libs", "d2lx", "hand"]
        session.run(str(python), "bench/bench.py", *smoke, external=True)


nox.options.sessions = (
    ["lint"]
    + [f"{kind}-{b}" for b in BACKENDS for kind in ("tests", "notebooks")]
    + [f"tests-{b}-{NEWEST_PYTHON}" for b in ON_NEWEST_PYTHON]
    + ["parity", "bench-smoke"]
)
