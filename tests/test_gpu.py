"""What a GPU changes in the shared loop, on every backend that has one: plotted values are read late there
(the host queues the next steps before it waits for a loss), and the points are those read at once.

Marked ``gpu``: skipped, with the reason, where the backend has no GPU (CI's machines); run them with
``pytest -m gpu --backend NAME`` on a GPU machine (``bench/gpu_checks.sh``). The framework-only GPU paths
are tested in their own files (``-m gpu`` selects them too): PyTorch's CUDA-graph compiled step and the
resident images on the GPU in ``test_torch_devices.py``, JAX's grouped convolution and compiled epochs
on the GPU in ``test_jax_backend.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import backend_name

pytestmark = pytest.mark.gpu

# Whether a GPU trainer reads its plotted values late (``TrainerBase._device_reads_block``): MXNet's
# engine is asynchronous on every device; the TensorFlow trainer has no such hook and reads at once.
LATE_ON_A_GPU = {"torch": True, "mxnet": True, "jax": True, "tensorflow": False}


def _board_after_fit(d2l, monkeypatch, late):
    """The board's points after a short GPU fit of softmax regression; ``late``: ``D2LX_READ_PLOTS_LATE``
    (None: the trainer decides)."""
    if late is None:
        monkeypatch.delenv("D2LX_READ_PLOTS_LATE", raising=False)
    else:
        monkeypatch.setenv("D2LX_READ_PLOTS_LATE", late)
    d2l.set_seed(0)
    data, model = d2l.FashionMNIST(batch_size=256), d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
    trainer = d2l.Trainer(max_epochs=2, limit_train_batches=20, limit_val_batches=5, num_gpus=1)
    trainer.fit(model, data)
    points = {key: [(float(p.x), float(p.y)) for p in values] for key, values in model.board.data.items()}
    return trainer, points


def test_on_a_gpu_plots_read_late_are_the_points_read_at_once(backend, monkeypatch):
    trainer, default = _board_after_fit(backend, monkeypatch, None)
    assert trainer._reads_plots_late() is LATE_ON_A_GPU[backend_name(backend)]
    _, at_once = _board_after_fit(backend, monkeypatch, "0")
    assert default.keys() == at_once.keys() == {"train_loss", "val_loss", "val_acc"}
    for key in default:
        assert [x for x, _ in default[key]] == [x for x, _ in at_once[key]], key
        np.testing.assert_allclose([y for _, y in default[key]], [y for _, y in at_once[key]], atol=1e-5)
    losses = [y for _, y in default["train_loss"]]
    assert losses[-1] < 0.8 * losses[0], losses  # it trained
