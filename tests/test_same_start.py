"""What the README's "Same seed, same numbers" promises about starting points, on every backend: after
``set_seed(s)`` the scratch models draw their initial weights from d2lx's seeded parameter stream, so
each backend starts from the same numbers (the backend-free ones drawn here). The CNNs of chapters 6-8
start from their framework's own initialisation; parity gives its LeNet the same numpy-drawn weights
on every backend (``d2lx.cnn.lenet_parameters``; tests/test_cnn.py checks the hand-over)."""

from __future__ import annotations

import numpy as np
from adapters import adapter
from helpers import small_classification


def _stream(seed: int, shapes_sigmas) -> list[np.ndarray]:
    """The parameter stream of ``set_seed(seed)``, written out: ``N(0, sigma)`` float32 draws in order."""
    rng = np.random.default_rng([seed, 1])
    return [(rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma)).astype(np.float32)
            for shape, sigma in shapes_sigmas]  # fmt: skip


def test_scratch_models_start_from_the_same_numbers_on_every_backend(backend):
    X = next(iter(small_classification(backend).train_dataloader()))[0]  # 3x4 "images": 12 inputs
    backend.set_seed(5)
    linear = backend.LinearRegressionScratch(12, lr=0.1)
    softmax = backend.SoftmaxRegressionScratch(num_inputs=12, num_outputs=10, lr=0.1)
    mlp = backend.MLPScratch(num_inputs=12, num_outputs=10, num_hiddens=8, lr=0.1, sigma=0.5)
    got = [
        *adapter(backend).scratch_parameters(linear, ("w",), backend.reshape(X, (X.shape[0], -1))),
        *adapter(backend).scratch_parameters(softmax, ("W",), X),
        *adapter(backend).scratch_parameters(mlp, ("W1", "W2"), X),
    ]
    expected = _stream(5, [((12, 1), 0.01), ((12, 10), 0.01), ((12, 8), 0.5), ((8, 10), 0.5)])
    for value, want in zip(got, expected, strict=True):
        np.testing.assert_array_equal(value, want)
