"""Data parallelism across processes for TensorFlow: ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``.

TensorFlow's collective ops must be set up before anything else runs, so ``from d2lx import tensorflow as
d2l`` makes the strategy at import where ``TF_CONFIG`` names several workers (``{"cluster": {"worker":
["host1:port", "host2:port"]}, "task": {"type": "worker", "index": i}}``, one process per entry). A
``Trainer`` then trains on it as on ``MirroredStrategy`` in one process (``MirroredStep``): every process
draws the same global batch, each replica keeps its share.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

LAUNCH: tf.distribute.Strategy | None = None
"""The ``MultiWorkerMirroredStrategy`` of a launch of several workers, made at import; None otherwise."""
TASK_INDEX = 0


def join_launch() -> None:
    """Make the launch's strategy where ``TF_CONFIG`` names more than one worker; a malformed one is named."""
    global LAUNCH, TASK_INDEX
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text or LAUNCH is not None:
        return
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        index = int(config["task"]["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            'TF_CONFIG must be JSON like {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
            f'"index": i}}}}, got {text!r} ({type(error).__name__}: {error})'
        ) from None
    if len(workers) > 1:
        LAUNCH, TASK_INDEX = tf.distribute.MultiWorkerMirroredStrategy(), index
