"""Devices for MXNet, which calls them contexts: ``cpu()``, ``gpu(i)`` and the ``try_*`` helpers."""

from __future__ import annotations

import mxnet
from mxnet import npx


def cpu() -> mxnet.Context:
    return npx.cpu()


def gpu(i: int = 0) -> mxnet.Context:
    return npx.gpu(i)


def num_gpus() -> int:
    """How many GPUs MXNet can use: always 0 with the CPU build that ``pip install mxnet`` gives."""
    return npx.num_gpus()


def try_gpu(i: int = 0) -> mxnet.Context:
    """GPU ``i`` if it exists, else the CPU."""
    return gpu(i) if num_gpus() > i else cpu()


def try_all_gpus() -> list[mxnet.Context]:
    """All GPUs, or ``[cpu()]`` when there is none."""
    return [gpu(i) for i in range(num_gpus())] or [cpu()]
