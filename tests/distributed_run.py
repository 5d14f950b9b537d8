"""One data-parallel training, run in its own process by tests/test_distributed.py (and bench/scaling.py).

``python tests/distributed_run.py BACKEND WORKERS`` trains the book's concise linear regression (SGD) for two
epochs with a global batch of 16, data-parallel over WORKERS workers (0: the plain loop, no strategy), and
prints one JSON line: the world size, this process's rank and the parameters. Then it asks for a batch that
does not split over the workers, and for an epoch whose last batch does not, and prints the errors.

The workers must be set up before the framework starts, which is why this runs in a process of its own:
JAX's host devices come from ``XLA_FLAGS`` (the test sets it), TensorFlow's logical CPUs are made here,
MXNet's ``cpu(i)`` contexts need nothing. PyTorch's workers are processes that the test starts with
torchrun's variables (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``), and so are JAX's in a
launch of several processes (``jax.distributed``) and TensorFlow's (``TF_CONFIG``: MultiWorkerMirroredStrategy).
"""

from __future__ import annotations

import importlib
import json
import os
import sys

import numpy as np


def _parameters(backend: str, model, trainer) -> list[list[float]]:
    if backend == "torch":
        arrays = [p.detach().numpy() for p in model.parameters()]
    elif backend == "jax":
        import jax

        arrays = [np.asarray(a) for a in jax.tree_util.tree_leaves(trainer.state.params)]
    elif backend == "tensorflow":
        arrays = [v.numpy() for v in model.trainable_variables]
    else:
        arrays = [p.data().asnumpy() for p in model.collect_params().values()]
    return sorted(np.asarray(a, np.float64).ravel().tolist() for a in arrays)


def _error(d2l, trainer_args: dict, **data_args) -> str:
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2.0, -3.4]), b=4.2, num_val=16, **data_args)
    try:
        d2l.Trainer(max_epochs=1, **trainer_args).fit(d2l.LinearRegression(lr=0.03), data)
    except ValueError as error:
        return str(error)
    return "no error"


def train(d2l, backend: str, trainer_args: dict) -> dict:
    """Two epochs of the concise linear regression at batch 16: the world size, rank, board and parameters."""
    d2l.set_seed(0)
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2.0, -3.4]), b=4.2, num_train=64, num_val=16, batch_size=16)
    model = d2l.LinearRegression(lr=0.03)
    trainer = d2l.Trainer(max_epochs=2, progress_bar=False, **trainer_args)
    trainer.fit(model, data)
    result = {
        "world_size": trainer.world_size,
        "rank": trainer.global_rank,
        "board": model.board.display,
        "params": _parameters(backend, model, trainer),
    }
    if backend == "torch":  # whether the steps went through DistributedDataParallel (only a world of several)
        result["ddp_wrapper"] = trainer.__dict__.get("_ddp_step") is not None
    return result


def main(backend: str, workers: int) -> None:
    launched = bool(os.environ.get("WORLD_SIZE") or os.environ.get("TF_CONFIG"))  # one process of several
    if backend == "tensorflow" and workers and not launched:
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * workers)
    d2l = importlib.import_module(f"d2lx.{backend}")
    trainer_args = {} if not workers or launched else {"devices": workers}
    result = train(d2l, backend, trainer_args)
    if workers:
        result["odd_batch"] = _error(d2l, trainer_args, num_train=60, batch_size=15)
        result["odd_last_batch"] = _error(d2l, trainer_args, num_train=63, batch_size=16)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
