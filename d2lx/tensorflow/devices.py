"""Devices for TensorFlow: ``cpu()``, ``gpu(i)`` and the ``try_*`` helpers of the book.

As in d2l 1.0, a device is a ``tf.device`` scope: ``with d2l.try_gpu(): ...``.
"""

from __future__ import annotations

import tensorflow as tf


def cpu():
    return tf.device("/CPU:0")


def gpu(i: int = 0):
    return tf.device(f"/GPU:{i}")


def num_gpus() -> int:
    return len(tf.config.list_physical_devices("GPU"))


def try_gpu(i: int = 0):
    """GPU ``i`` if it exists, else the CPU."""
    return gpu(i) if num_gpus() > i else cpu()


def try_all_gpus() -> list:
    """All GPUs, or ``[cpu()]`` when there is none."""
    return [gpu(i) for i in range(num_gpus())] or [cpu()]
