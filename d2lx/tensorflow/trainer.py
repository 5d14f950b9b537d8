"""``Trainer`` for TensorFlow: one epoch of ``tf.GradientTape`` and ``apply_gradients``, devices, clipping.

The training step is compiled with ``tf.function`` where that cannot change
what runs: when the model's ``training_step`` is d2lx's (the loss of a forward
pass; the plot of that loss, or of a language model's perplexity, stays in Python, after the step) and the optimizer
is a Keras one or d2lx's ``SGD``. A cell that replaces ``training_step``,
``clip_gradients`` or the optimizer gets the book's eager loop, as does a model
whose code TensorFlow cannot trace. The first batch of each ``fit`` always runs
eagerly: it builds lazily created layers and the optimizer's state.
``tf.config.run_functions_eagerly(True)`` runs everything eagerly, for debugging.
Both compiled steps trace without AutoGraph, and with it only where the model's code
needs it (``Traced``): its conversion was most of the first epoch's cost.

Validation is compiled likewise (``CompiledValidation``): when the model's
``validation_step`` is d2lx's, what it plots (the loss, and the accuracy of a
classifier) is computed by a ``tf.function`` and plotted in Python, as the eager
step would plot it; a replaced ``validation_step``, and a model TensorFlow cannot
trace, validate eagerly. The first validation batch of each ``fit`` runs eagerly.

``Trainer(jit_compile=True)`` compiles both steps with XLA (``tf.function(...,
jit_compile=True)``); a step XLA cannot compile falls back to the default loop,
with a warning.
"""

from __future__ import annotations

import tensorflow as tf

from d2lx import checks, distributed
from d2lx.module import ClassifierBase, ModuleBase
from d2lx.rnn import LanguageModelSteps
from d2lx.tensorflow import devices
from d2lx.tensorflow import distributed as launch
from d2lx.tensorflow.optim import SGD
from d2lx.trainer import TrainerBase, first_batch, own_methods, replaced_method


