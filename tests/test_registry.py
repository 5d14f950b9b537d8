"""The backend registry (``d2lx/backends.py``) and everything that reads it agree.

The registry is the one list of backends; these tests catch what can drift from it: a pip extra or
a constraints file it names that does not exist, a reader (the test suite, the CLI, the benchmark,
the noxfile, the tests' per-framework classes) that accepts other names, and nox sessions that do
not follow from its Pythons.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import adapters
import conftest
import functional_recipes
import pytest

from d2lx import backends

REPO = Path(__file__).resolve().parent.parent
NAMES = backends.names()


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expected_sessions() -> list[str]:
    """nox's default sessions, in order, as the registry says they should be."""
    newest = backends.NEWEST_PYTHON
    return (
        ["lint"]
        + [f"{kind}-{name}" for name in NAMES for kind in ("tests", "notebooks")]
        + [f"tests-{target}-{newest}" for target in backends.tested_on(newest)]
        + ["parity", "bench-smoke"]
    )


# ---- the registry itself -------------------------------------------------------------------------
def test_names_are_unique_and_each_has_its_folder():
    assert len(set(NAMES)) == len(NAMES) and backends.CORE not in NAMES
    for name in NAMES:
        assert (REPO / "d2lx" / name / "__init__.py").is_file(), f"the registry names {name}, d2lx/{name}/ is missing"
        assert backends.get(name).module == f"d2lx.{name}"


def test_an_unknown_backend_gets_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown backend 'nope'; the backends are torch, mxnet, jax, tensorflow"):
        backends.get("nope")


def test_every_extra_is_in_pyproject_and_installs_the_framework():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for backend in backends.BACKENDS:
        for extra in (backend.extra, backend.ci_extra):
            assert extra in extras, f"{backend.name}: the extra {extra!r} is not in pyproject.toml"
            requirements = [re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in extras[extra]]
            assert any(r.startswith(backend.framework) for r in requirements), (extra, requirements)


def test_every_constraints_file_exists():
    for backend in backends.BACKENDS:
        if backend.ci_constraints is not None:
            assert (REPO / backend.ci_constraints).is_file(), f"{backend.name}: {backend.ci_constraints} is missing"


# what CI installs, written out: ci_install_args builds these from the registry's fields
CI_INSTALLS = {
    "torch": ("-c", ".ci/constraints-torch.txt", "-e", ".[torch,test]"),
    "mxnet": ("-e", ".[mxnet,test]"),
    "jax": ("-e", ".[jax,test]"),
    "tensorflow": ("-c", ".ci/constraints-tensorflow.txt", "-e", ".[tensorflow-cpu,test]"),
}


def test_a_missing_framework_names_the_extra_that_installs_it():
    from d2lx._require import require

    with pytest.raises(ImportError) as err:
        require("d2lx_no_such_framework", "tensorflow")
    message = str(err.value)
    assert message.startswith("d2lx.tensorflow needs the 'd2lx_no_such_framework' package, which cannot be imported")
    assert message.endswith("Install it with: pip install 'd2lx[tensorflow]'")
    assert [b.extra for b in backends.BACKENDS] == list(backends.names())  # each extra is named after its backend


def test_ci_install_args_name_the_ci_extra_its_constraints_and_the_extras_asked_for():
    assert {b.name: b.ci_install_args("test") for b in backends.BACKENDS} == CI_INSTALLS
    torch = backends.get("torch")
    assert torch.ci_install_args() == ("-c", ".ci/constraints-torch.txt", "-e", ".[torch]")
    assert torch.ci_install_args("test", "notebooks")[-1] == ".[torch,test,notebooks]"
    assert torch.ci_install_args(book=True) == ("-c", ".ci/constraints-torch-book.txt", "-e", ".[torch-book]")
    # the book extra has its own constraints: TensorFlow's CPU-only pin does not apply to it
    assert backends.get("tensorflow").ci_install_args(book=True) == ("-e", ".[tensorflow-book]")


def test_pythons():
    for backend in backends.BACKENDS:
        assert backend.pythons and len(set(backend.pythons)) == len(backend.pythons), backend
        assert all(re.fullmatch(r"3\.\d+", p) for p in backend.pythons), backend
    assert backends.tested_on(backends.NEWEST_PYTHON) == ("core", "jax", "tensorflow")
    assert backends.tested_on(backends.MAIN_PYTHON) == ("core", *NAMES)


