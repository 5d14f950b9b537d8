"""The book's ``try_gpu`` and ``try_all_gpus``, built once from a backend's ``cpu``, ``gpu`` and ``num_gpus``.

"GPU" means what the backend's ``num_gpus`` counts (CUDA devices; Apple's MPS on torch); a
device is the framework's own object (``torch.device``, an MXNet context, a ``jax.Device``, a
``tf.device`` scope), so the book's cells use it as they would on that framework.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def device_helpers(
    cpu: Callable[[], Any], gpu: Callable[[int], Any], num_gpus: Callable[[], int]
) -> tuple[Callable[..., Any], Callable[[], list], Callable[[], list]]:
    """``(try_gpu, try_all_gpus, available_gpus)`` for a backend's three device functions."""

    def try_gpu(i: int = 0):
        """GPU ``i`` if it exists, else the CPU."""
        return gpu(i) if num_gpus() > i else cpu()

    def try_all_gpus() -> list:
        """All GPUs, or ``[cpu()]`` when there is none."""
        return available_gpus() or [cpu()]

    def available_gpus() -> list:
        """All GPUs; an empty list when there is none."""
        return [gpu(i) for i in range(num_gpus())]

    return try_gpu, try_all_gpus, available_gpus
