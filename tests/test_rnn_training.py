"""Training infrastructure of the sequence chapters, on every backend, against numpy references.

The 1.0 edition's ``Trainer(gradient_clip_val=...)`` with ``clip_gradients`` (chapter 9; on JAX too, where
d2l's ``fit_epoch`` never clips), the 2.0 edition's ``grad_clipping`` (chapter 8), ``sequence_mask`` and
``MaskedSoftmaxCELoss`` (chapter 9). Tiny tensors: cheap.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from adapters import adapter

from d2lx.plotting import to_numpy
from d2lx.text import sequence_mask_numpy


def _clipped(grads: list[np.ndarray], theta: float) -> list[np.ndarray]:
    """The numpy reference: ``grads`` scaled together by ``theta / norm`` where their joint norm exceeds it."""
    norm = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
    return [g * (theta / norm) if norm > theta else g for g in grads]


# --- Trainer(gradient_clip_val=...) ------------------------------------------------------
def _regression(d2l):
    """Linear regression from zero weights (``sigma=0``) on 8 fixed examples, one batch an epoch, lr 1."""
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2.0, -3.4]), b=4.2, num_train=8, num_val=2, batch_size=8)
    X, y = (np.asarray(to_numpy(a), dtype=np.float64)[:8] for a in (data.X, data.y))
    return d2l.LinearRegressionScratch(num_inputs=2, lr=1.0, sigma=0), data, X, y.reshape(-1, 1)


def _reference_fit(X, y, epochs: int, clip: float) -> tuple[np.ndarray, np.ndarray]:
    """``w`` and ``b`` after ``epochs`` full-batch SGD steps (lr 1) on the book's loss ``mean((Xw + b - y)^2 / 2)``,
    from zeros, each gradient clipped to joint norm ``clip`` (0: not clipped)."""
    w, b = np.zeros((2, 1)), np.zeros(1)
    for _ in range(epochs):
        residual = X @ w + b - y
        grads = [X.T @ residual / len(X), residual.mean(axis=0)]
        if clip > 0:
            grads = _clipped(grads, clip)
        w, b = w - grads[0], b - grads[1]
    return w, b


@pytest.mark.parametrize("clip", [0, 0.5, 100.0], ids=["off", "clipping", "above_the_norm"])
def test_trainer_clips_the_joint_gradient_norm(backend, clip):
    """Two epochs of one batch: the first step runs eagerly, the second on TensorFlow's ``tf.function``
    step; the parameters are numpy's, clipped (0.5 is under the gradients' norm, 100 above it)."""
    d2l = backend
    model, data, X, y = _regression(d2l)
    trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=clip, limit_val_batches=0)
    trainer.fit(model, data)
    w, b = (np.asarray(to_numpy(p), dtype=np.float64) for p in model.get_w_b())
    want_w, want_b = _reference_fit(X, y, 2, clip)
    np.testing.assert_allclose(w.reshape(want_w.shape), want_w, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(b.reshape(want_b.shape), want_b, rtol=1e-6, atol=1e-6)
    if clip == 0.5:  # the clipping was real: unclipped, the first step alone moves w further than 0.5
        raw_w, _ = _reference_fit(X, y, 1, 0)
        assert np.linalg.norm(raw_w) > 1


def test_trainer_calls_a_patched_clip_gradients(backend):
    """A book cell's ``@d2l.add_to_class(d2l.Trainer) def clip_gradients`` is what the trainer calls, once a
    batch, with ``gradient_clip_val`` (on JAX: its gradients are what the update uses); never when it is 0."""
    d2l = backend
    original = d2l.Trainer.__dict__["clip_gradients"]
    calls = []

    @d2l.add_to_class(d2l.Trainer)
    def clip_gradients(self, grad_clip_val, grads_or_model):
        calls.append(grad_clip_val)
        return original(self, grad_clip_val, grads_or_model)

    try:
        model, data, X, y = _regression(d2l)
        d2l.Trainer(max_epochs=2, gradient_clip_val=0.5, limit_val_batches=0).fit(model, data)
        assert calls == [0.5, 0.5]
        w, _ = model.get_w_b()
        np.testing.assert_allclose(
            np.asarray(to_numpy(w), np.float64).reshape(2, 1), _reference_fit(X, y, 2, 0.5)[0], rtol=1e-6, atol=1e-6
        )
        calls.clear()
        model, data, _, _ = _regression(d2l)
        d2l.Trainer(max_epochs=1, limit_val_batches=0).fit(model, data)
        assert calls == []
    finally:
        d2l.Trainer.clip_gradients = original


@pytest.mark.parametrize(
    "value, error, message",
    [
        (True, TypeError, "gradient_clip_val must be a non-negative number, got True (bool)"),
        ("1", TypeError, "gradient_clip_val must be a non-negative number, got '1' (str)"),
        (-0.5, ValueError, "gradient_clip_val must be a non-negative number, got -0.5"),
        (float("nan"), ValueError, "gradient_clip_val must be a non-negative number, got nan"),
        (float("inf"), ValueError, "gradient_clip_val must be a non-negative number, got inf"),
    ],
)
def test_bad_gradient_clip_val_is_named(backend, value, error, message):
    with pytest.raises(error, match=re.escape(message)):
        backend.Trainer(max_epochs=1, gradient_clip_val=value)


def test_gradient_clip_val_none_is_off_as_in_lightning(backend):
    trainer = backend.Trainer(max_epochs=1, gradient_clip_val=None)
    assert trainer.gradient_clip_val == 0 and trainer.hparams["gradient_clip_val"] == 0


# --- the 2.0 edition's grad_clipping ------------------------------------------------------
GRADS = [np.array([[3.0, -4.0], [1.0, 2.0]], np.float32), np.array([0.5, -1.5], np.float32)]  # norm sqrt(32.5)


@pytest.mark.parametrize("theta", [1.0, 5.0, 10.0])
def test_grad_clipping_scales_the_gradients_together(backend, theta):
    got = adapter(backend).grad_clipping(GRADS, theta)
    for g, want in zip(got, _clipped(GRADS, theta)):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)
    if theta < math.sqrt(32.5):
        assert math.sqrt(sum(float((g**2).sum()) for g in got)) == pytest.approx(theta, rel=1e-6)


@pytest.mark.parametrize(
    "theta, error, message",
    [
        (0, ValueError, "theta must be a positive number, got 0"),
        (-1.0, ValueError, "theta must be a positive number, got -1.0"),
        (True, TypeError, "theta must be a positive number, got True (bool)"),
    ],
)
def test_grad_clipping_rejects_a_bad_theta(backend, theta, error, message):
    with pytest.raises(error, match=re.escape(message)):
        adapter(backend).grad_clipping(GRADS, theta)


# --- sequence_mask and MaskedSoftmaxCELoss --------------------------------------------------
def test_sequence_mask_matches_numpy(backend):
    d2l = backend
    X = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    lengths = np.array([1, 0, 7])  # past the end keeps all
    got = to_numpy(d2l.sequence_mask(d2l.tensor(X), d2l.tensor(lengths)))
    np.testing.assert_array_equal(got, sequence_mask_numpy(X, lengths))
    np.testing.assert_array_equal(got, [[1, 0, 0, 0], [0, 0, 0, 0], [9, 10, 11, 12]])
    X3 = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    got = to_numpy(d2l.sequence_mask(d2l.tensor(X3), d2l.tensor(np.array([2, 1])), value=-1e6))
    np.testing.assert_array_equal(got, sequence_mask_numpy(X3, [2, 1], value=-1e6))


def test_sequence_mask_rejects_bad_lengths(backend):
    d2l = backend
    X = d2l.tensor(np.ones((2, 3), np.float32))
    with pytest.raises(
        ValueError, match=re.escape("valid_len must hold one length per row of X, shape (2,), got (3,)")
    ):
        d2l.sequence_mask(X, d2l.tensor(np.array([1, 2, 3])))
    with pytest.raises(
        ValueError, match=re.escape("valid_len must hold one length per row of X, shape (2,), got (2, 1)")
    ):
        d2l.sequence_mask(X, d2l.tensor(np.array([[1], [2]])))
    with pytest.raises(ValueError, match=re.escape("valid_len must hold non-negative lengths, got [1, -2]")):
        d2l.sequence_mask(X, d2l.tensor(np.array([1, -2])))
    with pytest.raises(
        ValueError, match=re.escape("X must have a batch axis and a time axis (n, T, ...), got shape (3,)")
    ):
        d2l.sequence_mask(d2l.tensor(np.ones(3, np.float32)), d2l.tensor(np.array([1])))


def _masked_ce_numpy(pred, label, valid_len) -> np.ndarray:
    """Per sequence: the mean over time of each token's softmax cross-entropy, 0 past ``valid_len``."""
    shifted = pred - pred.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    per_token = -np.take_along_axis(log_probs, label[..., None], axis=-1)[..., 0]
    keep = np.arange(label.shape[1])[None, :] < np.asarray(valid_len)[:, None]
    return (per_token * keep).mean(axis=1)


def test_masked_softmax_ce_loss_matches_numpy(backend):
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(3, 4, 5)).astype(np.float32)
    label = rng.integers(0, 5, size=(3, 4))
    valid_len = np.array([4, 2, 0])
    got = adapter(backend).masked_ce_loss(pred, label, valid_len)
    np.testing.assert_allclose(got, _masked_ce_numpy(pred, label, valid_len), rtol=1e-5, atol=1e-6)
    assert got.shape == (3,) and got[2] == 0
    # the book's check: all-ones logits over 10 classes give log(10) per kept token
    ones = adapter(backend).masked_ce_loss(np.ones((3, 4, 10), np.float32), np.ones((3, 4), np.int64), valid_len)
    np.testing.assert_allclose(ones, [math.log(10), math.log(10) / 2, 0], rtol=1e-5)
