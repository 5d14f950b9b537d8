"""Devices for PyTorch: ``cpu()``, ``gpu(i)`` and the ``try_*`` helpers of the book.

"GPU" means the same on every d2lx backend: CUDA devices where present; on a
Mac without CUDA, Apple's MPS device counts as one GPU; otherwise none.
"""

from __future__ import annotations

import torch

from d2lx.devices import device_helpers


def _has_mps() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def cpu() -> torch.device:
    return torch.device("cpu")


def _gpu(i: int) -> torch.device:
    """GPU ``i``: ``cuda:i``, or ``mps`` on a Mac without CUDA."""
    if torch.cuda.device_count() == 0 and i == 0 and _has_mps():
        return torch.device("mps")
    return torch.device(f"cuda:{i}")


def num_gpus() -> int:
    """The number of CUDA devices; 1 for Apple's MPS when there is no CUDA."""
    count = torch.cuda.device_count()
    return count if count else int(_has_mps())


gpu, try_gpu, try_all_gpus, available_gpus = device_helpers(cpu, _gpu, num_gpus)
