"""Devices for MXNet, which calls them contexts: ``cpu()``, ``gpu(i)`` and the ``try_*`` helpers."""

from __future__ import annotations

import mxnet
from mxnet import npx

from d2lx.devices import device_helpers


def cpu() -> mxnet.Context:
    return npx.cpu()


def _gpu(i: int) -> mxnet.Context:
    return npx.gpu(i)


def num_gpus() -> int:
    """How many GPUs MXNet can use: always 0 with the CPU build that ``pip install mxnet`` gives."""
    return npx.num_gpus()


gpu, try_gpu, try_all_gpus, available_gpus = device_helpers(cpu, _gpu, num_gpus)
