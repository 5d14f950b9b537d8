"""The backends d2lx has: one registry that everything else reads.

Which backends exist, which pip extra installs each one, and on which Pythons CI tests it used to be
spelled out in the CLI, the test suite's ``conftest.py``, the benchmark and the noxfile, each its own
copy. They read this module now, so adding a backend is one entry in ``BACKENDS`` (plus its
``d2lx/<name>/`` folder and its pyproject extra; ``tests/test_registry.py`` checks that these agree).

This module imports the standard library only and never a framework, not even ``d2lx`` itself: the
noxfile and ``bench/bench.py`` load it by file path, in Pythons where d2lx (or numpy) is not
installed, so it must stay that way.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from typing import NamedTuple

MAIN_PYTHON = "3.11"  # where every backend's tests and notebooks run in CI
NEWEST_PYTHON = "3.13"  # tested again, with numpy 2, by the core and the backends that support it

CORE = "core"  # the package without any framework: no backend, its tests only
# The core runs on MAIN_PYTHON inside every backend's environment, and alone (tests-core-3.13) on the newest.
CORE_PYTHONS = (MAIN_PYTHON, NEWEST_PYTHON)


def _constrained_by(constraints: str | None) -> tuple[str, ...]:
    """pip's arguments for a constraints file, or none where there is none."""
    return ("-c", constraints) if constraints else ()


# what the book's cells import on every framework, so every ``<backend>-book`` extra brings it: section 2.4
# (calculus) does ``from matplotlib_inline import backend_inline``, which imports IPython
COMMON_BOOK_IMPORTS: tuple[str, ...] = ("matplotlib_inline",)


class Backend(NamedTuple):
    """One backend: ``from d2lx import <name> as d2l``."""

    name: str  # the module d2lx.<name>, ``--backend <name>`` everywhere
    framework: str  # the module whose presence proves the framework is installed
    ci_extra: str  # the pip extra CI installs (where it differs from ``extra``: a smaller CPU-only wheel)
    ci_constraints: str | None  # the pip constraints file CI installs with, relative to the repository root
    pythons: tuple[str, ...]  # the Pythons CI tests it on; the first is where its notebooks run too
    description: str
    # what the book's own cells for this framework import besides it and d2l (chapters 2-5): the pip
    # extra ``<name>-book`` brings them (d2lx.book_extras checks them: ``python -m d2lx book-check``)
    # (the imports every framework's cells share are ``COMMON_BOOK_IMPORTS``)
    book_imports: tuple[str, ...] = ()
    book_ci_constraints: str | None = None  # the constraints file CI installs the book extra with

    @property
    def extra(self) -> str:
        """The pip extra users install, named after the backend: ``pip install 'd2lx[torch]'``."""
        return self.name

    @property
    def book_extra(self) -> str:
        """The pip extra a reader of the book installs: the backend's plus what the book's cells import."""
        return f"{self.name}-book"

    @property
    def module(self) -> str:
        """The backend's module, ``d2lx.<name>``."""
        return f"d2lx.{self.name}"

    def ci_install_args(self, *extras: str, book: bool = False) -> tuple[str, ...]:
        """pip's arguments with which CI installs this backend from the checkout, editable.

        Its constraints file, if any, then ``-e .[<ci_extra>,<extras>...]``; with ``book=True`` the book
        extra and the constraints that go with it (the ``book-<name>`` sessions). The noxfile and the
        tests build every backend install from here.
        """
        if book:
            extra, constraints = self.book_extra, self.book_ci_constraints
        else:
            extra, constraints = self.ci_extra, self.ci_constraints
        return (*_constrained_by(constraints), "-e", f".[{','.join((extra, *extras))}]")

    def is_installed(self) -> bool:
        """Whether ``d2lx.<name>`` and its framework can be found here (nothing is imported)."""
        try:
            return (
                importlib.util.find_spec(self.module) is not None
                and importlib.util.find_spec(self.framework) is not None
            )
        except (ImportError, ValueError):  # d2lx itself not importable (e.g. in nox's own Python)
            return False


