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

``Trainer(jit_compile=True)`` compiles each epoch whole (``CompiledEpochs``): the
training batches are one ``lax.scan`` of the same step, gathered on the device
from the resident arrays in the loader's order, and validation another; the
per-batch losses reach the board after the epoch.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from flax.training import train_state
from jax import numpy as jnp

from d2lx import checks, distributed
from d2lx.data import loader as array_loader
from d2lx.datamodule import FashionMNISTBase
from d2lx.jax import data as jax_data
from d2lx.jax import devices
from d2lx.jax.module import Classifier, Module, jittable
from d2lx.jax.ops import get_key
from d2lx.trainer import ResidentEpoch, TrainerBase, first_batch, own_methods, resident_epoch
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


def grad_clipping(grads, theta):
    """The 2.0 edition's clipping (section 8.5), in JAX's functional form: the gradient pytree ``grads``
    rescaled together so that their joint norm is at most ``theta`` (``g * theta / norm`` where ``norm >
    theta``), returned. The 2.0 edition has no JAX version: this is the TensorFlow one's signature, since
    JAX's gradients, like TensorFlow's, are values rather than fields of the parameters."""
    if not isinstance(theta, jax.core.Tracer):  # a traced theta (inside a learner's jax.jit) is not checked
        theta = checks.positive_number("theta", theta)
    return _clip_by_global_norm(grads, theta)


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
        first = first_batch(self.train_dataloader, self.val_dataloader)
        self._inspect_batch(first, train=bool(len(self.train_dataloader)))  # before Flax shapes layers by it
        dummy_input = tuple(first[:-1])
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
                self._replicate_state()
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
        self._replicate_state()

    # --- data parallelism: a mesh of the workers, the batch sharded along its rows (d2lx/distributed.py) ---
    def _set_up_workers(self) -> None:
        """In one process, the core's choice (the GPUs, or ``devices`` CPU devices). In a launch of several
        processes (torchrun's variables, which JAX reads too: ``MASTER_ADDR:MASTER_PORT`` is the coordinator),
        ``jax.distributed.initialize`` joined them at import (d2lx/jax/distributed.py) and the workers are every
        process's devices."""
        if not jax.distributed.is_initialized() or jax.process_count() == 1:
            super()._set_up_workers()
            return
        if self.devices is not None:
            raise ValueError(
                f"devices={self.devices}: in a launch of several processes the workers are every process's "
                "devices (on CPUs, XLA_FLAGS=--xla_force_host_platform_device_count=N in each)"
            )
        self._workers = jax.devices() if self.num_gpus else jax.devices("cpu")
        self.world_size, self.global_rank = len(self._workers), jax.process_index()

    def _cpu_devices(self, count: int) -> list:
        how = "JAX's CPU devices: XLA_FLAGS=--xla_force_host_platform_device_count=N, set before JAX starts"
        return self._fewer_cpu_devices(count, jax.devices("cpu"), how)

    def _shardings(self):
        """``(rows, replicated)``: the batch split along its rows over the mesh ``data`` of the workers, and
        the parameters copied to every worker. Under ``jit`` the gradients of the sharded batch are then
        summed across the workers by XLA (``computation follows data``)."""
        mesh = jax.sharding.Mesh(np.array(self._workers), ("data",))
        spec = jax.sharding.PartitionSpec
        return jax.sharding.NamedSharding(mesh, spec("data")), jax.sharding.NamedSharding(mesh, spec())

    def _replicate_state(self) -> None:
        if self._workers is not None:
            replicated = self._shardings()[1]
            self.state = jax.tree_util.tree_map(lambda leaf: _global_array(leaf, replicated), self.state)

    def prepare_batch(self, batch):
        if self._workers is not None:
            rows = self._shardings()[0]
            distributed.share(int(batch[0].shape[0]), len(self._workers), 0)  # whole shares, else a clear error
            if jax.process_count() == 1:
                return [jax.device_put(a, rows) for a in batch]
            return [_global_array(a, rows) for a in batch]
        if self.gpus:
            batch = [jax.device_put(a, self.gpus[0]) for a in batch]
        return batch

    def fit_epoch(self) -> None:
        plan = self._epoch_plan()
        if plan is None or not plan.train(self):
            self._train_batches()
        if self.val_dataloader is None:
            return
        plan = self.__dict__.get("_jit_plan")  # None if training could not be compiled
        if plan is None or not plan.validate(self):
            self._validate_batches()

    def _train_batches(self) -> None:
        """The default loop's training half: one compiled update per batch."""
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

    def _validate_batches(self) -> None:
        """The default loop's validation half: ``validation_step`` per batch. Under data parallelism each
        worker validates the whole batch (copied to every worker): a validation batch need not split."""
        self.model.training = False
        whole = None if self._workers is None else self._shardings()[1]
        for batch in self.val_dataloader:
            self._inspect_batch(batch, train=False)
            batch = self.prepare_batch(batch) if whole is None else [_global_array(a, whole) for a in batch]
            self.model.validation_step(self.state.params, batch, self.state)
            self.val_batch_idx += 1

    def _device_reads_block(self) -> bool:
        return bool(self.gpus)  # a loss read on a GPU waits for its step: plots are read late

    def _parameter_arrays(self) -> list:
        return jax.tree_util.tree_leaves(self.state.params)  # before this batch's update

    def clip_gradients(self, grad_clip_val, grads):
        """``grads`` rescaled together so that their joint norm is at most ``grad_clip_val``, returned (the
        book's functional method). ``fit_epoch`` calls it, through the attribute, when ``gradient_clip_val
        > 0``: d2l's JAX ``fit_epoch`` never does, so clipping did nothing there."""
        return grad_clipping(grads, grad_clip_val)

    # --- the compiled path (``jit_compile``) -------------------------------------------------
    def _compiled_path_needs(self) -> list:
        needs = [
            (self, "prepare_batch", _OWN_TRAINER["prepare_batch"]),
            (self.model, "training_step", _OWN_MODEL["training_step"]),
        ]
        if self.val_dataloader is not None and self.num_val_batches:
            needs.append((self.model, "validation_step", _OWN_MODEL["validation_step"]))
        if self.gradient_clip_val > 0:
            needs.append((self, "clip_gradients", _OWN_TRAINER["clip_gradients"]))
        return needs

    def _compile_plan(self):
        if not jittable(self.state):
            return (
                "the TrainState holds something jax.jit cannot take (the book's scratch SGD keeps the class "
                "optax.EmptyState as its state); the compiled epoch passes the whole state"
            )
        sources = {"training": resident_epoch(self.train_dataloader, jnp.concatenate)}
        if self.val_dataloader is not None:
            sources["validation"] = resident_epoch(self.val_dataloader, jnp.concatenate)
        for what, source in sources.items():
            reason = _not_compilable(source, what, self.__dict__.get("_label_plan", False))
            if reason is not None:
                return reason
        return CompiledEpochs(self, sources["training"], sources.get("validation"))