class Trainer(TrainerBase):
    """``Trainer(max_epochs, num_gpus=0, gradient_clip_val=0)``; ``fit(model, data)`` trains."""

    _devices = devices

    def prepare_batch(self, batch):
        if self.gpus:
            with self.gpus[0]:
                batch = [tf.identity(a) for a in batch]
        return batch

    # --- data parallelism: tf.distribute.MirroredStrategy over the workers (d2lx/distributed.py) ---------
    def _set_up_workers(self) -> None:
        """In one process, the core's choice; in a launch of several workers (``TF_CONFIG``), the replicas of
        its ``MultiWorkerMirroredStrategy`` (made at import: d2lx/tensorflow/distributed.py)."""
        if launch.LAUNCH is None:
            super()._set_up_workers()
            return
        if self.devices is not None:
            raise ValueError(
                f"devices={self.devices}: in a launch of several workers (TF_CONFIG) the workers are its processes"
            )
        self._workers = [launch.LAUNCH]
        self.world_size, self.global_rank = launch.LAUNCH.num_replicas_in_sync, launch.TASK_INDEX

    def _cpu_devices(self, count: int) -> list:
        how = "TensorFlow's logical CPUs: tf.config.set_logical_device_configuration, before TensorFlow starts"
        return self._fewer_cpu_devices(count, [d.name for d in tf.config.list_logical_devices("CPU")], how)

    def _prepare_state(self, model) -> None:
        """Under data parallelism, the model's and the optimizer's variables are made in the strategy's scope
        (mirrored on every worker) from the first batch, and the step is ``MirroredStep``."""
        self._mirrored = None
        if self._workers is None:
            return
        if not isinstance(self.optim, tf.keras.optimizers.Optimizer):
            raise ValueError(
                "data parallelism on TensorFlow (strategy, devices) needs a Keras optimizer from "
                f"configure_optimizers (it sums the workers' gradients), got {type(self.optim).__name__}"
            )
        if model.variables:
            raise ValueError(
                f"{type(model).__name__} already has its variables (made in __init__, as the book's scratch models "
                "do, or by a call or an earlier fit): under data parallelism on TensorFlow they are made in the "
                "strategy's scope at fit, from the first batch; fit a new model whose layers build lazily"
            )
        if launch.LAUNCH is not None:
            strategy = launch.LAUNCH
        else:
            names = [f"/GPU:{i}" for i in range(len(self.gpus))] if self.num_gpus else self._workers
            strategy = tf.distribute.MirroredStrategy(devices=names)
        self._mirrored = MirroredStep(
            model, self.optim, strategy, first_batch(self.train_dataloader, self.val_dataloader)
        )

    def fit_epoch(self):
        self._epoch_plan()  # the XLA plan, which ``_compiled_step`` and ``_validation`` read
        self.model.training = True
        mirrored = self.__dict__.get("_mirrored")
        for batch in self.train_dataloader:
            self._inspect_batch(batch, train=True)
            if mirrored is not None:
                self.model.plot("loss", mirrored.step(batch), train=True)
                self.train_batch_idx += 1
                continue
            batch = self.prepare_batch(batch)
            loss = self._compiled_step(batch)
            if loss is None:  # the book's step, eagerly
                self._gradient_step(batch, self.model.training_step)
            else:
                key, value = _plotted(self.model, loss)
                self.model.plot(key, value, train=True)
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        self.model.training = False
        validation = self._validation()
        for batch in self.val_dataloader:
            self._inspect_batch(batch, train=False)
            batch = self.prepare_batch(batch)
            if validation is None or not validation.validate(self, batch):
                self.model.validation_step(batch)
            self.val_batch_idx += 1

    def _gradient_step(self, batch, training_step):
        """``training_step(batch)`` under a ``GradientTape``, then one update of the trainable variables."""
        with tf.GradientTape() as tape:
            loss = training_step(batch)
        variables = self.model.trainable_variables
        grads = tape.gradient(loss, variables)
        if self.gradient_clip_val > 0:
            grads = self.clip_gradients(self.gradient_clip_val, grads)
        self.optim.apply_gradients(zip(grads, variables))
        return loss

    def _parameter_arrays(self) -> list:
        return list(self.model.trainable_variables)

    def clip_gradients(self, grad_clip_val, grads):
        """``grads`` rescaled together so that their joint norm is at most ``grad_clip_val`` (the book's
        method: ``fit_epoch`` calls it, through the attribute, when ``gradient_clip_val > 0``)."""
        return grad_clipping(grads, grad_clip_val)

    # --- the compiled step ------------------------------------------------------
    def _can_compile(self) -> bool:
        if type(self.model).training_step not in _OWN_TRAINING:
            return False
        if self.gradient_clip_val > 0 and type(self).clip_gradients is not _CLIP_GRADIENTS:
            return False
        if isinstance(self.optim, tf.keras.optimizers.Optimizer):
            return True
        return type(self.optim) is SGD and SGD.apply_gradients is _SGD_APPLY_GRADIENTS

    def _compiled_step(self, batch):
        """The loss of one compiled step on ``batch``, or None when this batch is to run eagerly."""
        xla = self.__dict__.get("_jit_plan") is not None
        state = self.__dict__.get("_compiled")
        if state is None or state[0] is not self.model or state[1] is not self.optim:  # a new fit
            self._compiled = (self.model, self.optim, self._compile_step(xla) if self._can_compile() else None)
            return None
        step = state[2]
        if step is None:
            return None
        try:
            return step(*batch)
        except Exception as error:  # TensorFlow could not run the model's code as a graph: eagerly from now on
            if not xla:
                self._compiled = (self.model, self.optim, None)
                return None
            self._compile_failed("XLA could not compile the training step", error)  # the default tf.function next
            self._compiled = (self.model, self.optim, self._compile_step(False))
            return self._compiled_step(batch)

    def _compile_step(self, xla: bool = False):
        """``tf.function`` of one step of ``self.model`` with ``self.optim``: ``training_step`` without the plot;
        compiled by XLA when ``xla``."""
        model = self.model

        def unplotted_loss(batch):
            return model.loss(model(*batch[:-1]), batch[-1])

        def train_step(*batch):
            return self._gradient_step(batch, unplotted_loss)

        return Traced(train_step, xla)

    def _validation(self):
        """This fit's compiled validation (``CompiledValidation``): the XLA plan's under ``jit_compile``,
        else a ``tf.function`` one while the model's ``validation_step`` is d2lx's; None: validate eagerly."""
        plan = self.__dict__.get("_jit_plan")
        if plan is not None:
            return plan
        state = self.__dict__.get("_compiled_validation")
        if state is None or state[0] is not self.model or state[1] is not self.optim:  # a new fit
            own = replaced_method(self.model, "validation_step", _OWN_VALIDATION) is None
            validation = CompiledValidation(self.model) if own else None
            self._compiled_validation = state = (self.model, self.optim, validation)
        return state[2]

    # --- the compiled path (``jit_compile``) -------------------------------------------------
    def _compiled_path_needs(self) -> list:
        needs = [
            (self.model, "training_step", (ModuleBase.training_step,)),
        ]
        if self.val_dataloader is not None and self.num_val_batches:
            needs.append((self.model, "validation_step", _OWN_VALIDATION))
        if self.gradient_clip_val > 0:
            needs.append((self, "clip_gradients", _OWN_TRAINER["clip_gradients"]))
        return needs

    def _compile_plan(self):
        if not self._can_compile():
            return f"the optimizer ({type(self.optim).__name__}) is neither a Keras optimizer nor d2lx's SGD"
        return CompiledValidation(self.model, xla=True)


