"""Data parallelism across processes for JAX: ``jax.distributed.initialize`` from the launch's variables.

JAX must join the other processes before anything starts its backend (``jax.devices()``, a first array), so
``from d2lx import jax as d2l`` joins at import, where the environment describes a launch of several processes.
The variables are torchrun's (``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR``, ``MASTER_PORT``: the coordinator is
``MASTER_ADDR:MASTER_PORT``), so ``torchrun --nproc_per_node K script.py`` launches a JAX script too, and any
launcher that sets them does. A ``Trainer`` then shards each batch over every process's devices (a global
``jax.sharding.Mesh``); each process draws the same global batch and gives its own devices their rows.
"""

from __future__ import annotations

import os

import jax

from d2lx import distributed


def join_launch() -> None:
    """Join the launch the environment describes (nothing for one process); a missing variable is named."""
    world = distributed.world_from_env()
    if world is None or world.world_size == 1 or jax.distributed.is_initialized():
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPUs across processes; GPUs use NCCL
    jax.distributed.initialize(
        coordinator_address=f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}",
        num_processes=world.world_size,
        process_id=world.rank,
    )
