"""Data-parallel training (``Trainer(strategy=..., devices=...)``, d2lx/distributed.py) on each framework's engine.

The proof of correctness: k = 2 workers with a global batch of 16 train the parameters that one worker trains
with batch 16, to 1e-5, after 8 steps: PyTorch's DistributedDataParallel in two processes (gloo on
127.0.0.1), JAX's mesh over two host devices, TensorFlow's MirroredStrategy over two logical CPUs and MXNet's
split_and_load over cpu(0) and cpu(1), each in a process of its own (tests/distributed_run.py).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import distributed_run
import numpy as np
import pytest

from d2lx import distributed
from d2lx.trainer import LIMIT_ENV

SCRIPT = Path(__file__).with_name("distributed_run.py")
ROOT = Path(__file__).resolve().parent.parent


def _name(backend) -> str:
    return backend.__name__.rsplit(".", 1)[-1]


def _env(**extra: str) -> dict:
    """This process's environment for a training of its own: d2lx first on the path, no budget, no launch."""
    env = {k: v for k, v in os.environ.items() if k not in LIMIT_ENV.values()}
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TF_CONFIG", "D2LX_JIT_COMPILE"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(workers: int) -> list[dict]:
    """The environment of each of ``workers`` processes of a launch on this machine: torchrun's variables
    (which JAX reads too) and TensorFlow's ``TF_CONFIG``, on free ports."""
    port, hosts = str(_free_port()), [f"127.0.0.1:{_free_port()}" for _ in range(workers)]
    return [
        _env(WORLD_SIZE=str(workers), RANK=str(r), LOCAL_RANK=str(r), MASTER_ADDR="127.0.0.1", MASTER_PORT=port,
             TF_CONFIG=json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": r}}))
        for r in range(workers)
    ]  # fmt: skip


def _results(backend: str, workers: int, launch: bool = False) -> list[dict]:
    """The JSON line of each process of a ``distributed_run.py`` training over ``workers`` workers: processes of
    a launch (PyTorch's always), else one process with ``workers`` devices."""
    command = [sys.executable, str(SCRIPT), backend, str(workers)]
    if workers and (launch or backend == "torch"):
        envs = _launch(workers)
    else:
        flags = f"--xla_force_host_platform_device_count={workers}" if backend == "jax" and workers else ""
        envs = [_env(XLA_FLAGS=flags) if flags else _env()]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for env in envs]  # fmt: skip
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=900)  # seconds on an idle machine; a rank left alone waits
            assert process.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:  # a rank whose partner failed would wait for it forever
            if process.poll() is None:
                process.kill()
                process.communicate()
    return results


def test_two_workers_train_the_parameters_of_one_with_the_same_global_batch(backend, no_budget, monkeypatch):
    monkeypatch.delenv("D2LX_JIT_COMPILE", raising=False)
    name = _name(backend)
    one = distributed_run.train(backend, name, {})  # the reference, in this process
    parallel = _results(name, 2)
    assert one["world_size"] == 1
    _check_parallel(one, parallel)
    if name == "torch":  # two processes step through DistributedDataParallel
        assert [r["ddp_wrapper"] for r in parallel] == [True, True]
    assert not np.allclose(np.concatenate(one["params"]), 0)  # it trained


def _check_parallel(one: dict, parallel: list[dict]) -> None:
    """Every process ended with one worker's parameters, only rank 0 drew, and uneven batches were refused."""
    assert [r["world_size"] for r in parallel] == [2] * len(parallel)
    assert sorted(r["rank"] for r in parallel) == list(range(len(parallel)))
    for result in parallel:
        np.testing.assert_allclose(np.concatenate(result["params"]), np.concatenate(one["params"]), rtol=0, atol=1e-5)
        assert result["board"] is (result["rank"] == 0)  # only rank 0 draws
        assert result["odd_batch"] == (
            "batch_size must be divisible by the number of data-parallel workers (2), got 15: each worker trains "
            "on batch_size / 2 rows of every batch"
        )
        assert result["odd_last_batch"] == (
            "a batch of 15 rows does not split evenly over 2 data-parallel workers (batch_size must be divisible "
            "by 2, and so must the epoch's last, short batch: choose num_train, batch_size or limit_train_batches "
            "so that it is)"
        )