def grad_clipping(grads, theta) -> list:
    """The 2.0 edition's clipping on TensorFlow (section 8.5): the list ``grads`` rescaled together so
    that their joint norm is at most ``theta`` (``g * theta / norm`` where ``norm > theta``), returned, as
    the book's TensorFlow version takes and returns gradients. Runs inside a ``tf.function`` too."""
    theta = checks.positive_number("theta", theta)
    clipped, _ = tf.clip_by_global_norm(list(grads), theta)
    return clipped


# d2lx's own methods, read at import, before a notebook cell can replace one (``d2lx.trainer.own_methods``)
_OWN_TRAINING = (ModuleBase.training_step, LanguageModelSteps.training_step)
_OWN_VALIDATION = (ModuleBase.validation_step, ClassifierBase.validation_step, LanguageModelSteps.validation_step)
_OWN_TRAINER = own_methods(Trainer, "clip_gradients")
_CLIP_GRADIENTS = Trainer.clip_gradients
_SGD_APPLY_GRADIENTS = SGD.apply_gradients


def _plotted_key(model) -> str:
    """What d2lx's own ``training_step``/``validation_step`` of ``model`` plot: the loss, or for a language
    model (``RNNLMScratch``, ``RNNLM``) its perplexity ``exp(loss)`` as ``ppl``."""
    return "ppl" if isinstance(model, LanguageModelSteps) else "loss"


def _plotted(model, loss) -> tuple:
    """``(key, value)`` that the eager step would plot for a batch's ``loss`` (see ``_plotted_key``): the
    compiled steps compute the loss and plot it here."""
    key = _plotted_key(model)
    return key, (tf.exp(loss) if key == "ppl" else loss)


def _function(python_function, xla: bool, autograph: bool):
    """``tf.function(python_function)``, compiled by XLA when ``xla``, converted by AutoGraph when ``autograph``."""
    function = tf.function(python_function, jit_compile=True if xla else None, autograph=autograph)
    # Each fit brings a new model and optimizer, so each fit traces anew: TensorFlow's warning
    # about a function "created repeatedly in a loop" would be a false alarm.
    function._omit_frequent_tracing_warning = True
    return function


class Traced:
    """``python_function`` as a ``tf.function`` traced without AutoGraph, and with it where that fails.

    AutoGraph rewrites the Python source of each function a trace reaches outside TensorFlow and Keras (d2lx's
    step, ``Module.__call__``, the model's ``loss`` and ``accuracy``, and what they call; not a forward pass under
    Keras's ``Layer.__call__``, which it leaves alone), so that Python's ``if``/``for``/``while`` on a tensor
    become graph control flow. For the book's models that rewriting was most of the first epoch's cost and
    bought nothing: on a 2-core CPU, softmax regression's first epoch took 0.5-1 s more than a hand-written
    ``tf.function`` loop's, which converts only its own few lines (bench/RESULTS.md, issue 34). Keras 3 traces
    its own ``fit`` without AutoGraph too. Code that needs it (a Python ``if`` on a tensor in a learner's
    ``loss``) fails to trace without it; then this function traces with AutoGraph, for good, and calls again:
    the numbers are the same (``tests/test_tensorflow_backend.py``). Where both fail, the error reaches the
    caller, which falls back to the eager step as before.
    """

    def __init__(self, python_function, xla: bool = False):
        self._python_function, self._xla = python_function, xla
        self.autograph = False
        self._function = _function(python_function, xla, autograph=False)

    def __call__(self, *args):
        if self.autograph:
            return self._function(*args)
        try:
            return self._function(*args)
        except Exception:  # e.g. OperatorNotAllowedInGraphError: Python control flow on a tensor
            self.autograph = True
            self._function = _function(self._python_function, self._xla, autograph=True)
            return self._function(*args)

    def experimental_get_tracing_count(self) -> int:
        """How many times the function in use was traced (``tf.function``'s count: a failed trace is not one)."""
        return self._function.experimental_get_tracing_count()


