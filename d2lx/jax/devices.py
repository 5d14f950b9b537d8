"""Devices for JAX: ``cpu()``, ``gpu(i)`` and the ``try_*`` helpers of the book."""

from __future__ import annotations

import jax


def cpu() -> jax.Device:
    return jax.devices("cpu")[0]


def gpu(i: int = 0) -> jax.Device:
    return jax.devices("gpu")[i]


def num_gpus() -> int:
    try:
        return len(jax.devices("gpu"))
    except RuntimeError:  # no GPU backend in this jaxlib
        return 0


def try_gpu(i: int = 0) -> jax.Device:
    """GPU ``i`` if it exists, else the CPU."""
    return gpu(i) if num_gpus() > i else cpu()


def try_all_gpus() -> list[jax.Device]:
    """All GPUs, or ``[cpu()]`` when there is none."""
    return [gpu(i) for i in range(num_gpus())] or [cpu()]
