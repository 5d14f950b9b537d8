"""``Module`` and ``Classifier`` for JAX: a ``flax.linen.Module`` that plots its own metrics.

A Flax module holds no parameters: ``model.init`` makes them, ``model.apply``
uses them, and the trainer keeps them in a ``TrainState``. So, as in d2l 1.0's
JAX code, the methods take them explicitly: ``loss(params, X, y, state)``,
``training_step(params, batch, state)``. A Flax module is also a dataclass:
hyperparameters are fields (``lr: float``), not ``save_hyperparameters()``
calls, and ``hparams`` lists them.

``training_step`` and ``validation_step`` run ``loss`` (and ``accuracy``)
through ``jax.jit``; only the loss value plotted per batch comes back to Python.
The compiled functions are kept per model and rebuilt when a notebook cell
replaces ``loss`` or ``accuracy`` with ``@d2l.add_to_class``.
"""

from __future__ import annotations

import contextvars
import dataclasses
from dataclasses import field

import jax
import numpy as np
import optax
from flax import linen as nn
from flax import traverse_util
from jax import numpy as jnp

from d2lx import checks, cnn
from d2lx.board import ProgressBoard
from d2lx.hparams import HyperParameters
from d2lx.jax.ops import get_key
from d2lx.module import ModuleBase
from d2lx.utils import saved_streams


def jittable(*trees) -> bool:
    """True if every leaf is an array or a number, i.e. ``jax.jit`` can take ``trees`` as arguments.

    The book's scratch ``SGD`` keeps the class ``optax.EmptyState`` itself as its state, which
    ``jax.jit`` refuses; such a ``TrainState`` is then handled without compiling, as in the book.
    """
    return all(isinstance(leaf, _ARRAY_LIKE) for leaf in jax.tree_util.tree_leaves(trees))


_ARRAY_LIKE = (jax.Array, np.ndarray, np.number, np.bool_, int, float, complex, bool)


def _split_aux(out):
    """``loss`` may return the loss alone (linear regression) or ``(loss, mutated variables)`` (classifiers)."""
    return out if isinstance(out, tuple) and len(out) == 2 else (out, {})


# Initialisation runs once: XLA's cheapest compilation is the right trade (the values are the same).
_INIT_COMPILER_OPTIONS = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
# True while ``_initial_variables`` traces ``init``: initializers that draw from d2lx's seeded stream
# (``models.normal_init``) then draw, although their key is a tracer; at any other time a traced key
# means Flax is only checking shapes, and drawing would shift the stream.
_tracing_initial_values = contextvars.ContextVar("d2lx_jax_tracing_initial_values", default=False)


def tracing_initial_values() -> bool:
    """Whether the initializers now traced make a model's initial values (see ``_initial_variables``)."""
    return _tracing_initial_values.get()


def _initial_variables(module: nn.Module, key, dummy_input) -> dict:
    """``module.init``, compiled as one program with XLA's quickest settings.

    Run op by op, as ``module.init`` does, initialising GoogLeNet took 45-70 s on a two-core CPU (each
    initializer and layer compiled on its own); compiled in one piece with the default optimisation,
    65 s; like this, 14 s. Op by op, as Flax does, where that cannot work: under an outer trace
    (``jax.eval_shape`` of a whole fit), and for a model whose forward pass branches in Python on its
    input's values (the seeded stream is then rewound, so no draw is made twice).
    """
    keys = jax.tree_util.tree_leaves(key)
    if any(isinstance(leaf, jax.core.Tracer) for leaf in keys + list(dummy_input)):
        return module.init(key, *dummy_input)
    restore_streams = saved_streams()
    token = _tracing_initial_values.set(True)
    try:
        lowered = jax.jit(module.init).lower(key, *dummy_input)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        restore_streams()
        return module.init(key, *dummy_input)
    finally:
        _tracing_initial_values.reset(token)
    return lowered.compile(compiler_options=_INIT_COMPILER_OPTIONS)(key, *dummy_input)