BACKENDS: tuple[Backend, ...] = (
    Backend(
        name="torch",
        framework="torch",
        ci_extra="torch",
        ci_constraints=".ci/constraints-torch.txt",  # pins the CPU wheel
        # PyTorch's registry wheels for other Pythons are multi-GB CUDA builds, so CI stays on 3.11 (see
        # README); users get torch>=2.0 on Python 3.10-3.13.
        pythons=(MAIN_PYTHON,),
        description="PyTorch",
        book_imports=("torchvision",),  # section 4.2 reads Fashion-MNIST with torchvision
        # PyPI's torchvision links the CUDA build of torch and fails to import beside the CPU wheel
        # ("operator torchvision::nms does not exist"): CI installs a matching CUDA pair (README)
        book_ci_constraints=".ci/constraints-torch-book.txt",
    ),
    Backend(
        name="mxnet",
        framework="mxnet",
        ci_extra="mxnet",
        ci_constraints=None,
        # MXNet 1.9.1 (its last release) imports only with numpy<1.24, which has no wheels after Python
        # 3.11: it stops at 3.11, and the extra's bounds say so.
        pythons=(MAIN_PYTHON,),
        description="MXNet 1.9.1 with Gluon",
    ),
    Backend(
        name="jax",
        framework="flax",
        ci_extra="jax",
        ci_constraints=None,
        # JAX on CPU: jax, jaxlib, flax (linen), optax; no TensorFlow
        pythons=(MAIN_PYTHON, NEWEST_PYTHON),
        description="JAX with Flax linen and Optax",
        # sections 3.3 and 4.2 of the book's JAX notebooks load data through TensorFlow
        book_imports=("tensorflow", "tensorflow_datasets"),
    ),
    Backend(
        name="tensorflow",
        framework="tensorflow",
        ci_extra="tensorflow-cpu",  # CI has no GPU: the CPU-only wheel is much smaller
        ci_constraints=".ci/constraints-tensorflow.txt",
        pythons=(MAIN_PYTHON, NEWEST_PYTHON),
        description="TensorFlow with Keras 3",
        book_imports=("tensorflow_probability",),  # section 2.6, probability
    ),
)


def names() -> tuple[str, ...]:
    """The backends' names, in the registry's order (the order of every listing and session)."""
    return tuple(backend.name for backend in BACKENDS)


def get(name: str) -> Backend:
    """The backend called ``name``; a ``ValueError`` naming the known backends if there is none."""
    for backend in BACKENDS:
        if backend.name == name:
            return backend
    raise ValueError(f"unknown backend {name!r}; the backends are {', '.join(names())}")


def installed() -> tuple[str, ...]:
    """The names of the backends whose framework is installed here, in the registry's order."""
    return tuple(backend.name for backend in BACKENDS if backend.is_installed())


def tested_on(python: str) -> tuple[str, ...]:
    """What CI tests on ``python``: ``"core"`` first if the core is, then the backends' names."""
    core = (CORE,) if python in CORE_PYTHONS else ()
    return core + tuple(backend.name for backend in BACKENDS if python in backend.pythons)


# What caps each framework's compute threads: OpenMP (torch, MXNet's operators, numpy's BLAS), MXNet's
# engine, TensorFlow's two pools. JAX's XLA is capped through XLA_FLAGS (see ``thread_caps``).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MXNET_CPU_WORKER_NTHREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def thread_caps(threads: int, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Environment variables that hold every framework of a process to ``threads`` compute threads.

    For running several test workers or notebook kernels side by side: two processes on two cores,
    each with a thread per core, fight over them (OpenMP threads spin while they wait), where one
    thread each keeps both cores busy. Variables already set in ``environ`` are left out: they win.
    ``XLA_FLAGS`` holds several settings, so there it is flag by flag: a set ``XLA_FLAGS`` keeps its flags
    and gains the thread flags it does not set (CI sets its own XLA flags for JAX's sessions: noxfile.py).
    """
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be an int >= 1, got {threads!r}")
    caps = dict.fromkeys(THREAD_VARIABLES, str(threads))
    eigen = "true" if threads > 1 else "false"
    # XLA's CPU compute threads follow Eigen's pool, which this flag turns off for a single thread. The
    # ``intra_op_parallelism_threads=N`` often given beside it is no XLA flag: XLA skips a word without
    # ``--`` after its first flag, and dies ("Could not open file ...") where that word comes first.
    thread_flags = [f"--xla_cpu_multi_thread_eigen={eigen}"]
    given = environ.get("XLA_FLAGS", "").split()
    set_names = {flag.split("=")[0] for flag in given}
    missing = [flag for flag in thread_flags if flag.split("=")[0] not in set_names]
    caps = {name: value for name, value in caps.items() if name not in environ}
    if missing:
        caps["XLA_FLAGS"] = " ".join(given + missing)
    return caps
