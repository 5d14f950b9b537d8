"""Small helpers shared by the backend tests."""

from __future__ import annotations

import numpy as np

from d2lx.plotting import to_numpy

TRUE_W = np.array([2.0, -3.4], dtype=np.float32)
TRUE_B = 4.2


def w_b_errors(model) -> np.ndarray:
    """Absolute errors of the recovered ``w`` (two values) and ``b`` (one value)."""
    w, b = (to_numpy(t).reshape(-1) for t in model.get_w_b())
    return np.abs(np.concatenate([TRUE_W - w, [TRUE_B - b[0]]]))


def final_val_accuracy(model) -> float:
    return model.board.data["val_acc"][-1].y
