"""Data-parallel training, the part every backend shares: the ``strategy``, the workers, the split.

``Trainer(..., strategy="ddp")`` trains data-parallel, in Lightning's vocabulary (``strategy="auto"``, the
default, is the plain loop on one device, unless a launcher such as ``torchrun`` started several
processes). Each framework uses its own engine (the backend's ``distributed.py``):

- PyTorch: ``DistributedDataParallel``, one process per worker, started by ``torchrun --nproc_per_node K``
  (``gloo`` on CPUs, ``nccl`` on GPUs); the rendezvous comes from the variables ``torchrun`` sets.
- JAX: a ``jax.sharding.Mesh`` of the devices, the batch a ``NamedSharding`` along its rows, under ``jit``.
- TensorFlow: ``tf.distribute.MirroredStrategy`` over the devices.
- MXNet: ``gluon.utils.split_and_load`` over the contexts, the gradients summed by the kvstore.

In one process the workers are the GPUs of ``num_gpus``, or, with ``num_gpus=0``, ``devices`` CPU devices
(JAX's host devices under ``XLA_FLAGS=--xla_force_host_platform_device_count=K``, TensorFlow's logical CPUs,
MXNet's ``cpu(i)`` contexts): with two cores they prove correctness, not speed.

The split: a global batch of ``B`` rows, as one worker would train on, is cut into ``k`` equal, consecutive
shares, one per worker, and the workers' gradients are averaged. Since the loss is a mean, that is the
gradient of the whole batch, so ``k`` workers train the parameters one worker trains with batch ``B`` (to
float rounding). A share must be whole: ``B`` not divisible by ``k`` is a ``ValueError`` naming
``batch_size``, and so is an epoch's last, short batch whose rows do not split evenly (pick ``num_train``
or the limits so that it does). Every process draws the same global batches from d2lx's seeded generator
and keeps its own share: a ``DistributedSampler`` split of the same epoch. Validation batches are not
split (each process, or the first device, validates them whole), so they need not divide.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from d2lx import checks

STRATEGIES = ("auto", "ddp")

# What torchrun (and any launcher that follows torch.distributed's env:// rendezvous) sets in each process.
RENDEZVOUS_VARIABLES = ("RANK", "MASTER_ADDR", "MASTER_PORT")


def check_strategy(name: str, value: Any) -> str:
    """``strategy`` as one of ``STRATEGIES`` (None: ``"auto"``), else an error naming it."""
    if value is None:
        return "auto"
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {list(STRATEGIES)} or None, got {checks._describe(value)}")
    if value not in STRATEGIES:
        raise ValueError(f"{name} must be one of {list(STRATEGIES)} or None, got {value!r}")
    return value


class World(NamedTuple):
    """The processes of a launch: this one's ``rank`` among ``world_size``, and its ``local_rank`` on its machine."""

    rank: int
    world_size: int
    local_rank: int


def _int_variable(environ: Mapping[str, str], name: str, default: int | None = None) -> int:
    text = environ.get(name, "").strip()
    if not text:
        if default is None:
            raise ValueError(f"{name} is not set")
        return default
    if not text.isdigit():
        raise ValueError(f"{name} must be a non-negative int, got {text!r}")
    return int(text)


def world_from_env(environ: Mapping[str, str] | None = None) -> World | None:
    """The launch ``torchrun`` describes in the environment, or None when ``WORLD_SIZE`` is unset (one process).

    With ``WORLD_SIZE`` > 1, a missing rendezvous variable (``RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) is a
    ``ValueError`` naming it, not a hang or a framework's traceback.
    """
    environ = os.environ if environ is None else environ
    if not environ.get("WORLD_SIZE", "").strip():
        return None
    world_size = _int_variable(environ, "WORLD_SIZE")
    if world_size < 1:
        raise ValueError(f"WORLD_SIZE must be a positive int, got {environ['WORLD_SIZE']!r}")
    if world_size > 1:
        missing = [name for name in RENDEZVOUS_VARIABLES if not environ.get(name, "").strip()]
        if missing:
            raise ValueError(
                f"WORLD_SIZE={world_size} is set but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                f"not: each process of a data-parallel launch needs {', '.join(RENDEZVOUS_VARIABLES)} "
                "(torchrun --nproc_per_node K script.py sets them)"
            )
    rank = _int_variable(environ, "RANK", 0)
    if rank >= world_size:
        raise ValueError(f"RANK must be below WORLD_SIZE={world_size}, got {rank}")
    return World(rank, world_size, _int_variable(environ, "LOCAL_RANK", rank))


def check_batch_size(batch_size: Any, workers: int) -> None:
    """A global ``batch_size`` must split into ``workers`` whole, equal shares."""
    if isinstance(batch_size, int) and workers > 1 and batch_size % workers:
        raise ValueError(
            f"batch_size must be divisible by the number of data-parallel workers ({workers}), got {batch_size}: "
            f"each worker trains on batch_size / {workers} rows of every batch"
        )


def share(rows: int, workers: int, index: int) -> slice:
    """The rows of worker ``index`` in a batch of ``rows`` rows split over ``workers`` (equal, consecutive)."""
    if rows % workers:
        raise ValueError(
            f"a batch of {rows} rows does not split evenly over {workers} data-parallel workers (batch_size "
            f"must be divisible by {workers}, and so must the epoch's last, short batch: choose num_train, "
            "batch_size or limit_train_batches so that it is)"
        )
    size = rows // workers
    return slice(index * size, (index + 1) * size)


class ShardedLoader:
    """A loader seen by one of ``workers`` processes: each batch's share of rows for worker ``index``.

    Every process iterates the same loader (the same seeded order), so the shares of one batch make up the
    batch one process would train on. Other attributes (``batch_size``, ``dataset``) are the loader's. With
    one worker the share is the whole batch, given as the loader gives it (no slicing on every step).
    """

    def __init__(self, loader: Any, workers: int, index: int):
        self._loader, self._workers, self._index = loader, workers, index

    def __iter__(self) -> Iterable:
        if self._workers == 1:
            yield from self._loader
            return
        for batch in self._loader:
            rows = share(int(batch[0].shape[0]), self._workers, self._index)
            yield tuple(a[rows] for a in batch) if isinstance(batch, tuple) else [a[rows] for a in batch]

    def __len__(self) -> int:
        return len(self._loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