def _global_array(value, sharding):
    """``value`` (the same in every process) as one array laid out by ``sharding``, which may span the devices
    of several processes (``jax.distributed``): each process gives its own devices their part. A PRNG key
    goes as its data."""
    if jax.process_count() == 1:
        return jax.device_put(value, sharding)
    if jax.dtypes.issubdtype(getattr(value, "dtype", None), jax.dtypes.prng_key):
        data = _global_array(jax.random.key_data(value), sharding)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(value))
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


# d2lx's own methods, read at import, before a notebook cell can replace one (``d2lx.trainer.own_methods``)
_OWN_TRAINER = own_methods(Trainer, "prepare_batch", "clip_gradients")
_OWN_MODEL = {
    "training_step": (Module.training_step,),
    "validation_step": (Module.validation_step, Classifier.validation_step),
}
_OWN_TAKES = (jax_data._take, array_loader._default_take, None)  # None: the fixed batches of overfit_batches
_OWN_BATCH, _OWN_IMAGES = FashionMNISTBase._batch, jax_data.FashionMNIST._images


def _own_transform(transform) -> bool:
    """Whether a loader's ``transform`` is d2lx's: none, or Fashion-MNIST's scaling and resizing (which the
    compiled epoch traces; a learner's might do what a trace cannot, such as count batches in Python)."""
    if transform is None:
        return True
    data = getattr(transform, "__self__", None)
    return getattr(transform, "__func__", None) is _OWN_BATCH and getattr(type(data), "_images", None) is _OWN_IMAGES


