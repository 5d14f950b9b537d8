"""Devices for TensorFlow: ``cpu()``, ``gpu(i)`` and the ``try_*`` helpers of the book.

As in d2l 1.0, a device is a ``tf.device`` scope: ``with d2l.try_gpu(): ...``.
"""

from __future__ import annotations

import tensorflow as tf

from d2lx.devices import device_helpers


def cpu():
    return tf.device("/CPU:0")


def _gpu(i: int):
    return tf.device(f"/GPU:{i}")


def num_gpus() -> int:
    return len(tf.config.list_physical_devices("GPU"))


gpu, try_gpu, try_all_gpus, available_gpus = device_helpers(cpu, _gpu, num_gpus)