class Module(nn.Module, HyperParameters, ModuleBase):
    """The base of every model: ``loss``, ``forward``, ``training_step``, ``validation_step``,
    ``configure_optimizers``, ``apply_init``, as in d2l 1.0's JAX code."""

    # Fields with init=False, as in the book: not constructor arguments; a new board per model,
    # shared with its clones (see ``clone``).
    plot_train_per_epoch: int = field(default=2, init=False)
    plot_valid_per_epoch: int = field(default=1, init=False)
    board: ProgressBoard = field(default_factory=ProgressBoard, init=False)

    @property
    def hparams(self) -> dict:
        """The constructor arguments (the dataclass fields), like ``HyperParameters.hparams``."""
        fields = dataclasses.fields(self)
        return {f.name: getattr(self, f.name) for f in fields if f.init and f.name not in ("parent", "name")}

    def __post_init__(self):
        checks.hyperparameters(self.hparams, self)  # fields the book names (lr, num_hiddens, dropout_1, ...)
        super().__post_init__()

    @nn.nowrap
    def save_hyperparameters(self, ignore=()) -> None:
        """Nothing to do: a Flax module's fields already are its hyperparameters (see ``hparams``)."""

    def loss(self, params, X, y, state):
        raise NotImplementedError(f"{type(self).__name__} must define loss(self, params, X, y, state)")

    def forward(self, X, *args, **kwargs):
        if not hasattr(self, "net"):
            raise NotImplementedError(f"{type(self).__name__} must define forward(self, X) or set self.net in setup")
        try:
            return self.net(X, *args, **kwargs)
        except Exception as error:  # parameters made for examples of another shape (``apply_init``)
            checks.same_example_shape(self, X.shape, error)
            raise

    def __call__(self, X, *args, **kwargs):
        return self.forward(X, *args, **kwargs)

    @nn.nowrap
    def training_step(self, params, batch, state):
        """``((loss, mutated variables), grads)`` of ``loss`` on ``batch``; plots the loss."""
        (l, mutated), grads = self._run("value_and_grad", ("loss",), params, tuple(batch[:-1]), batch[-1], state)
        self.plot("loss", l, train=True)
        return (l, mutated), grads

    @nn.nowrap
    def validation_step(self, params, batch, state):
        l, _ = self._run("loss", ("loss",), params, tuple(batch[:-1]), batch[-1], state)
        self.plot("loss", l, train=False)

    @nn.nowrap
    def apply_init(self, dummy_input, key, init=None):
        """The variables (``{'params': ...}``, maybe ``'batch_stats'``) made by one pass over ``dummy_input``.

        ``key`` is a PRNG key or a dict of them (``{'params': k1, 'dropout': k2}``). ``init``, a Flax
        initializer such as ``nn.initializers.xavier_uniform()``, redraws every weight (``kernel``);
        to train from it, give the layers ``kernel_init=...`` as the book does: the trainer
        initialises with the model's own initializers.
        """
        variables = _initial_variables(self, key, dummy_input)
        if dummy_input and hasattr(dummy_input[0], "shape"):  # the examples' shape these parameters are for
            checks.first_example_shape(self, dummy_input[0].shape, again=True)
        if init is None:
            return variables
        params = traverse_util.flatten_dict(variables["params"])
        kernels = [path for path in params if path[-1] == "kernel"]
        base = key["params"] if isinstance(key, dict) else key
        for path, subkey in zip(kernels, jax.random.split(jax.random.fold_in(base, 1), len(kernels))):
            params[path] = init(subkey, params[path].shape, params[path].dtype)
        return {**variables, "params": traverse_util.unflatten_dict(params)}

    @nn.nowrap
    def clone(self, **kwargs):
        """Flax's ``clone`` (behind ``init``, ``apply`` and ``bind``), sharing this model's board.

        The ``init=False`` fields are the model's bookkeeping, not its definition: a clone (for
        instance ``model.bind(variables)``, a model with its parameters) keeps the same ones.
        """
        module = super().clone(**kwargs)
        for f in dataclasses.fields(self):
            if not f.init:
                object.__setattr__(module, f.name, getattr(self, f.name))
        if "_d2lx_example_shape" in vars(self):  # what ``apply_init`` made parameters for
            object.__setattr__(module, "_d2lx_example_shape", self._d2lx_example_shape)
        return module

    # --- compiled steps --------------------------------------------------------
    @nn.nowrap
    def _step_loss(self, params, X, y, state):
        return _split_aux(self.loss(params, X, y, state))

    @nn.nowrap
    def _step_value_and_grad(self, params, X, y, state):
        return jax.value_and_grad(self._step_loss, has_aux=True)(params, X, y, state)

    @nn.nowrap
    def _run(self, step: str, methods: tuple[str, ...], *args):
        """Run ``self._step_<step>(*args)`` jit-compiled.

        The compiled function is made once per model and mode (the ``training`` field, which the
        trace reads: dropout and batch normalization behave differently), and again after a notebook
        cell replaces one of ``methods``; it runs uncompiled when ``args`` hold something ``jax.jit``
        cannot take.
        """
        cache = self.__dict__.setdefault("_d2lx_compiled", {})
        implementations = tuple(getattr(type(self), m) for m in methods)
        key = (step, getattr(self, "training", None))
        if cache.get(key, (None,))[0] != implementations:
            cache[key] = (implementations, jax.jit(getattr(self, f"_step_{step}")))
        function = cache[key][1] if jittable(args) else getattr(self, f"_step_{step}")
        return function(*args)

    @nn.nowrap
    def _trained_params(self, state=None):
        """``state.params`` (a ``TrainState`` or a params dict may be passed), by default the trainer's."""
        if state is None:
            state = getattr(getattr(self, "trainer", None), "state", None)
            if state is None:
                raise RuntimeError(
                    f"{type(self).__name__} has no trained parameters yet: call trainer.fit(model, data) first, "
                    "or pass a state, e.g. model.get_w_b(trainer.state)"
                )
        return getattr(state, "params", state)