class CompiledValidation:
    """The validation of one fit while the model's ``validation_step`` is d2lx's: what it plots (the loss,
    and the accuracy for a classifier), computed by one ``tf.function`` per batch (compiled by XLA when
    ``xla``, for ``Trainer(jit_compile=True)``) and plotted in Python after it, as the eager step plots it.
    The fit's first validation batch runs ``validation_step`` eagerly (it builds the layers of a fit that
    trained no batch). A function TensorFlow cannot run as a graph leaves the eager step to validate: for
    the rest of the fit, silently as the default training step does; under XLA with the fallback warning,
    the default loop (and so a plain ``tf.function``) validating from the next epoch."""

    def __init__(self, model, xla: bool = False):
        classifier = type(model).validation_step is _OWN_VALIDATION[1]

        def metrics(*batch):
            Y_hat = model(*batch[:-1])
            loss = model.loss(Y_hat, batch[-1])
            return (loss, model.accuracy(Y_hat, batch[-1])) if classifier else (_plotted(model, loss)[1],)

        self.keys = ("loss", "acc") if classifier else (_plotted_key(model),)
        self.metrics = Traced(metrics, xla)
        self.xla = xla
        self.batches = 0
        self.failed = False

    def validate(self, trainer: Trainer, batch) -> bool:
        """Plot one validation batch's metrics, computed compiled; False when ``validation_step`` is to run."""
        self.batches += 1
        if self.batches == 1 or self.failed or (self.xla and trainer.__dict__.get("_jit_plan") is not self):
            return False  # the first batch, or given up
        try:
            values = self.metrics(*batch)
        except Exception as error:  # TensorFlow (or XLA) could not run the model's code as a graph
            self.failed = True
            if self.xla:
                trainer._compile_failed("XLA could not compile the validation step", error)
            return False
        for key, value in zip(self.keys, values):
            trainer.model.plot(key, value, train=False)
        return True


class MirroredStep:
    """One data-parallel training step of ``model`` with ``optim`` under ``strategy`` (``MirroredStrategy``
    over the devices, or a launch's ``MultiWorkerMirroredStrategy``): each replica takes its equal share of
    the batch, its loss divided by the number of replicas (``_loss_scale``), and the Keras optimizer sums the
    replicas' gradients, so the update is the one of the whole batch's mean loss. The variables are made in
    the strategy's scope from ``batch`` (the fit's first)."""

    def __init__(self, model, optim, strategy, batch):
        self.strategy = strategy
        self.replicas = self.strategy.num_replicas_in_sync
        with self.strategy.scope():
            model(*batch[:-1])
            optim.build(model.trainable_variables)
        self.model, self.optim = model, optim
        self.scale = self._loss_scale(batch)
        self._step = tf.function(self._distributed_step)

    def _loss_scale(self, batch) -> float:
        """What a replica's loss is multiplied by so that the replicas' gradients add up to the batch's: ``1/k``,
        or 1 for a Keras loss, which divides by the number of replicas itself in a replica's context (Keras's
        ``scale_loss_for_distribution``) where a hand-written mean does not. Told apart once, on ``batch``."""
        plain = float(self.model.loss(self.model(*batch[:-1]), batch[-1]))
        same = self.strategy.experimental_distribute_values_from_function(lambda context: tuple(batch))
        seen = self.strategy.run(lambda *b: self.model.loss(self.model(*b[:-1]), b[-1]), args=same)
        first = float(self.strategy.experimental_local_results(seen)[0])
        scaled_by_keras = plain != 0 and abs(first * self.replicas - plain) <= 1e-4 * abs(plain)
        return 1.0 if scaled_by_keras else 1.0 / self.replicas

    def _replica_step(self, *batch):
        with tf.GradientTape() as tape:
            loss = self.model.loss(self.model(*batch[:-1]), batch[-1]) * self.scale
        variables = self.model.trainable_variables
        self.optim.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def _distributed_step(self, batch):
        per_replica = self.strategy.run(self._replica_step, args=batch)
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def step(self, batch):
        """The mean loss of ``batch`` (a tensor), after one update from it."""
        if self.replicas == 1:  # the one replica's share is the whole batch: no per-step slicing in Python
            return self._step(tuple(batch))
        rows = [distributed.share(int(batch[0].shape[0]), self.replicas, i) for i in range(self.replicas)]
        shares = self.strategy.experimental_distribute_values_from_function(
            lambda context: tuple(a[rows[context.replica_id_in_sync_group]] for a in batch)
        )
        return self._step(shares)