def _not_compilable(source: ResidentEpoch | None, what: str, label_plan) -> str | None:
    """Why the compiled epoch cannot serve ``source`` (the ``what`` loader's epoch), or None."""
    if source is None:
        return (
            f"the {what} loader does not serve d2lx's resident arrays (an ArrayLoader, as get_tensorloader "
            "and d2lx's data modules give); the compiled epoch gathers its batches on the device"
        )
    if not all(isinstance(a, (jax.Array, np.ndarray)) for a in source.arrays):
        return f"the {what} loader's arrays are not JAX or numpy arrays"
    if source.take not in _OWN_TAKES or not _own_transform(source.transform):
        return f"the {what} loader gathers or transforms its batches with code of its own, not d2lx's"
    if label_plan is not False and source.count:
        try:  # all at once: the default loop checks them batch by batch
            checks.class_labels(source.arrays[-1], label_plan[0], f"the {what} data")
        except (TypeError, ValueError):
            return f"the {what} labels are not all class indices; the default loop names the batch that holds one"
    return None


def _scan_batches(step, carry, arrays: tuple, transform, full, rest):
    """``step(carry, batch) -> (carry, out)`` over the batches of rows ``full`` (one ``lax.scan``), then over
    the short batch of rows ``rest`` (if any); the outs stacked, one per batch. Each batch is gathered
    from ``arrays`` and passed through ``transform``, as the loader does."""

    def gather(rows):
        batch = tuple(jnp.take(a, rows, axis=0) for a in arrays)
        return batch if transform is None else tuple(transform(batch))

    outs = []
    if full.shape[0]:
        carry, out = jax.lax.scan(lambda c, rows: step(c, gather(rows)), carry, full)
        outs.append(out)
    if rest.shape[0]:
        carry, out = step(carry, gather(rest))
        outs.append(jax.tree_util.tree_map(lambda v: v[None], out))
    return carry, jax.tree_util.tree_map(lambda *parts: jnp.concatenate(parts), *outs)


def _training_step(model, clip: float):
    """The default loop's step on one batch, as a function of ``(state, batch)``: the gradients of
    ``model.loss`` (what ``training_step`` runs), clipped if asked, then ``_apply_gradients``."""

    def step(state: TrainState, batch):
        (loss, mutated), grads = model._step_value_and_grad(state.params, tuple(batch[:-1]), batch[-1], state)
        if clip > 0:
            grads = _clip_by_global_norm(grads, clip)
        batch_stats = mutated["batch_stats"] if state.batch_stats else state.batch_stats
        return _apply_gradients(state, grads, batch_stats), loss

    return step


def _validation_step(model):
    """What ``validation_step`` plots for one batch: ``(loss, accuracy)`` for a classifier, else the loss."""
    classifier = type(model).validation_step is Classifier.validation_step

    def step(state: TrainState, batch):
        X, y = tuple(batch[:-1]), batch[-1]
        if classifier:
            return state, model._step_validate(state.params, X, y, state)
        return state, model._step_loss(state.params, X, y, state)[0]

    return step


