"""Data parallelism for PyTorch: ``DistributedDataParallel``, one process per worker.

``torchrun --nproc_per_node K script.py`` starts K processes and tells each its rank (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); a ``Trainer`` in such a process joins the
process group (``gloo`` on CPUs, ``nccl`` on GPUs: GPU ``LOCAL_RANK`` is the process's), keeps its share of
each batch (``d2lx.distributed.ShardedLoader``) and trains through ``DistributedDataParallel``, which
averages the gradients across processes during ``backward()``. ``Trainer(strategy="ddp")`` in a plain
``python`` run is a world of one process (the distributed path, as a script written for a launch runs alone).

The model's own ``training_step`` runs inside DDP's forward (``TrainingStep``), so a book cell's
``training_step`` (and its ``plot``) still runs, and DDP sees the forward it needs to hook the backward.

A world of one process (``strategy="ddp"`` in a plain run, ``torchrun --nproc_per_node 1``) trains through
the plain step, not DDP (``needs_wrapper``): with one process DDP has nothing to synchronise (the copy of
rank 0's parameters and buffers to the others has no others, the average of one gradient is that gradient)
and its hooks around each forward and backward cost 10-15% of a small model's step on the CPU (0.3 ms of
2.7 ms for the MLP of bench/scaling.py, one thread: its Python around the forward, the reducer's copies of
the gradients into its buckets and gloo's all-reduce of one, about a third each). The rest of the
distributed path stays: the process group is joined (``torch.distributed`` calls work), ``world_size``,
``global_rank`` and ``is_global_zero`` are set, the loader is a ``ShardedLoader`` (its one share is the
whole batch), only rank 0 draws, and ``jit_compile`` falls back. So a learner's ``torchrun
--nproc_per_node 1`` trains exactly as the plain loop (the same parameters, dropout masks included:
tests/test_distributed.py), and two or more processes go through DDP.
"""

from __future__ import annotations

import atexit
import time

import torch
from torch import distributed as dist
from torch import nn

from d2lx import distributed


class TrainingStep(nn.Module):
    """``model.training_step(batch)`` as a module's forward, for ``DistributedDataParallel`` to wrap."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch):
        return self.model.training_step(batch)


def join(use_gpu: bool) -> distributed.World:
    """This process's place in the launch, joining the process group where it has not been joined yet.

    A launch of several processes needs the rendezvous variables (``distributed.world_from_env`` names a
    missing one); a world of one process needs none (a store in memory)."""
    world = distributed.world_from_env() or distributed.World(0, 1, 0)
    if not dist.is_initialized():
        backend = "nccl" if use_gpu else "gloo"
        if world.world_size == 1:
            dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
        else:
            dist.init_process_group(backend, init_method="env://", rank=world.rank, world_size=world.world_size)
        atexit.register(_let_gloo_workers_finish)
    elif dist.get_world_size() != world.world_size:
        raise ValueError(
            f"the process group has {dist.get_world_size()} processes but WORLD_SIZE says {world.world_size}"
        )
    return distributed.World(dist.get_rank(), dist.get_world_size(), world.local_rank)


# How long the interpreter's exit lets go of the GIL for gloo's worker threads: one scheduling slice is
# enough (1 ms cured every exit measured); the rest is headroom for a machine that is busy.
_EXIT_GIL_RELEASE_S = 0.05


def _let_gloo_workers_finish() -> None:
    """Let go of the GIL once at exit, before Python finalizes, so gloo's worker threads can drop the last
    collective's tensors.

    After a collective completes, the gloo worker thread that ran it drops its reference to the work, and with
    it the work's tensors (and their Python objects), which needs the GIL. A script that exits within a few
    milliseconds of its last collective (one step, or an error raised straight after) leaves that thread
    waiting for the GIL while Python finalizes; the thread is then cancelled inside a C++ destructor and the
    process aborts with "terminate called without an active exception" (exit status -6) after its work is
    done: one exit in five for two processes that all-reduce and exit at once (PyTorch 2.13, idle CPU), none
    with this hook. atexit handlers run before Python starts finalizing, and sleeping releases the GIL."""
    time.sleep(_EXIT_GIL_RELEASE_S)


def needs_wrapper(world_size: int) -> bool:
    """Whether a world of ``world_size`` processes trains through ``DistributedDataParallel``: only where
    there are several to synchronise (a world of one trains through the plain step: see the module's docstring)."""
    return world_size > 1


def materialize(model: nn.Module, batch) -> None:
    """Give lazily shaped layers (``LazyLinear``) their parameters from ``batch``: DDP needs them all."""
    if any(isinstance(p, nn.parameter.UninitializedParameter) for p in model.parameters()):
        with torch.no_grad():
            model(*batch[:-1])


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """``model.training_step`` inside ``DistributedDataParallel`` (which copies rank 0's parameters to all)."""
    ids = [device] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(TrainingStep(model), device_ids=ids)
