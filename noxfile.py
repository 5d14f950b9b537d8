"""The test matrix: one virtual environment per backend, plus lint.

Backends cannot share an environment (MXNet 1.9.1 needs numpy<1.24; JAX and
TensorFlow need numpy>=1.26), so each gets its own session. ``nox`` runs them
all; ``nox -s tests-torch`` runs one; ``nox -l`` lists them.

Per backend there are two sessions: ``tests-<backend>``
(pytest) and ``notebooks-<backend>`` (executes ``notebooks/<backend>/*.ipynb``), each in its own
environment.
Adding a backend is one entry in ``BACKENDS``. ``tests-<backend>-3.13`` runs the
suite on the newest Python with numpy 2 (``tests-core-3.13``: the core without any framework).
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

# backend -> (python version, extra pip arguments such as a constraints file)
BACKENDS = {
    "torch": ("3.11", ["-c", ".ci/constraints-torch.txt"]),
    # MXNet 1.9.1 imports only with numpy<1.24 (so Python <= 3.11); the extra's bounds say so
    "mxnet": ("3.11", []),
    # JAX on CPU: jax, jaxlib, flax (linen), optax; no TensorFlow
    "jax": ("3.11", []),
    "tensorflow": ("3.11", ["-c", ".ci/constraints-tensorflow.txt"]),
}

# The newest Python, tested with numpy 2 for the core and the backends that support it. PyTorch's
# registry wheels for other Pythons are multi-GB CUDA builds and MXNet stops at 3.11, so they stay
# on 3.11 (see README). "core" is the package without any framework.
NEWEST_PYTHON = "3.13"
ON_NEWEST_PYTHON = ("core", "jax", "tensorflow")

# backend -> the pip extra its environments install, where that is not the backend's name
PIP_EXTRA = {"tensorflow": "tensorflow-cpu"}  # CI has no GPU: the CPU-only wheel is much smaller


@nox.session(python="3.11")
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
    session.install(*pip_args, "-e", f".[{PIP_EXTRA.get(backend, backend)},{extras}]")


def _tests(session: nox.Session, backend: str) -> None:
    _install(session, backend, "test")
    selection = [] if backend == "core" else ["--backend", backend]  # core: backend tests have no backend
    session.run("pytest", "-q", *selection, *session.posargs, env={"MPLBACKEND": "Agg"})


def _notebooks(session: nox.Session, backend: str) -> None:
    _install(session, backend, "notebooks")
    session.run("python", "notebooks/run.py", backend, *session.posargs)


for _backend, (_python, _) in BACKENDS.items():
    nox.session(python=_python, name=f"tests-{_backend}")(lambda session, b=_backend: _tests(session, b))
    nox.session(python=_python, name=f"notebooks-{_backend}")(lambda session, b=_backend: _notebooks(session, b))
for _backend in ON_NEWEST_PYTHON:
    nox.session(python=NEWEST_PYTHON, name=f"tests-{_backend}-{NEWEST_PYTHON}")(
        lambda session, b=_backend: _tests(session, b)
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