class CompiledEpochs:
    """``Trainer(jit_compile=True)``'s epochs on JAX, for one fit: training as one compiled ``lax.scan`` of
    the default loop's step over the epoch's batches, validation as another, each batch gathered on the
    device from the resident arrays, in the order (d2lx's seeded shuffle) and with the contents the loader
    would give, the last short batch included. The per-batch losses are plotted after the epoch
    (``TrainerBase._plot_compiled``), at the points where the default loop plots them."""

    def __init__(self, trainer: Trainer, train: ResidentEpoch, val: ResidentEpoch | None):
        model = trainer.model
        self.train_source, self.val_source = train, val
        self.train_arrays = self._placed(train.arrays, trainer.gpus)
        self.val_arrays = None if val is None else self._placed(val.arrays, trainer.gpus)
        self.train_epoch = self._compiled(_training_step(model, trainer.gradient_clip_val), train.transform)
        self.val_epoch = None if val is None else self._compiled(_validation_step(model), val.transform)

    @staticmethod
    def _placed(arrays: tuple, gpus: list) -> tuple:
        """The arrays on the trainer's GPU (where ``prepare_batch`` would move each batch), else where they are."""
        return tuple(jax.device_put(a, gpus[0]) for a in arrays) if gpus else tuple(arrays)

    @staticmethod
    def _compiled(step, transform):
        return jax.jit(lambda carry, arrays, full, rest: _scan_batches(step, carry, arrays, transform, full, rest))

    def train(self, trainer: Trainer) -> bool:
        """One compiled training epoch; False (after the fallback warning) if it cannot be compiled."""
        ran = self._run(trainer, training=True)
        if not isinstance(ran, tuple):
            return ran
        state, losses, batch_at = ran
        # plotted before the state moves on: a divergence leaves the state of the epoch's start, whose
        # parameters the guard's diagnosis reads (``_parameter_arrays``)
        trainer._plot_compiled(True, {"loss": losses}, batch_at)
        trainer.state = state
        bar = trainer.__dict__.get("_d2lx_bar")
        if bar is not None:
            bar.update(len(losses))
        return True

    def validate(self, trainer: Trainer) -> bool:
        """One compiled validation pass; False (after the fallback warning) if it cannot be compiled."""
        ran = self._run(trainer, training=False)
        if not isinstance(ran, tuple):
            return ran
        _, metrics, batch_at = ran
        values = {"loss": metrics[0], "acc": metrics[1]} if isinstance(metrics, tuple) else {"loss": metrics}
        trainer._plot_compiled(False, values, batch_at)
        return True

    def _run(self, trainer: Trainer, training: bool) -> tuple | bool:
        """Run one compiled epoch (training) or validation pass: ``(state, outputs as numpy, batch_at)``;
        True when there is no batch to run; False, after the fallback warning, when it cannot be compiled,
        with numpy's random state put back so that the default loop draws the same batch order again."""
        if training:
            source, arrays, epoch, what = self.train_source, self.train_arrays, self.train_epoch, "training epoch"
        else:
            source, arrays, epoch, what = self.val_source, self.val_arrays, self.val_epoch, "validation epoch"
        rng = numpy_rng()
        drawn_from = rng.bit_generator.state
        full, rest = source.rows()
        if not full.size and not rest.size:
            return True
        trainer.model.training = training
        try:
            state, outputs = epoch(trainer.state, arrays, _int32(full), _int32(rest))
            outputs = jax.device_get(outputs)
        except Exception as error:  # any failure to compile: the default loop runs the epoch, or raises
            rng.bit_generator.state = drawn_from
            trainer._compile_failed(f"JAX could not compile the {what}", error)
            return False
        return state, outputs, self._batch_at(arrays, source.transform, full, rest)

    @staticmethod
    def _batch_at(arrays: tuple, transform, full: np.ndarray, rest: np.ndarray):
        """``batch_at(i)``: the epoch's batch ``i``, gathered again, for the divergence guard's diagnosis."""

        def batch_at(i: int):
            rows = full[i] if i < len(full) else rest
            batch = tuple(jax_data._take(a, rows) for a in arrays)
            return batch if transform is None else tuple(transform(batch))

        return batch_at


def _int32(rows: np.ndarray) -> np.ndarray:
    return rows.astype(np.int32)  # JAX's default integer type (the loader's int64 index becomes it too)