def test_a_launch_of_two_processes_trains_the_parameters_of_one(backend, no_budget, monkeypatch):
    """JAX under ``jax.distributed`` (torchrun's variables) and TensorFlow's MultiWorkerMirroredStrategy
    (``TF_CONFIG``), two processes on 127.0.0.1 with one CPU device each. PyTorch's launch is the test above."""
    name = _name(backend)
    if name == "torch":
        pytest.skip("PyTorch's workers are always processes: test_two_workers_train_... launches two")
    if name == "mxnet":
        pytest.skip("MXNet across processes needs its parameter-server launcher (kvstore dist_sync): not covered")
    monkeypatch.delenv("D2LX_JIT_COMPILE", raising=False)
    _check_parallel(distributed_run.train(backend, name, {}), _results(name, 2, launch=True))


def test_the_distributed_path_with_one_worker_trains_as_the_plain_loop(backend, no_budget, monkeypatch):
    """``strategy="ddp"`` with one worker (PyTorch: a world of one process) takes the data-parallel path,
    step by step: ``jit_compile`` falls back with its warning, and the parameters are the plain loop's. PyTorch's
    world of one joins the process group but steps without DistributedDataParallel (nothing to synchronise)."""
    monkeypatch.delenv("D2LX_JIT_COMPILE", raising=False)
    name = _name(backend)
    plain = distributed_run.train(backend, name, {})
    message = "Trainer(jit_compile=True) fell back to the default loop: data-parallel training (strategy, devices, a "
    with pytest.warns(UserWarning, match=re.escape(message + "launch) runs step by step.")):
        one = distributed_run.train(backend, name, {"strategy": "ddp", "jit_compile": True})
    assert (one["world_size"], one["rank"], one["board"]) == (1, 0, True)
    np.testing.assert_allclose(np.concatenate(one["params"]), np.concatenate(plain["params"]), rtol=0, atol=1e-6)
    if name == "torch":
        from torch import distributed as dist

        assert one["ddp_wrapper"] is False
        assert (dist.is_initialized(), dist.get_world_size(), dist.get_rank()) == (True, 1, 0)


def test_a_torch_world_of_one_trains_as_the_plain_loop_with_dropout_and_lazy_layers(backend, no_budget):
    """PyTorch's world of one trains exactly as the plain loop, random numbers included: the concise dropout MLP
    (lazily shaped layers, masks drawn from torch's generator) gives the plain fit's parameters after 6 steps.
    DistributedDataParallel needed the lazy layers shaped first, by a forward pass that drew masks of its own."""
    if _name(backend) != "torch":
        pytest.skip("PyTorch's world of one process (the other backends' one worker is tested above)")

    def fit(**trainer_args):
        backend.set_seed(0)
        data = backend.FashionMNIST(batch_size=32)
        model = backend.DropoutMLP(num_outputs=10, num_hiddens_1=32, num_hiddens_2=16, dropout_1=0.5, dropout_2=0.5,
                                   lr=0.1)  # fmt: skip
        trainer = backend.Trainer(max_epochs=2, limit_train_batches=3, limit_val_batches=1, progress_bar=False,
                                  **trainer_args)  # fmt: skip
        trainer.fit(model, data)
        return trainer, np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])

    trainer, one = fit(strategy="ddp")
    _, plain = fit()
    assert (trainer.world_size, type(trainer.train_dataloader).__name__) == (1, "ShardedLoader")
    assert one.shape == plain.shape == (32 * 784 + 32 + 16 * 32 + 16 + 10 * 16 + 10,)
    np.testing.assert_allclose(one, plain, rtol=0, atol=1e-6)


def test_a_strategy_lightning_does_not_name_is_an_error(backend):
    with pytest.raises(ValueError, match=re.escape("strategy must be one of ['auto', 'ddp'] or None, got 'dp'")):
        backend.Trainer(max_epochs=1, strategy="dp")
    with pytest.raises(TypeError, match=re.escape("strategy must be one of ['auto', 'ddp'] or None, got 2")):
        backend.Trainer(max_epochs=1, strategy=2)


