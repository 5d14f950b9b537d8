"""JAX only: the functional form of chapter 12's optimizers, which d2l does not have for JAX.

``trainer_fn(params, grads, states, hyperparams)`` returns ``(params, states)``; ``train_concise_ch11`` takes an
Optax factory. A learner who writes the book's in-place cell, or passes an optimizer already made, is told so.
"""

from __future__ import annotations

import re

import pytest

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
d2l = pytest.importorskip("d2lx.jax")


@pytest.fixture
def data_iter(monkeypatch):
    from helpers import staged_data

    from d2lx import hub

    sha1 = hub.DATA_HUB["airfoil"][1]
    staged_data(monkeypatch, {"airfoil_self_noise.dat": sha1}, "airfoil_self_noise.dat")
    monkeypatch.setitem(hub.DATA_HUB, "airfoil", ("http://127.0.0.1:9/airfoil_self_noise.dat", sha1))
    return d2l.get_data_ch11(batch_size=10, n=100)[0]


def test_an_in_place_trainer_fn_is_told_to_return_its_values(data_iter):
    def sgd(params, grads, states, hyperparams):  # the PyTorch cell's habit: nothing returned
        for p, g in zip(params, grads):
            p = p - hyperparams["lr"] * g

    message = "trainer_fn must return (params, states): JAX arrays are not updated in place, got NoneType from 'sgd'"
    with pytest.raises(TypeError, match=re.escape(message)):
        d2l.train_ch11(sgd, None, {"lr": 0.05}, data_iter, 5)


def test_an_optimizer_already_made_is_refused(data_iter):
    with pytest.raises(TypeError, match=r"^trainer_fn must be an Optax optimizer such as optax.sgd, got "):
        d2l.train_concise_ch11(optax.sgd(0.05), {}, data_iter)


def test_an_optax_schedule_is_a_learning_rate(data_iter, capsys):
    """A constant schedule trains exactly as the constant learning rate (same seed, same batches)."""
    d2l.set_seed(0)
    _, constant = d2l.train_concise_ch11(optax.sgd, {"learning_rate": 0.05}, data_iter, num_epochs=4)
    d2l.set_seed(0)
    _, scheduled = d2l.train_concise_ch11(
        optax.sgd, {"learning_rate": optax.constant_schedule(0.05)}, data_iter, num_epochs=4
    )
    assert len(constant) == 2 and scheduled == pytest.approx(constant, abs=1e-6)