def test_installed_backends_are_the_registrys_with_their_framework():
    found = backends.installed()
    assert set(found) <= set(NAMES) and list(found) == [n for n in NAMES if n in found]
    for name in found:
        assert importlib.util.find_spec(backends.get(name).framework) is not None


def test_the_registry_loads_by_path_without_d2lx_or_numpy():
    # what the noxfile and the benchmark do, in a Python where d2lx and numpy need not exist
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('registry', {str(REPO / 'd2lx' / 'backends.py')!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(json.dumps([module.names(), sorted(m for m in ('d2lx', 'numpy') if m in sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [list(NAMES), []]


# ---- its readers ---------------------------------------------------------------------------------
def test_the_suite_accepts_exactly_the_registrys_names(monkeypatch):
    assert conftest.BACKENDS == NAMES
    config = types.SimpleNamespace(getoption=lambda option: [])
    monkeypatch.setenv("D2LX_BACKEND", ",".join(NAMES))
    assert conftest._requested(config) == list(NAMES)
    monkeypatch.setenv("D2LX_BACKEND", "jax,nope")
    with pytest.raises(pytest.UsageError, match=r"unknown backend\(s\) \['nope'\]"):
        conftest._requested(config)


def test_the_cli_accepts_exactly_the_registrys_names(monkeypatch, capsys):
    from d2lx import __main__ as cli
    from d2lx import parity

    demos = []
    monkeypatch.setattr(cli, "run_demo", lambda backend, *args: demos.append(backend))
    monkeypatch.setattr(cli, "_load_backend", lambda name: None)
    monkeypatch.setattr(parity, "run_workloads", lambda backend, seed: {"backend": backend})
    for name in NAMES:
        assert cli.main(["demo", "--backend", name]) == 0
        assert cli.main(["parity", "--backend", name]) == 0
        assert json.loads(capsys.readouterr().out) == {"backend": name}
    assert demos == list(NAMES)
    for command in ("demo", "parity"):
        with pytest.raises(SystemExit) as exit_:
            cli.main([command, "--backend", "nope"])
        assert exit_.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


def test_the_benchmark_accepts_exactly_the_registrys_names(monkeypatch, capsys):
    bench = _load(REPO / "bench" / "bench.py", "bench_under_test")
    assert bench.BACKENDS == NAMES

    class Measured(Exception):
        pass

    def measure(args):
        raise Measured(args.backend)

    monkeypatch.setattr(bench, "measure", measure)
    monkeypatch.setattr(sys, "path", list(sys.path))  # main() puts the checkout in front
    for name in NAMES:
        with pytest.raises(Measured, match=name):
            bench.main(["--backend", name, "--tiny"])
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--backend", "nope", "--tiny"])
    assert exit_.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


def test_every_backend_has_its_test_adapter_and_recipes():
    assert list(adapters.ADAPTERS) == list(NAMES)
    assert list(functional_recipes.RECIPES) == list(NAMES)
    for name in NAMES:
        assert adapters.ADAPTERS[name].backend == name and functional_recipes.RECIPES[name].backend == name
        assert isinstance(adapters.adapter(types.ModuleType(f"d2lx.{name}")), adapters.ADAPTERS[name])
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        adapters.adapter(types.ModuleType("d2lx.nope"))


# ---- the noxfile ---------------------------------------------------------------------------------
class _StandInNox(types.ModuleType):
    """Just enough of nox to load the noxfile and record its sessions (name -> Python)."""

    Session = object

    def __init__(self):
        super().__init__("nox")
        self.options = types.SimpleNamespace()
        self.registered: dict[str, object] = {}

    def session(self, func=None, **kwargs):
        def register(f):
            self.registered[kwargs.get("name") or f.__name__] = kwargs.get("python")
            return f

        return register if func is None else register(func)


@pytest.fixture
def noxfile(monkeypatch):
    nox = _StandInNox()
    monkeypatch.setitem(sys.modules, "nox", nox)
    module = _load(REPO / "noxfile.py", "noxfile_under_test")
    return module, nox


def test_the_nox_sessions_follow_from_the_registry(noxfile):
    module, nox = noxfile
    assert nox.options.sessions == _expected_sessions()
    # each backend on each of its Pythons, and the core on its later ones (on the first it runs inside
    # every backend's environment)
    expected_pythons = {"lint": backends.MAIN_PYTHON, "parity": False, "bench-smoke": False}
    for backend in backends.BACKENDS:
        first, *later = backend.pythons
        # the notebooks run in the tests' environment (python=False: nox makes none for them)
        expected_pythons |= {f"tests-{backend.name}": first, f"notebooks-{backend.name}": False}
        expected_pythons |= {f"tests-{backend.name}-{python}": python for python in later}
    expected_pythons |= {f"tests-core-{python}": python for python in backends.CORE_PYTHONS[1:]}
    # the book extras: on the main Python, tagged "book", outside the default sessions
    expected_pythons |= {f"book-{b.name}": backends.MAIN_PYTHON for b in backends.BACKENDS if b.book_imports}
    assert nox.registered == expected_pythons
    assert sorted(module.BOOK_SESSIONS) == ["book-jax", "book-tensorflow", "book-torch"]


class _Recording:
    """A stand-in nox session that records what it installs and runs."""

    posargs: list[str] = []

    def install(self, *args):
        self.installed = args

    def run(self, *args, **kwargs):
        self.runs = [*getattr(self, "runs", []), args]
        self.ran = args
        self.env = kwargs.get("env", {})


def test_the_environments_hold_byte_compiled_frameworks_and_d2lx(monkeypatch):
    """uv installs without .pyc files, and this workplace sets PYTHONDONTWRITEBYTECODE: unless the matrix
    compiles them, every kernel and worker compiles TensorFlow's sources again at import (13 s against 5)."""
    monkeypatch.setenv("UV_COMPILE_BYTECODE", "unset below; restored after the test")
    monkeypatch.delenv("UV_COMPILE_BYTECODE")  # as on a machine that does not set it
    monkeypatch.setitem(sys.modules, "nox", _StandInNox())
    module = _load(REPO / "noxfile.py", "noxfile_under_test")
    assert os.environ["UV_COMPILE_BYTECODE"] == "1"
    session = _Recording()
    module._tests(session, "torch")
    assert session.runs[0] == ("python", "-m", "compileall", "-q", "d2lx")
    assert session.ran[0] == "pytest"


def test_the_nox_sessions_install_the_registrys_extras(noxfile):
    module, _ = noxfile

    class Session:
        def install(self, *args):
            self.installed = args

    for backend in backends.BACKENDS:
        session = Session()
        module._install(session, backend.name, "test")
        assert session.installed == CI_INSTALLS[backend.name]
        session = _Recording()
        module._tests(session, backend.name)  # the notebooks run in this environment too
        *constraints, editable, extras = CI_INSTALLS[backend.name]
        assert session.installed == (*constraints, editable, extras.replace(",test]", ",test,notebooks]"))
    session = Session()
    module._install(session, "core", "test")
    assert session.installed == ("-e", ".[test]")


def test_uv_gets_pips_settings_so_it_installs_what_pip_would(noxfile, monkeypatch):
    """uv reads no pip configuration: the machine's local wheels, indexes and constraints are handed on as
    uv's flags (one default index, the variable's), with pip's best-match rule across indexes."""
    module, _ = noxfile
    listed = (
        ":env:.find-links='/opt/wheels'\n:env:.index-url='https://mirror.example/simple'\n"
        "global.find-links='/opt/wheels'\nglobal.index-url='https://pypi.example/simple'\n"
        "global.extra-index-url='file:///opt/a file:///opt/b'\nglobal.constraint='/etc/pip/c.txt'\n"
        "global.cert='/etc/ssl/cert.pem'\n"
    )
    monkeypatch.setattr(module.subprocess, "run", lambda *a, **k: types.SimpleNamespace(stdout=listed))

    class Session:
        venv_backend = "uv"

        def install(self, *args):
            self.installed = args

    session = Session()
    module._install(session, "core", "test")
    assert session.installed == (
        "--index-strategy", "unsafe-best-match", "--index-url", "https://mirror.example/simple",
        "--extra-index-url", "file:///opt/a", "--extra-index-url", "file:///opt/b",
        "--find-links", "/opt/wheels", "--constraint", "/etc/pip/c.txt", "-e", ".[test]",
    )  # fmt: skip
    session.venv_backend = "virtualenv"  # pip reads its settings itself
    module._install(session, "core", "test")
    assert session.installed == ("-e", ".[test]")


def test_the_book_sessions_install_the_book_extra_and_check_it(noxfile):
    module, _ = noxfile
    session = _Recording()
    module._book(session, "torch")
    assert session.installed == ("--no-compile", "-c", ".ci/constraints-torch-book.txt", "-e", ".[torch-book]")
    assert session.ran == ("python", "-m", "d2lx", "book-check", "--backend", "torch")
    assert (REPO / ".ci" / "constraints-torch-book.txt").is_file()
    session = _Recording()
    module._book(session, "jax")
    assert session.installed == ("--no-compile", "-e", ".[jax-book]")


def test_book_sessions_delete_their_environment_with_discard_passed_or_failed(noxfile, tmp_path):
    module, _ = noxfile

    class Discarding(_Recording):
        posargs = ["--discard"]

        def __init__(self, venv, fail=False):
            self.virtualenv = types.SimpleNamespace(location=str(venv))
            self.fail, self.logged = fail, []

        def run(self, *args, **kwargs):
            if self.fail:
                raise RuntimeError("book-check failed")
            super().run(*args, **kwargs)

        def log(self, message):
            self.logged.append(message)

    venv = tmp_path / "book-jax"
    (venv / "bin").mkdir(parents=True)
    module._book(Discarding(venv), "jax")
    assert not venv.exists()
    (venv / "bin").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="book-check failed"):  # a failed check still frees the disk
        module._book(Discarding(venv, fail=True), "jax")
    assert not venv.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    session = _Recording()  # without --discard: the environment stays, for the next run to reuse
    session.virtualenv = types.SimpleNamespace(location=str(kept))
    module._book(session, "jax")
    assert kept.is_dir()


def test_book_sessions_name_an_argument_they_do_not_take(noxfile):
    module, _ = noxfile

    class Erring(_Recording):
        posargs = ["--dicard"]

        def error(self, message):
            raise SystemExit(message)

    with pytest.raises(SystemExit) as stop:
        module._book(Erring(), "torch")
    assert str(stop.value) == "book sessions take only --discard (delete the environment at the end), got ['--dicard']"
    # CI passes it: it runs the book sessions beside the matrix, on a disk it shares
    assert "python3 -m nox -t book -- --discard" in (REPO / ".ci" / "run").read_text()


# the distribution that provides each module the book's cells import
BOOK_DISTRIBUTIONS = {
    "torchvision": "torchvision",
    "tensorflow": "tensorflow",
    "tensorflow_datasets": "tensorflow-datasets",
    "tensorflow_probability": "tensorflow-probability",
}
# what every book extra brings, for section 2.4 on every framework: matplotlib_inline and the IPython it imports
COMMON_BOOK_DISTRIBUTIONS = {"matplotlib-inline", "ipython"}


def test_each_book_extra_is_the_backends_extra_plus_what_the_books_cells_import():
    import tomllib

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    def distribution(requirement: str) -> str:
        return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()

    for backend in backends.BACKENDS:
        own, book = extras[backend.extra], extras[backend.book_extra]
        assert set(own) <= set(book), backend.name  # the backend's own requirements, unchanged
        added = {distribution(r) for r in set(book) - set(own)}
        wanted = {BOOK_DISTRIBUTIONS[module] for module in backend.book_imports} | COMMON_BOOK_DISTRIBUTIONS
        assert added == wanted - {distribution(r) for r in own}, backend.name  # exactly what the cells import
    assert "tensorflow" not in " ".join(extras["jax"])  # the plain JAX extra stays without TensorFlow
    assert backends.COMMON_BOOK_IMPORTS == ("matplotlib_inline",)  # d2lx.book_extras checks it on every backend


def test_book_check_names_the_missing_module_and_the_extra(monkeypatch, capsys):
    from d2lx import book_extras

    real_import = importlib.import_module

    formats = []
    inline = types.ModuleType("matplotlib_inline.backend_inline")
    inline.set_matplotlib_formats = formats.append

    def without_torchvision(name, *args):
        if name == "torchvision":
            raise ModuleNotFoundError("No module named 'torchvision'")
        if name in ("d2lx.torch", "matplotlib_inline"):
            return types.ModuleType(name)  # the backend itself is not what this test is about
        if name == "matplotlib_inline.backend_inline":
            return inline
        return real_import(name, *args)

    monkeypatch.setattr(book_extras.importlib, "import_module", without_torchvision)
    failures = book_extras.check("torch")
    assert failures == [
        "torchvision: ModuleNotFoundError: No module named 'torchvision' "
        "(the book's cells need it: pip install 'd2lx[torch-book]')"
    ]
    assert capsys.readouterr().out == (
        "ok d2lx.torch: imported\nok matplotlib_inline: backend_inline.set_matplotlib_formats('svg')\n"
    )
    assert formats == ["svg"]  # section 2.4's call, made once


def test_book_check_names_matplotlib_inline_without_ipython_on_every_backend(monkeypatch):
    """Section 2.4's ``from matplotlib_inline import backend_inline`` imports IPython: without it the
    check fails there, for every backend's book extra (each brings matplotlib-inline and ipython)."""
    from d2lx import book_extras

    def without_ipython(name, *args):
        if name == "matplotlib_inline.backend_inline":
            raise ModuleNotFoundError("No module named 'IPython'")
        return types.ModuleType(name)  # the framework and the other companions are not what this is about

    monkeypatch.setattr(book_extras.importlib, "import_module", without_ipython)
    for backend in backends.BACKENDS:
        failures = book_extras.check(backend.name, report=lambda line: None)
        assert [f for f in failures if f.startswith("matplotlib_inline")] == [
            "matplotlib_inline: ModuleNotFoundError: No module named 'IPython' "
            f"(the book's cells need it: pip install 'd2lx[{backend.name}-book]')"
        ]


def test_nox_lists_the_sessions_that_follow_from_the_registry():
    if importlib.util.find_spec("nox") is None:
        pytest.skip("nox is not installed in this environment (the check with a stand-in nox ran)")
    listing = subprocess.run(
        [sys.executable, "-m", "nox", "-l"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert re.findall(r"^\* (\S+)", listing, flags=re.M) == _expected_sessions()


def test_the_test_sessions_spread_over_two_workers_with_a_core_each(noxfile, monkeypatch):
    module, _ = noxfile
    monkeypatch.setattr(module, "CPUS", 2)
    monkeypatch.setattr(module, "TEST_WORKERS", 2)
    for variable in (*backends.THREAD_VARIABLES, "XLA_FLAGS"):  # as on a machine that sets none of them
        monkeypatch.delenv(variable, raising=False)
    session = _Recording()
    module._tests(session, "jax")
    assert session.ran == ("pytest", "-q", "--durations=10", "--backend", "jax", "-n", "2", "--dist", "worksteal")
    assert session.env["OMP_NUM_THREADS"] == "1"
    # JAX's sessions compile quickly (FAST_COMPILE_XLA_FLAG), beside the thread caps
    assert session.env["XLA_FLAGS"] == ("--xla_backend_optimization_level=0 --xla_cpu_multi_thread_eigen=false")
    monkeypatch.setattr(module, "TEST_WORKERS", 1)  # D2LX_TEST_WORKERS=1: one process, its own threads
    module._tests(session, "jax", newest=True)
    left_out = ("test_modern_cnn", "test_compiled", "test_save_load", "test_block_numbers", "test_cnn_arguments",
                "test_rnn_functional", "test_seq2seq", "test_seq2seq_functional", "test_bench_rnn_lm",
                "test_bench_transformer", "test_book_cells", "test_mlp", "test_training", "test_functional",
                "test_kaggle_house", "test_optimization", "test_performance", "test_distributed")  # fmt: skip
    trainings = ("test_attention.py::test_the_books_bahdanau_training_and_heatmap_cells",
                 "test_transformer.py::test_the_books_transformer_trains_and_translates",
                 "test_transformer.py::test_the_books_vit_trains",
                 "test_cnn.py::test_lenet_learns_fashion_mnist")  # fmt: skip
    assert session.ran == ("pytest", "-q", "--durations=10", "--backend", "jax", "-m", "not full_training",
                           *(arg for name in left_out for arg in ("--ignore", f"tests/{name}.py")),
                           *(arg for test in trainings for arg in ("--deselect", f"tests/{test}")))  # fmt: skip
    for path in session.ran[-(2 * len(left_out) + 2 * len(trainings) - 1) : -2 * len(trainings) : 2]:
        assert (REPO / path).is_file(), path  # a renamed file would be run again, not left out silently
    for test in trainings:  # a renamed test would be run again, not left out silently
        path, name = test.split("::")
        assert f"\ndef {name}(" in (REPO / "tests" / path).read_text(), test
    assert session.env == {"MPLBACKEND": "Agg", "XLA_FLAGS": "--xla_backend_optimization_level=0"}


def test_only_jaxs_test_and_notebook_sessions_compile_with_xlas_optimisations_off(noxfile, monkeypatch):
    """JAX's CI sessions compile with ``--xla_backend_optimization_level=0`` (minutes of compiling, seconds of
    training); other backends, parity and the benchmark keep XLA's default; an XLA_FLAGS that sets the level wins."""
    module, _ = noxfile
    monkeypatch.setattr(module, "TEST_WORKERS", 1)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    session = _Recording()
    module._tests(session, "torch")
    assert session.env == {"MPLBACKEND": "Agg"}
    module._notebooks(session, "jax")
    assert session.ran[1:3] == ("notebooks/run.py", "jax")
    assert session.env == {"XLA_FLAGS": "--xla_backend_optimization_level=0"}
    module._notebooks(session, "tensorflow")
    assert session.env == {}
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")  # the user's other flags stay
    module._tests(session, "jax")
    assert session.env["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_backend_optimization_level=0"
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=2")  # the user's level wins
    module._notebooks(session, "jax")
    assert session.env == {}


def test_thread_caps_cap_every_framework_and_leave_set_variables_alone():
    caps = backends.thread_caps(2, environ={"OMP_NUM_THREADS": "8"})
    assert "OMP_NUM_THREADS" not in caps  # the user's setting wins
    assert caps["TF_NUM_INTRAOP_THREADS"] == caps["MKL_NUM_THREADS"] == "2"
    assert caps["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=true"
    # XLA_FLAGS, flag by flag: a set one keeps its flags and gains the thread flags it lacks
    caps = backends.thread_caps(1, environ={"XLA_FLAGS": "--xla_backend_optimization_level=0"})
    assert caps["XLA_FLAGS"] == ("--xla_backend_optimization_level=0 --xla_cpu_multi_thread_eigen=false")
    user_flags = "--xla_cpu_multi_thread_eigen=true --xla_force_host_platform_device_count=4"
    caps = backends.thread_caps(1, environ={"XLA_FLAGS": user_flags})
    assert "XLA_FLAGS" not in caps  # every thread flag is the user's
    with pytest.raises(ValueError, match=r"^threads must be an int >= 1, got 0$"):
        backends.thread_caps(0)


def test_parity_and_bench_smoke_run_their_backends_side_by_side_and_fail_on_any(noxfile, monkeypatch, capsys):
    module, _ = noxfile
    monkeypatch.setattr(module, "TEST_WORKERS", 2)
    monkeypatch.setattr(module, "CPUS", 2)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    class Session:
        logged: list = []

        def log(self, line):
            self.logged.append(line)

        def error(self, message):
            raise RuntimeError(message)

    show = "import os; print(os.environ['OMP_NUM_THREADS'], {})"
    commands = [[sys.executable, "-c", show.format(i)] for i in range(3)]
    module._side_by_side(Session(), commands)
    assert capsys.readouterr().out == "1 0\n1 1\n1 2\n"  # in order, each process held to one core
    failing = [sys.executable, "-c", "raise SystemExit(3)"]
    with pytest.raises(RuntimeError) as info:
        module._side_by_side(Session(), [commands[0], failing])
    assert str(info.value) == f"failed: {' '.join(failing)} (exit code 3)"
