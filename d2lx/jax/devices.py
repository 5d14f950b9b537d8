"""Devices for JAX: ``cpu()``, ``gpu(i)`` and the ``try_*`` helpers of the book."""

from __future__ import annotations

import jax

from d2lx.devices import device_helpers


def cpu() -> jax.Device:
    return jax.devices("cpu")[0]


def _gpu(i: int) -> jax.Device:
    return jax.devices("gpu")[i]


def num_gpus() -> int:
    try:
        return len(jax.devices("gpu"))
    except RuntimeError:  # no GPU backend in this jaxlib
        return 0


gpu, try_gpu, try_all_gpus, available_gpus = device_helpers(cpu, _gpu, num_gpus)