def test_devices_counts_cpu_devices_beside_num_gpus_0(backend):
    message = "devices counts CPU devices and needs num_gpus=0 (the GPUs are num_gpus'), got devices=2 with num_gpus=1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # num_gpus=1 on a machine without a GPU warns
        with pytest.raises(ValueError, match=re.escape(message)):
            backend.Trainer(max_epochs=1, num_gpus=1, devices=2)
    with pytest.raises(ValueError, match=re.escape("devices must be a positive int, got 0")):
        backend.Trainer(max_epochs=1, devices=0)


def test_the_plain_loop_unless_asked(backend):
    trainer = backend.Trainer(max_epochs=1)
    assert (trainer.strategy, trainer.world_size, trainer.global_rank, trainer.is_global_zero) == ("auto", 1, 0, True)


def test_more_cpu_devices_than_there_are(backend):
    """JAX and TensorFlow have the CPU devices they were started with (one here): more warn and use those, as
    ``num_gpus`` does. MXNet's ``cpu(i)`` contexts all exist; PyTorch's workers are processes."""
    name = _name(backend)
    if name == "torch":
        message = "devices=3: on PyTorch the data-parallel workers are processes, one per device: launch the script "
        with pytest.raises(ValueError, match=re.escape(message + "with torchrun --nproc_per_node 3")):
            backend.Trainer(max_epochs=1, devices=3)
        return
    if name == "mxnet":
        assert backend.Trainer(max_epochs=1, devices=3).world_size == 3
        return
    how = {
        "jax": "JAX's CPU devices: XLA_FLAGS=--xla_force_host_platform_device_count=N, set before JAX starts",
        "tensorflow": "TensorFlow's logical CPUs: tf.config.set_logical_device_configuration, before TensorFlow starts",
    }[name]
    message = f"Trainer(devices=3) asked for 3 CPU devices but 1 is available ({how}); training on 1."
    with pytest.warns(UserWarning, match=re.escape(message)):
        trainer = backend.Trainer(max_epochs=1, devices=3)
    assert trainer.world_size == 1


# --- the launch, read from torchrun's variables (the core, no framework) ----------------------------------
def test_a_missing_rendezvous_variable_is_named():
    environ = {"WORLD_SIZE": "2", "RANK": "1", "MASTER_PORT": "29500"}
    message = (
        "WORLD_SIZE=2 is set but MASTER_ADDR is not: each process of a data-parallel launch needs RANK, "
        "MASTER_ADDR, MASTER_PORT (torchrun --nproc_per_node K script.py sets them)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        distributed.world_from_env(environ)
    with pytest.raises(ValueError, match=re.escape("WORLD_SIZE=2 is set but RANK, MASTER_ADDR are not")):
        distributed.world_from_env({"WORLD_SIZE": "2", "MASTER_PORT": "1"})
    with pytest.raises(ValueError, match=re.escape("RANK must be below WORLD_SIZE=2, got 2")):
        distributed.world_from_env({**environ, "MASTER_ADDR": "127.0.0.1", "RANK": "2"})


def test_the_launch_read_from_the_environment():
    assert distributed.world_from_env({}) is None
    assert distributed.world_from_env({"WORLD_SIZE": "1"}) == (0, 1, 0)
    full = {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "1"}
    assert distributed.world_from_env(full) == (3, 4, 1)


def test_shares_are_equal_and_consecutive():
    assert [distributed.share(16, 4, i) for i in range(4)] == [slice(0, 4), slice(4, 8), slice(8, 12), slice(12, 16)]
    loader = distributed.ShardedLoader([(np.arange(6), np.arange(6) * 10)], workers=2, index=1)
    ((X, y),) = list(loader)
    assert X.tolist() == [3, 4, 5] and y.tolist() == [30, 40, 50]
    batches = [(np.arange(5), np.arange(5)), [np.arange(3), np.arange(3)]]  # odd rows: one worker takes any batch
    assert all(a is b for a, b in zip(distributed.ShardedLoader(batches, workers=1, index=0), batches, strict=True))
