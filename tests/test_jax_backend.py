"""JAX only: the explicit random keys and seeds of the book's JAX cells."""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax")
d2l = pytest.importorskip("d2lx.jax")


def test_get_seed_is_the_seed_of_set_seed(monkeypatch):
    """The book's cells write ``jax.random.PRNGKey(d2l.get_seed())`` (sections 4.4, 5.4, 6.2, 6.3, 6.6)."""
    from d2lx.jax import ops

    monkeypatch.setattr(ops, "_seed", None)  # as in a fresh process: d2l 1.0's random int
    unseeded = d2l.get_seed()
    assert type(unseeded) is int and 0 <= unseeded <= 10**6
    d2l.set_seed(42)
    assert d2l.get_seed() == 42 and d2l.get_seed() == 42
    key = jax.random.PRNGKey(d2l.get_seed())
    assert bool((jax.random.uniform(key, (3,)) == jax.random.uniform(jax.random.PRNGKey(42), (3,))).all())


def test_the_books_weight_decay_cell_runs_with_the_renamed_optax_function():
    """Section 3.7's concise JAX cell calls ``optax.additive_weight_decay``, which Optax removed in favour
    of ``add_decayed_weights`` (the same function): importing the backend restores the old name."""
    optax = pytest.importorskip("optax")
    from d2lx import renamed

    assert optax.additive_weight_decay is optax.add_decayed_weights or "optax.additive_weight_decay" not in [
        f"{r.module}.{r.old}" for r in renamed.RENAMED
    ]

    class WeightDecay(d2l.LinearRegression):  # the book's cell, unchanged
        wd: int = 0

        def configure_optimizers(self):
            # Weight Decay is not available directly within optax.sgd, but
            # optax allows chaining several transformations together
            return optax.chain(optax.additive_weight_decay(self.wd), optax.sgd(self.lr))

    def l2_penalty(w):
        return (w**2).sum() / 2

    norms = {}
    for wd in (0, 3):
        d2l.set_seed(0)
        data = d2l.Data(num_train=20, num_val=100, num_inputs=200, batch_size=5)
        trainer = d2l.Trainer(max_epochs=10, progress_bar=False)
        model = WeightDecay(wd=wd, lr=0.01)
        model.board.yscale = "log"
        trainer.fit(model, data)
        norms[wd] = float(l2_penalty(model.get_w_b(trainer.state)[0]))
    assert norms[3] < 0.5 * norms[0], norms


def test_renamed_aliases_can_be_turned_off():
    import subprocess
    import sys

    code = "import optax; had = hasattr(optax, 'additive_weight_decay'); import d2lx.jax, optax; "
    code += "print(had, hasattr(optax, 'additive_weight_decay'))"
    for value, expected in (("0", "False False"), ("1", "False True")):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**__import__("os").environ, "D2LX_RENAMED_ALIASES": value},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert " ".join(out[-2:]) == expected, (value, out)
