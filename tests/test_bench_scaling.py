"""``bench/scaling.py --threads N``: every child interpreter of every configuration (plain, k=1, k=N, PyTorch's
launched ranks, JAX's host devices, the in-process rounds) starts with the frameworks' compute threads capped,
through the environment ``bench.py`` gives its own children (``bench/machine.py``), and the JSON and the header
say so. The children's environments are checked without starting them; one tiny real PyTorch run checks that
the cap reaches the framework (2 batches, 2 epochs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import pytest
from helpers import BENCH, bench_module, unload_bench_modules

from d2lx.backends import THREAD_VARIABLES as CAPPED

CALLER_XLA = "--xla_backend_optimization_level=0"  # a flag of the caller's (CI's JAX sessions set it)


@pytest.fixture
def scaling(monkeypatch):
    """``bench/scaling.py`` loaded by path (``machine`` first, which it imports by name), in a caller's
    environment of 3 OpenMP threads and an XLA flag of its own, and no other thread variable (nox's test
    sessions cap their workers' threads with the same variables)."""
    for name in CAPPED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("XLA_FLAGS", CALLER_XLA)
    bench_module("machine")
    yield bench_module("scaling")
    for name in ("scaling", "machine"):
        sys.modules.pop(name, None)
    unload_bench_modules()


def _fake_children(scaling, monkeypatch) -> list[tuple[list[str], dict]]:
    """Every command ``scaling`` starts, with its environment, answered with a report instead of run (a training
    process says its rank; the in-process rounds, one epoch each)."""
    started: list[tuple[list[str], dict]] = []

    class Child:
        def __init__(self, command, env, **_):
            started.append((command, env))
            self.returncode = 0
            self.rank = int(env.get("RANK", 0))

        def communicate(self):
            return json.dumps({"rate": 1000.0 * (1 + self.rank), "rank": self.rank, "threads": None}), ""

    def run(command, env, **_):
        started.append((command, env))
        return types.SimpleNamespace(returncode=0, stdout=json.dumps({"plain": [0.5], "k=1": [0.5]}), stderr="")

    monkeypatch.setattr(scaling, "subprocess", types.SimpleNamespace(Popen=Child, run=run, PIPE=subprocess.PIPE))
    return started


def _main(scaling, tmp_path, *extra: str) -> dict:
    out = tmp_path / "scaling.json"
    backends = ["torch", "jax", "tensorflow", "mxnet"]
    scaling.main(["--backends", *backends, "--workers", "1", "2", "--repeat", "1", "--in-process", "1", *extra,
                  "--out", str(out)])  # fmt: skip
    return json.loads(out.read_text())


def test_threads_caps_every_child_of_every_configuration(scaling, monkeypatch, tmp_path, capsys):
    started = _fake_children(scaling, monkeypatch)
    result = _main(scaling, tmp_path, "--threads", "1")
    # per backend: plain, k=1, k=2 (PyTorch's: a launch of two processes) and the in-process rounds
    assert [command[3:5] for command, _ in started] == [
        *[["torch", k] for k in ("0", "1", "2", "2")], ["torch", "in-process"],
        *[[b, k] for b in ("jax", "tensorflow", "mxnet") for k in ("0", "1", "2", "in-process")],
    ]  # fmt: skip
    for command, env in started:
        assert {name: env[name] for name in CAPPED} == dict.fromkeys(CAPPED, "1"), command
        flags = env["XLA_FLAGS"].split()
        assert flags[:2] == [CALLER_XLA, "--xla_cpu_multi_thread_eigen=false"], command
        if command[3:5] == ["jax", "2"]:  # two host devices asked for, after the cap
            assert flags[2:] == ["--xla_force_host_platform_device_count=2"]
        else:
            assert len(flags) == 2, command
    assert sorted(env["RANK"] for command, env in started if "RANK" in env) == ["0", "1"]
    assert result["meta"]["threads"] == 1
    assert result["meta"]["command"].endswith("--threads 1 --out " + str(tmp_path / "scaling.json"))
    assert result["torch"] == {"plain": 1000.0, "k=1": 1000.0, "k=2": 1000.0,
                               "in_process_epoch_s": {"plain": [0.5], "k=1": [0.5]}}  # fmt: skip
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("CPU: ") and header.endswith("; compute threads: 1")


def test_without_threads_the_children_keep_the_callers_settings(scaling, monkeypatch, tmp_path, capsys):
    started = _fake_children(scaling, monkeypatch)
    result = _main(scaling, tmp_path)
    assert len(started) == 17
    for command, env in started:
        assert env["OMP_NUM_THREADS"] == "3" and "TF_NUM_INTRAOP_THREADS" not in env, command
        assert env["XLA_FLAGS"].split()[0] == CALLER_XLA
    assert result["meta"]["threads"] == "framework default"
    assert capsys.readouterr().out.splitlines()[0].endswith("; compute threads: framework default")


def test_bench_py_gives_its_children_the_same_cap(scaling):
    """The cap is written once (``machine.capped``): ``bench.py``'s children get the environment scaling's do."""
    bench = bench_module("bench")
    args = types.SimpleNamespace(threads=2, d2l_path=None, num_gpus=0)
    env = bench._child_env(args, "d2lx", {"HOME": "/tmp/staged-home"})
    ours = scaling.child_envs("mxnet", 0, 0, threads=2)[0]
    assert {name: env[name] for name in (*CAPPED, "XLA_FLAGS")} == {name: ours[name] for name in (*CAPPED, "XLA_FLAGS")}
    assert env["OMP_NUM_THREADS"] == "2" and env["XLA_FLAGS"] == f"{CALLER_XLA} --xla_cpu_multi_thread_eigen=true"
    assert env["HOME"] == "/tmp/staged-home"


def test_threads_must_be_positive(scaling, capsys):
    with pytest.raises(SystemExit):
        scaling.main(["--threads", "0"])
    assert "--threads must be a positive int, got 0" in capsys.readouterr().err


def test_a_real_pytorch_run_trains_on_the_capped_threads(backend, tmp_path):
    """Two configurations (plain, k=1) of 2 batches and 2 epochs each, in fresh interpreters: PyTorch reports one
    compute thread in each, where the caller's environment asks for 3."""
    if backend.__name__ != "d2lx.torch":
        pytest.skip("PyTorch reports its compute threads (the others do not say)")
    out = tmp_path / "scaling.json"
    command = [sys.executable, str(BENCH / "scaling.py"), "--backends", "torch", "--workers", "1", "--batches", "2",
               "--epochs", "2", "--repeat", "1", "--threads", "1", "--out", str(out)]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="3")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[0].endswith("; compute threads: 1")
    result = json.loads(out.read_text())
    assert result["meta"]["threads"] == 1
    assert result["torch"]["framework_threads"] == [1]
    assert result["torch"]["plain"] > 0 and result["torch"]["k=1"] > 0
