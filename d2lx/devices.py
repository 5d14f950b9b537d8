"""The book's ``gpu``, ``try_gpu`` and ``try_all_gpus``, built once from a backend's ``cpu``, raw ``gpu``
and ``num_gpus``.

"GPU" means what the backend's ``num_gpus`` counts (CUDA devices; Apple's MPS on torch); a
device is the framework's own object (``torch.device``, an MXNet context, a ``jax.Device``, a
``tf.device`` scope), so the book's cells use it as they would on that framework.

A GPU's index is checked here, the same on every backend: it must be a non-negative int (not a
bool, a float or a string), else a ``TypeError``/``ValueError`` naming the function and ``i``.
``gpu(i)`` for a GPU that does not exist is a ``ValueError`` naming ``i`` and the number of GPUs,
at once: left to the frameworks, MXNet and PyTorch hand back a device that fails only when used and
TensorFlow's scope silently places the work on the CPU. ``try_gpu(i)`` falls back to the CPU
instead, as in the book.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from d2lx import checks


def check_index(function: str, i: Any) -> int:
    """``i`` as an int if it is a non-negative int (a GPU's index), else an error naming ``function``."""
    if isinstance(i, bool) or not isinstance(i, numbers.Integral):
        raise TypeError(f"{function}(i): i must be a non-negative int (a GPU's index), got {checks._describe(i)}")
    if i < 0:
        raise ValueError(f"{function}(i): i must be a non-negative int (a GPU's index), got {i}")
    return int(i)


def device_helpers(
    cpu: Callable[[], Any], raw_gpu: Callable[[int], Any], num_gpus: Callable[[], int]
) -> tuple[Callable[..., Any], Callable[..., Any], Callable[[], list], Callable[[], list]]:
    """``(gpu, try_gpu, try_all_gpus, available_gpus)`` for a backend's three device functions
    (``raw_gpu(i)`` is the framework's device for an index known to exist)."""

    def gpu(i: int = 0):
        """GPU ``i``; a ``ValueError`` naming ``i`` and the number of GPUs where it does not exist."""
        i = check_index("gpu", i)
        count = num_gpus()
        if i >= count:
            gpus = "GPU" if count == 1 else "GPUs"
            raise ValueError(
                f"gpu(i): there is no GPU {i}, this machine has {count} {gpus}; d2l.try_gpu({i}) falls back to the CPU"
            )
        return raw_gpu(i)

    def try_gpu(i: int = 0):
        """GPU ``i`` if it exists, else the CPU."""
        i = check_index("try_gpu", i)
        return raw_gpu(i) if num_gpus() > i else cpu()

    def try_all_gpus() -> list:
        """All GPUs, or ``[cpu()]`` when there is none."""
        return available_gpus() or [cpu()]

    def available_gpus() -> list:
        """All GPUs; an empty list when there is none."""
        return [raw_gpu(i) for i in range(num_gpus())]

    return gpu, try_gpu, try_all_gpus, available_gpus