class Classifier(Module):
    """A ``Module`` whose validation also reports accuracy; the loss is cross-entropy on logits."""

    _d2lx_class_labels = True  # the trainer checks that labels are class indices (not a dataclass field)
    _d2lx_image_layout = cnn.CHANNELS_LAST  # how its CNNs take images (the trainer checks a learner's batches)

    @nn.nowrap
    def validation_step(self, params, batch, state):
        l, acc = self._run("validate", ("loss", "accuracy"), params, tuple(batch[:-1]), batch[-1], state)
        self.plot("loss", l, train=False)
        self.plot("acc", acc, train=False)

    def accuracy(self, params, X, Y, state, averaged: bool = True):
        """The fraction (or, with ``averaged=False``, the 0/1 per example) of correct predictions."""
        Y_hat = state.apply_fn({"params": params, "batch_stats": state.batch_stats}, *X)
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        correct = (Y_hat.argmax(axis=1).astype(Y.dtype) == Y.reshape(-1)).astype("float32")
        return correct.mean() if averaged else correct

    def loss(self, params, X, Y, state, averaged: bool = True):
        """``(cross-entropy, mutated variables)``; the second is where BatchNorm statistics come back."""
        Y_hat, updates = state.apply_fn(
            {"params": params, "batch_stats": state.batch_stats},
            *X,
            mutable=["batch_stats"],
            rngs={"dropout": state.dropout_rng},
        )
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        l = optax.softmax_cross_entropy_with_integer_labels(Y_hat, Y.reshape((-1,)))
        return (l.mean() if averaged else l), updates

    def configure_optimizers(self):
        return optax.sgd(self.lr)

    @nn.nowrap
    def layer_summary(self, X_shape, key=None):
        """Print each layer of ``self.net`` with the shape of its output for an ``X_shape`` batch (NHWC).

        ``key`` draws the parameters (default: ``d2l.get_key()``), and the dropout masks of a model
        left in training mode (the book summarises its models with ``training=False``). Only shapes
        are computed (``jax.eval_shape``): no parameter is made and nothing is compiled, so a deep
        network is summarised in a moment on a CPU.
        """
        X = jax.ShapeDtypeStruct(cnn.summary_shape(self, X_shape, cnn.CHANNELS_LAST), jnp.float32)
        layers: list = []

        def guard(call, args, kwargs, context):  # images too small for a layer: one clear error
            if not args or not hasattr(args[0], "shape"):
                return call(*args, **kwargs)
            return cnn.guarded_call(self, X_shape, lambda X: call(X, *args[1:], **kwargs), args[0], True)

        def forward(key, X):
            params_key, dropout_key = jax.random.split(key)
            with nn.intercept_methods(guard):
                variables = self.init({"params": params_key, "dropout": dropout_key}, X)
            bound = self.clone().bind(variables, rngs={"dropout": dropout_key}, mutable=["batch_stats"])
            bound(X)  # runs setup, so that bound.net exists
            for layer in bound.net.layers:
                X = layer(X)
                layers.append((layer, X))
            return X

        jax.eval_shape(forward, get_key() if key is None else key, X)
        for layer, Y in layers:
            cnn.print_output_shape(layer, Y)

    @nn.nowrap
    def _step_validate(self, params, X, Y, state):
        l, _ = self._step_loss(params, X, Y, state)
        return l, self.accuracy(params, X, Y, state)
