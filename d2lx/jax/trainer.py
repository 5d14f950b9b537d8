"""``Trainer`` for JAX: parameters in a ``TrainState``, one compiled update per batch.

``fit(model, data, key=None)`` first initialises the parameters from one
training batch (``model.apply_init``) and builds ``trainer.state``, Flax's
``TrainState`` carrying the BatchNorm statistics and the dropout key as in the
book; then each batch's gradients come from ``model.training_step`` and
``state.apply_gradients`` runs compiled.

The batch statistics are trainer state: ``model.loss`` returns them, updated by
the batch, next to the loss (``(loss, {'batch_stats': ...})``), and the update
stores them in ``trainer.state.batch_stats`` with the new parameters.
Validation runs the model with ``training=False``, on the running statistics,
and leaves them as they are.

A model that was fitted before goes on from where its last fit left it (its
parameters, statistics and dropout key), as models that hold their parameters
do on the other frameworks; ``fit(model, data, key=...)`` starts afresh.
"""

from __future__ import annotations

from typing import Any

import jax
from flax.training import train_state
from jax import numpy as jnp

from d2lx.jax import devices
from d2lx.jax.module import jittable
from d2lx.jax.ops import get_key
from d2lx.trainer import TrainerBase
from d2lx.utils import numpy_rng


class TrainState(train_state.TrainState):
    """Flax's ``TrainState`` plus ``batch_stats`` (BatchNorm) and ``dropout_rng``, as in d2l 1.0."""

    batch_stats: Any
    dropout_rng: jax.Array


def _apply_gradients(state: TrainState, grads, batch_stats) -> TrainState:
    """One optimizer step; also moves the dropout key on and stores the new BatchNorm statistics."""
    state = state.apply_gradients(grads=grads)
    return state.replace(dropout_rng=jax.random.split(state.dropout_rng)[0], batch_stats=batch_stats)


_apply_gradients_compiled = jax.jit(_apply_gradients)


@jax.jit
def _clip_by_global_norm(grads, max_norm):
    leaves = jax.tree_util.tree_leaves(grads)
    norm = jnp.sqrt(sum(jnp.vdot(g, g) for g in leaves))
    return jax.tree_util.tree_map(lambda g: jnp.where(norm < max_norm, g, g * (max_norm / norm)), grads)


def _first_batch(*loaders):
    """The first batch of the first loader that has one, leaving d2lx's seeded generator as it was (the
    data order stays the same). A fit that only validates (``limit_train_batches=0``) takes it from the
    validation loader."""
    rng = numpy_rng()
    saved = rng.bit_generator.state
    try:
        for loader in loaders:
            if loader is not None and len(loader):
                return next(iter(loader))
    finally:
        rng.bit_generator.state = saved
    raise ValueError("Trainer.fit: the data has no batch to initialise the model's parameters from")


def _shapes(tree) -> list:
    return [(path, tuple(leaf.shape)) for path, leaf in jax.tree_util.tree_leaves_with_path(tree)]


def _state_to_continue(model, previous, dummy_input) -> TrainState | None:
    """The ``TrainState`` of ``model``'s last fit (``previous``) if it still fits the model: made for this
    model, with the parameters and statistics that ``model.apply_init`` would make now (a notebook cell
    may have changed the model's layers since). None otherwise."""
    state = getattr(previous, "state", None)
    if not isinstance(state, TrainState) or getattr(state.apply_fn, "__self__", None) is not model:
        return None
    key = jax.random.key(0)
    wanted = jax.eval_shape(lambda: model.apply_init(dummy_input, key={"params": key, "dropout": key}))
    same = _shapes(wanted.get("params", {})) == _shapes(state.params)
    same = same and _shapes(wanted.get("batch_stats", {})) == _shapes(state.batch_stats)
    return state if same else None


class Trainer(TrainerBase):
    """``Trainer(max_epochs, num_gpus=0, gradient_clip_val=0)``; ``fit(model, data, key=None)`` trains.

    After ``fit``, ``trainer.state.params`` holds the trained parameters.
    """

    _devices = devices

    def fit(self, model, data, key: jax.Array | None = None) -> None:
        """Train ``model`` on ``data``; ``key`` (a PRNG key or an int seed, default ``d2l.get_key()``)
        draws the initial parameters and the dropout key. Without ``key``, a model fitted before goes
        on from its last fit (see the module's docstring)."""
        if isinstance(key, int) and not isinstance(key, bool):
            key = jax.random.key(key)
        self._root_key = key
        super().fit(model, data)

    def prepare_model(self, model) -> None:
        self._previous_trainer = getattr(model, "trainer", None)  # before this trainer becomes the model's
        super().prepare_model(model)

    def _prepare_state(self, model) -> None:
        key = getattr(self, "_root_key", None)
        dummy_input = tuple(_first_batch(self.train_dataloader, self.val_dataloader)[:-1])
        previous = self.__dict__.pop("_previous_trainer", None)
        if key is None and previous is not None:
            state = _state_to_continue(model, previous, dummy_input)
            if state is not None:  # go on from the last fit, with this trainer's optimizer
                self.state = TrainState.create(
                    apply_fn=model.apply,
                    params=state.params,
                    batch_stats=state.batch_stats,
                    dropout_rng=state.dropout_rng,
                    tx=self.optim,
                )
                return
        params_key, dropout_key = jax.random.split(get_key() if key is None else key)
        variables = model.apply_init(dummy_input, key={"params": params_key, "dropout": dropout_key})
        self.state = TrainState.create(
            apply_fn=model.apply,
            params=variables.get("params", {}),
            batch_stats=variables.get("batch_stats", {}),
            dropout_rng=dropout_key,
            tx=self.optim,
        )

    def prepare_batch(self, batch):
        if self.gpus:
            batch = [jax.device_put(a, self.gpus[0]) for a in batch]
        return batch

    def fit_epoch(self) -> None:
        self.model.training = True
        for batch in self.train_dataloader:
            self._inspect_batch(batch, train=True)
            value, grads = self.model.training_step(self.state.params, self.prepare_batch(batch), self.state)
            if self.gradient_clip_val > 0:
                grads = self.clip_gradients(self.gradient_clip_val, grads)
            batch_stats = self.state.batch_stats
            if batch_stats:  # BatchNorm statistics come back as the loss's mutated variables
                batch_stats = value[1]["batch_stats"]
            update = _apply_gradients_compiled if jittable(self.state) else _apply_gradients
            self.state = update(self.state, grads, batch_stats)
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        self.model.training = False
        for batch in self.val_dataloader:
            self._inspect_batch(batch, train=False)
            self.model.validation_step(self.state.params, self.prepare_batch(batch), self.state)
            self.val_batch_idx += 1

    def _parameter_arrays(self) -> list:
        return jax.tree_util.tree_leaves(self.state.params)  # before this batch's update

    def clip_gradients(self, grad_clip_val, grads):
        """``grads`` rescaled together so that their joint norm is at most ``grad_clip_val``."""
        return _clip_by_global_norm(grads, grad_clip_val)
