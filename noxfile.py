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
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
# uv makes the matrix's environments (seconds each, against a minute or two for pip: .ci/run installs it
# beside nox); without uv, nox falls back to virtualenv and pip. Its cache lives with the environments,
# so deleting .nox deletes it too, and the same file system lets uv hard-link packages rather than copy.
nox.options.default_venv_backend = "uv|virtualenv"
os.environ.setdefault("UV_CACHE_DIR", str(Path(__file__).resolve().parent / ".nox" / ".uv-cache"))
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")  # the Pythons are the machine's (pyenv), never fetched
# uv installs without byte-compiling (pip compiles): with no .pyc in the environment, and Python told not to
# write them (PYTHONDONTWRITEBYTECODE, set on this workplace's machines), every process compiled the
# frameworks' sources again at import: `import tensorflow` took 13 s instead of 5, torch 4.8 instead of 2.0,
# in each notebook's kernel, each pytest worker and each subprocess a test starts. Compiling once at install
# costs about 20 s an environment. d2lx itself, installed editable, is compiled by ``_tests`` (below).
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")


def _load_registry():
    path = Path(__file__).resolve().parent / "d2lx" / "backends.py"
    spec = importlib.util.spec_from_file_location("d2lx_backends", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


d2lx_backends = _load_registry()

# backend -> the Python its tests and notebooks run on; why each backend has the Pythons, extras and
# constraints it has is written next to its entry in d2lx/backends.py, which also builds its pip arguments
BACKENDS = {b.name: b.pythons[0] for b in d2lx_backends.BACKENDS}

# The newest Python, tested with numpy 2 for the core and the backends that support it. PyTorch's
# registry wheels for other Pythons are multi-GB CUDA builds and MXNet stops at 3.11, so they stay
# on 3.11 (see README). "core" is the package without any framework.
NEWEST_PYTHON = d2lx_backends.NEWEST_PYTHON
ON_NEWEST_PYTHON = d2lx_backends.tested_on(NEWEST_PYTHON)

# pytest-xdist workers: most of the suite's time is single-threaded (compiling XLA and TensorFlow
# graphs, Python), so two workers on CI's two cores finish sooner; more than two would multiply the
# memory of the chapter 8 models for little gain. D2LX_TEST_WORKERS overrides (1: no xdist).
CPUS = os.cpu_count() or 1
TEST_WORKERS = int(os.environ.get("D2LX_TEST_WORKERS", min(2, CPUS)))


@nox.session(python=d2lx_backends.MAIN_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting, for the whole tree."""
    session.install(*_uv_arguments(session), "ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def _pip_configuration() -> dict[str, list[str]]:
    """pip's settings on this machine (its config files and PIP_* variables): key -> values."""
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    settings: dict[str, list[str]] = {}
    for line in listed.splitlines():  # global.find-links='/opt/wheels', :env:.find-links='/opt/wheels'
        key, _, value = line.partition("=")
        for item in value.strip().strip("'\"").split():
            values = settings.setdefault(key.rpartition(".")[2], [])
            if item not in values:
                values.append(item)
    return settings


# pip's option -> uv's, for the settings that say where packages come from
_UV_FLAG = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
            "constraint": "--constraint"}  # fmt: skip


def _uv_arguments(session: nox.Session) -> list[str]:
    """What uv needs to install what pip would: uv reads no pip configuration, so the machine's local
    wheels and indexes (and its constraints) are passed on, and pip's rule of the best version across all
    indexes replaces uv's first index that has the package."""
    if getattr(session, "venv_backend", None) != "uv":  # a stand-in session in the tests has none
        return []
    arguments = ["--index-strategy", "unsafe-best-match"]
    settings = _pip_configuration()
    for key, flag in _UV_FLAG.items():
        values = settings.get(key, [])
        if key == "index-url":  # one default index: a PIP_INDEX_URL (listed first) wins over the files'
            values = values[:1]
        arguments += [part for value in values for part in (flag, value)]
    return arguments


def _install(session: nox.Session, backend: str, extras: str) -> None:
    uv_arguments = _uv_arguments(session)
    if backend == "core":
        session.install(*uv_arguments, "-e", f".[{extras}]")
        return
    # the backend's CI extra (tensorflow: tensorflow-cpu, CI has no GPU) and constraints file, if any
    session.install(*uv_arguments, *d2lx_backends.get(backend).ci_install_args(*extras.split(",")))


# What the newest Python's sessions leave to tests-<backend>: the book's long trainings (the marker), and
# the tests that build every chapter 7-8 network (their trainings, save and load, fixed-weight numbers,
# constructor arguments) and of jit_compile, which exercise the frameworks' compilers on the same
# framework releases as there, for minutes of compiling on two cores (tests-jax-3.13 spent half its time
# in test_save_load). The rest (the core, the data, the trainer, chapters 2-7 and 9-10, every backend's
# API) runs again on the newest Python. So do chapters 9-10's layers, scratch RNNs and short trainings
# (test_rnn_concise, test_rnn_scratch, test_rnn_training: Flax and Keras change their recurrent layers most);
# the longer sequence trainings (the 2.0 edition's loops, seq2seq, the benchmark's GRU and Transformer) stay on 3.11.
NEWEST_LEAVES_OUT = ["-m", "not full_training"] + [
    arg
    for test_file in (
        "test_modern_cnn", "test_compiled", "test_save_load", "test_block_numbers", "test_cnn_arguments",
        "test_rnn_functional", "test_seq2seq", "test_seq2seq_functional", "test_bench_rnn_lm",
        "test_bench_transformer",
        # the Fashion-MNIST, airfoil and house-price trainings of chapters 3-7 and 12, chapter 13's multi-device
        # steps, and data parallelism's launches of two processes: the same code on both Pythons, minutes of
        # CI's 90 (the 3.11 sessions run them)
        "test_book_cells", "test_mlp", "test_training", "test_functional", "test_kaggle_house",
        "test_optimization", "test_performance", "test_distributed",
    )
    for arg in ("--ignore", f"tests/{test_file}.py")
]  # fmt: skip
# and chapter 11's trainings of the book's cells (Bahdanau, the Transformer, ViT: the JAX ones compile for a
# minute), while the attention and Transformer layers' numbers and errors run on both Pythons
NEWEST_LEAVES_OUT += [
    arg
    for test in (
        "test_attention.py::test_the_books_bahdanau_training_and_heatmap_cells",
        "test_transformer.py::test_the_books_transformer_trains_and_translates",
        "test_transformer.py::test_the_books_vit_trains",
        "test_cnn.py::test_lenet_learns_fashion_mnist",
    )
    for arg in ("--deselect", f"tests/{test}")
]


# JAX's test and notebook sessions compile with XLA's backend optimisations off. JAX compiles even its eager
# operations, and Flax's initialisers once per parameter shape: on CI's 2-core machine one random-number kernel
# took 1-4 s to compile at the default level and about 0.4 s at level 0, and 12 of the JAX notebooks ran in 105 s
# against 148-158 s (2026-12-04). The compiled code is slower, but these sessions train for seconds and compile
# for minutes. parity and the benchmark keep the default, as users do; an XLA_FLAGS that sets the level wins.
FAST_COMPILE_XLA_FLAG = "--xla_backend_optimization_level=0"


def _fast_compiling_xla() -> dict[str, str]:
    """The environment that makes a JAX session compile quickly (``FAST_COMPILE_XLA_FLAG`` added to XLA_FLAGS)."""
    given = os.environ.get("XLA_FLAGS", "")
    if FAST_COMPILE_XLA_FLAG.split("=")[0] in given:
        return {}
    return {"XLA_FLAGS": f"{given} {FAST_COMPILE_XLA_FLAG}".strip()}


def _tests(session: nox.Session, backend: str, newest: bool = False) -> None:
    # the backend's main environment also runs its notebooks (notebooks-<backend>); the newest Python's does not
    _install(session, backend, "test" if newest or backend == "core" else "test,notebooks")
    # d2lx's own modules, byte-compiled once for this interpreter (PYTHONDONTWRITEBYTECODE, above): 0.4 s
    # of every process that imports a backend, the notebooks' kernels included
    session.run("python", "-m", "compileall", "-q", "d2lx")
    selection = [] if backend == "core" else ["--backend", backend]  # core: backend tests have no backend
    if newest:  # what tests-<backend> ran already; here the rest checks the newer Python and numpy
        selection += NEWEST_LEAVES_OUT
    env = {"MPLBACKEND": "Agg", **(_fast_compiling_xla() if backend == "jax" else {})}
    if TEST_WORKERS > 1:  # pytest-xdist: tests spread over the cores, each worker capped to its share;
        # worksteal: an idle worker takes tests queued for the busy one, so a long test at the end (chapter
        # 8's trainings: 15-50 s each on JAX) does not leave a core idle (tests-jax: 242 s against 259)
        selection += ["-n", str(TEST_WORKERS), "--dist", "worksteal"]
        env.update(d2lx_backends.thread_caps(max(1, CPUS // TEST_WORKERS), environ={**os.environ, **env}))
    # --durations: CI's log names the slowest tests, where the matrix's 40 minutes go
    session.run("pytest", "-q", "--durations=10", *selection, *session.posargs, env=env)


def _notebooks(session: nox.Session, backend: str) -> None:
    env = _fast_compiling_xla() if backend == "jax" else {}
    session.run(_python(backend), "notebooks/run.py", backend, *session.posargs, external=True, env=env)


for _backend, _python in BACKENDS.items():
    nox.session(python=_python, name=f"tests-{_backend}")(lambda session, b=_backend: _tests(session, b))
    nox.session(python=False, name=f"notebooks-{_backend}", requires=[f"tests-{_backend}"])(
        lambda session, b=_backend: _notebooks(session, b)
    )
for _backend in ON_NEWEST_PYTHON:
    nox.session(python=NEWEST_PYTHON, name=f"tests-{_backend}-{NEWEST_PYTHON}")(
        lambda session, b=_backend: _tests(session, b, newest=True)
    )


# ``nox -t book -- --discard``: each book session deletes its environment when it ends, passed or
# failed. The three take about 11 GB together (5.5 for torch's CUDA pair alone); CI runs them beside a
# matrix that takes 8 more, on a disk it shares, and needs only their verdict.
DISCARD = "--discard"


def _book(session: nox.Session, backend: str) -> None:
    unknown = [arg for arg in session.posargs if arg != DISCARD]
    if unknown:
        session.error(f"book sessions take only {DISCARD} (delete the environment at the end), got {unknown}")
    entry = d2lx_backends.get(backend)
    try:
        # --no-compile: pip byte-compiles every module it unpacks (most of this session's CPU, beside the
        # matrix); the check imports a few, which Python compiles as it loads them
        session.install("--no-compile", *entry.ci_install_args(book=True))
        session.run("python", "-m", "d2lx", "book-check", "--backend", backend)
    finally:
        if DISCARD in session.posargs and session.virtualenv.location:
            shutil.rmtree(session.virtualenv.location, ignore_errors=True)
            session.log(f"deleted {session.virtualenv.location} ({DISCARD})")


# The book extras (README, "Reading the book"): each installs and passes ``python -m d2lx book-check``.
# Not in the default sessions: ``nox -t book`` runs them, and ``.ci/run`` does so beside the matrix,
# since their minutes are downloads and unpacking (several GB for torch's pair), not the CPU.
BOOK_SESSIONS = [f"book-{b.name}" for b in d2lx_backends.BACKENDS if b.book_imports]
for _session in BOOK_SESSIONS:
    # pip, not uv: these pull several GB (torch's CUDA pair) into a cache that uv would keep after --discard
    nox.session(python=d2lx_backends.MAIN_PYTHON, name=_session, tags=["book"], venv_backend="virtualenv")(
        lambda session, b=_session.removeprefix("book-"): _book(session, b)
    )


def _side_by_side(session: nox.Session, commands: list[list[str]]) -> None:
    """Run ``commands`` TEST_WORKERS at a time, each process held to its share of the cores, and print
    each one's output whole when it ends. For parity and bench-smoke: one process per backend, mostly
    a single core's work (imports, compiling), that one after another left the second core idle."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    workers = max(1, TEST_WORKERS)
    env = {**os.environ, **d2lx_backends.thread_caps(max(1, CPUS // workers))} if workers > 1 else None

    def run(command: list[str]):
        return command, subprocess.run(command, capture_output=True, text=True, env=env)

    failed = []
    with ThreadPoolExecutor(workers) as pool:
        for command, done in pool.map(run, commands):
            session.log(" ".join(command))
            print(done.stdout, end="", flush=True)
            print(done.stderr, end="", file=sys.stderr, flush=True)
            if done.returncode:
                failed.append(f"{' '.join(command)} (exit code {done.returncode})")
    if failed:
        session.error("failed: " + "; ".join(failed))


def _python(backend: str) -> str:
    return str(Path(".nox") / f"tests-{backend}" / "bin" / "python")  # the environment tests-<backend> made


@nox.session(python=False, requires=[f"tests-{b}" for b in BACKENDS])
def parity(session: nox.Session) -> None:
    """Same seed, same numbers: the seeded workloads in every backend's test environment, one table."""
    # RNNLMScratch reads timemachine.txt: the copy .ci/stage_data.py stages, unless D2LX_DATA_DIR says otherwise
    os.environ.setdefault("D2LX_DATA_DIR", str(Path("notebooks/data").resolve()))
    out = Path(session.create_tmp()) / "parity"
    out.mkdir(exist_ok=True)
    reports = [str(out / f"{backend}.json") for backend in BACKENDS]
    _side_by_side(
        session,
        [
            [_python(backend), "-m", "d2lx", "parity", "--backend", backend, "--out", report]
            for backend, report in zip(BACKENDS, reports)
        ],
    )
    session.run(_python(next(iter(BACKENDS))), "-m", "d2lx", "parity", "--report", *reports, external=True)


@nox.session(python=False, name="bench-smoke", requires=[f"tests-{b}" for b in BACKENDS])
def bench_smoke(session: nox.Session) -> None:
    """The benchmark (bench/bench.py) on tiny sizes in every backend's test environment: it runs; no timing."""
    smoke = ["--tiny", "--libs", "d2lx", "hand"]
    _side_by_side(session, [[_python(b), "bench/bench.py", "--backend", b, *smoke] for b in BACKENDS])


nox.options.sessions = (
    ["lint"]
    + [f"{kind}-{b}" for b in BACKENDS for kind in ("tests", "notebooks")]
    + [f"tests-{b}-{NEWEST_PYTHON}" for b in ON_NEWEST_PYTHON]
    + ["parity", "bench-smoke"]
)
