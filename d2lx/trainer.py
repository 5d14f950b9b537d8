"""The backend-free half of ``Trainer``: the epoch loop, counters and progress bar.

A backend adds how one epoch runs (``fit_epoch``), how a batch reaches the
device (``prepare_batch``) and how the model is put there (``prepare_model``).
Attribute names follow d2l 1.0, so a book cell that replaces ``fit_epoch``
with ``@d2l.add_to_class(d2l.Trainer)`` keeps working.

``Trainer(jit_compile=True)`` asks for the compiled path, where a backend has one: which methods it
needs to be d2lx's own, when it falls back (with one warning, ``fallback_warning``), how an epoch of
resident arrays is described to it (``ResidentEpoch``) and how its per-batch losses reach the board
afterwards (``_plot_compiled``) are written here once; the backends compile.
"""

from __future__ import annotations

import collections
import itertools
import math
import numbers
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from d2lx import checks, cnn, contract, display, distributed
from d2lx.checks import CheckedHyperParameters
from d2lx.data.loader import ArrayLoader
from d2lx.hparams import HyperParameters
from d2lx.plotting import to_numpy
from d2lx.utils import numpy_rng


def _progress_wanted(progress_bar: bool | None) -> bool:
    if progress_bar is not None:
        return bool(progress_bar)
    forced = checks.env_flag("D2LX_PROGRESS")
    if forced is not None:
        return forced
    return not display.in_notebook() and sys.stderr is not None and sys.stderr.isatty()


class _LoaderView:
    """A data loader seen through the trainer: at most ``limit`` batches, each advancing ``bar``.

    Everything else (``dataset``, ``batch_size``...) is the wrapped loader's, so a book cell that
    reads ``trainer.train_dataloader.batch_size`` still works.
    """

    def __init__(self, loader, limit: int | None = None, bar=None):
        self._loader = loader
        self._limit = limit
        self._bar = bar

    def __iter__(self):
        batches = iter(self._loader) if self._limit is None else itertools.islice(self._loader, self._limit)
        for batch in batches:
            yield batch
            if self._bar is not None:
                self._bar.update(1)

    def __len__(self) -> int:
        full = len(self._loader)
        return full if self._limit is None else min(full, self._limit)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _FixedBatches(_LoaderView):
    """The first batches of a loader, drawn once and served again every epoch (``overfit_batches``)."""

    def __init__(self, loader, count: int):
        super().__init__(loader)
        self._batches = list(itertools.islice(loader, count))

    def __iter__(self):
        return iter(self._batches)

    def __len__(self) -> int:
        return len(self._batches)


# The training budget, for every Trainer of a process (a notebook run on a smaller budget, CI).
LIMIT_ENV = {
    "limit_train_batches": "D2LX_LIMIT_TRAIN_BATCHES",
    "limit_val_batches": "D2LX_LIMIT_VAL_BATCHES",
    "fast_dev_run": "D2LX_FAST_DEV_RUN",
    "overfit_batches": "D2LX_OVERFIT_BATCHES",
}


_LIMIT = "an int (batches) or a float in [0, 1] (a fraction)"
_ENV_LIMIT = "a non-negative int (batches) or a float in [0, 1] (a fraction)"
_RUN = "a bool or a non-negative int (batches)"
_ENV_RUN = "a non-negative int (batches) or a bool (true/false, yes/no, on/off)"


def _from_env(name: str):
    """The value of ``name``'s environment variable, checked (an int, a float in [0, 1], or for
    ``fast_dev_run`` a bool or an int), or None where it is unset or empty. A bad value is named by the
    variable the learner set, not by the argument it stands for."""
    variable = LIMIT_ENV[name]
    text = os.environ.get(variable, "").strip()
    if not text:
        return None
    if name == "fast_dev_run":
        lowered = text.lower()
        if lowered in ("true", "false", "yes", "no", "on", "off"):
            return lowered in ("true", "yes", "on")
        if text.isdigit():
            return int(text)
        raise ValueError(f"{variable} must be {_ENV_RUN}, got {text!r}")
    for parse in (int, float):
        try:
            value = parse(text)
        except ValueError:
            continue
        if value >= 0 and (parse is int or value <= 1):
            return value
        break
    raise ValueError(f"{variable} must be {_ENV_LIMIT}, got {text!r}")


def _check_limit(name: str, value):
    """``None`` (no limit), an int >= 0 (batches) or a float in [0, 1] (a fraction of the epoch)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be {_LIMIT}, got {value!r} (bool)")
    if isinstance(value, numbers.Integral):
        return checks.non_negative_int(name, value)
    if isinstance(value, numbers.Real) and 0 <= value <= 1:
        return float(value)
    raise ValueError(f"{name} must be {_LIMIT}, got {value!r}")


def _check_run(value) -> int:
    """``fast_dev_run`` as a number of batches (0: off): a bool (True: 1) or a non-negative int."""
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, numbers.Integral):
        raise TypeError(f"fast_dev_run must be {_RUN}, got {checks._describe(value)}")
    if value < 0:
        raise ValueError(f"fast_dev_run must be {_RUN}, got {value}")
    return int(value)


class Budget(NamedTuple):
    """A training budget with ``fast_dev_run`` applied: the limits (None: every batch), the fixed batches
    of ``overfit_batches`` (None: off) and ``fast_dev_run`` as a number of batches (0: off)."""

    limit_train_batches: int | float | None
    limit_val_batches: int | float | None
    overfit_batches: int | float | None
    fast_dev_run: int


def resolve_budget(limit_train_batches=None, limit_val_batches=None, fast_dev_run=None, overfit_batches=None) -> Budget:
    """The budget of a ``Trainer`` (or of the 2.0 edition's loops, which pass nothing).

    Each argument that is given (not None) wins over its environment variable (``LIMIT_ENV``); one not
    given takes the variable's value. As in Lightning, ``fast_dev_run=n`` (True: 1) then overrides both
    limits with n batches (and the caller runs one epoch).
    """
    given = {"limit_train_batches": limit_train_batches, "limit_val_batches": limit_val_batches,
             "overfit_batches": overfit_batches}  # fmt: skip
    values = {name: _from_env(name) if value is None else _check_limit(name, value) for name, value in given.items()}
    run = _check_run(fast_dev_run) if fast_dev_run is not None else int(_from_env("fast_dev_run") or 0)
    if run:
        values["limit_train_batches"] = values["limit_val_batches"] = run
    return Budget(values["limit_train_batches"], values["limit_val_batches"], values["overfit_batches"], run)


def _batches(limit, full: int) -> int | None:
    """How many of ``full`` batches ``limit`` allows; None when it allows them all."""
    if limit is None:
        return None
    count = limit if isinstance(limit, int) else (max(1, int(limit * full)) if limit > 0 else 0)
    return None if count >= full else count


def _limited(loader, limit):
    """``loader`` seen through ``limit`` (a ``_LoaderView``), or ``loader`` itself when it allows every batch."""
    count = None if limit is None else _batches(limit, len(loader))
    return loader if count is None else _LoaderView(loader, count)


def budgeted_loaders(train, val, budget: Budget) -> tuple:
    """The training and validation loaders seen through ``budget`` (``val`` may be None: no validation).

    The limits cut each epoch; ``overfit_batches`` serves the same first training batches every epoch, for
    training and validation. ``Trainer.prepare_data`` and the 2.0 edition's loops use it alike."""
    train = _limited(train, budget.limit_train_batches)
    if budget.overfit_batches:
        fixed = _FixedBatches(train, _batches(budget.overfit_batches, len(train)) or len(train))
        return fixed, fixed
    return train, None if val is None else _limited(val, budget.limit_val_batches)


# --- the compiled path (``jit_compile``) -------------------------------------------------------
JIT_COMPILE_ENV = "D2LX_JIT_COMPILE"


def _jit_compile_from_env() -> bool | None:
    """``D2LX_JIT_COMPILE`` as a bool, or None when it is not set (or empty)."""
    return checks.env_flag(JIT_COMPILE_ENV)


def _check_jit_compile(value) -> bool:
    """``jit_compile`` given to ``Trainer``: None (not given: the environment decides, else off) or a bool."""
    if value is None:
        return bool(_jit_compile_from_env())
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"jit_compile must be True or False, got {checks._describe(value)}")
    return bool(value)


_REPLACED = "was replaced (by a notebook cell?); the compiled path needs d2lx's own"


def fallback_warning(reason: str, stacklevel: int = 2) -> None:
    """The one warning of a ``Trainer(jit_compile=True)`` that trains on the default loop, saying why."""
    warnings.warn(
        f"Trainer(jit_compile=True) fell back to the default loop: {reason}.", UserWarning, stacklevel=stacklevel + 1
    )


def own_methods(cls: type, *names: str) -> dict[str, tuple]:
    """``{name: (cls's function of that name,)}``, read when d2lx is imported, before a notebook cell can
    replace one with ``add_to_class``: what "d2lx's own" means to ``replaced_method``."""
    return {name: (getattr(cls, name),) for name in names}


def replaced_method(obj, name: str, own: tuple) -> str | None:
    """``"<Class>.<name>"`` when ``obj``'s method ``name`` is none of d2lx's functions ``own`` (a notebook
    cell replaced it with ``add_to_class``, a subclass overrides it, or it was set on the instance), else None.

    The compiled path replaces or inlines such a method, so it runs only while each one is d2lx's: a
    learner's version would otherwise be skipped without a word.
    """
    if name in getattr(obj, "__dict__", {}) or getattr(type(obj), name, None) not in own:
        return f"{type(obj).__name__}.{name}"
    return None


class ResidentEpoch(NamedTuple):
    """One epoch of a trainer's loader, as a compiled epoch reads it: the first ``count`` batches of
    ``batch_size`` rows of ``arrays`` (resident tensors; the last batch may be short), in an order drawn
    anew each epoch when ``shuffle``, each gathered by ``take(array, rows)`` and passed through ``transform``
    (Fashion-MNIST's scaling and resizing; None: the rows as they are). For ``overfit_batches``, ``arrays``
    are the fixed batches joined, in order."""

    arrays: tuple
    batch_size: int
    count: int
    shuffle: bool
    take: Callable | None
    transform: Callable | None

    @property
    def num_examples(self) -> int:
        return int(self.arrays[0].shape[0])

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """This epoch's rows, as the loader would draw them: ``(full, rest)``, ``full`` of shape
        ``(batches, batch_size)``, ``rest`` the rows of a last, short batch (maybe none). The shuffle comes
        from d2lx's seeded generator, drawn as the loader draws it (once per epoch that takes a batch)."""
        if self.count == 0:
            return np.zeros((0, self.batch_size), np.int64), np.zeros(0, np.int64)
        order = numpy_rng().permutation(self.num_examples) if self.shuffle else np.arange(self.num_examples)
        used = order[: self.count * self.batch_size]
        full = len(used) // self.batch_size
        return used[: full * self.batch_size].reshape(full, self.batch_size), used[full * self.batch_size :]


def resident_epoch(loader, join: Callable[[list], Any]) -> ResidentEpoch | None:
    """``loader`` (a trainer's, seen through its budget and progress-bar views) as a ``ResidentEpoch``, or
    None when it does not serve d2lx's resident arrays (``ArrayLoader``): a generator, a framework's loader.
    ``join`` concatenates a list of tensors along the rows (for the fixed batches of ``overfit_batches``)."""
    count = len(loader)
    while isinstance(loader, _LoaderView) and not isinstance(loader, _FixedBatches):
        loader = loader._loader
    if isinstance(loader, _FixedBatches):
        batches = loader._batches
        if not batches:
            return None
        arrays = tuple(join([batch[i] for batch in batches]) for i in range(len(batches[0])))
        return ResidentEpoch(arrays, int(batches[0][0].shape[0]), count, False, None, None)
    if not isinstance(loader, ArrayLoader):
        return None
    return ResidentEpoch(loader.arrays, loader.batch_size, count, loader.shuffle, loader._take, loader._transform)


def first_batch(*loaders):
    """The first batch of the first loader that has one, leaving d2lx's seeded generator as it was (the
    data order stays the same): what JAX draws the parameters from, and PyTorch's DDP shapes lazy layers
    with. A fit that only validates (``limit_train_batches=0``) takes it from the validation loader."""
    rng = numpy_rng()
    saved = rng.bit_generator.state
    try:
        for loader in loaders:
            if loader is not None and len(loader):
                return next(iter(loader))
    finally:
        rng.bit_generator.state = saved
    raise ValueError("Trainer.fit: the data has no batch to initialise the model's parameters from")


class TrainerBase(CheckedHyperParameters, HyperParameters):
    """``fit(model, data)`` for every backend: prepare, then ``fit_epoch`` ``max_epochs`` times.

    ``stop_on_nan`` (default on) raises ``TrainingDivergedError`` when a
    plotted loss becomes NaN/inf; ``progress_bar`` shows a tqdm bar (default:
    on in terminals, off in Jupyter, where the live plot shows progress; the
    environment variable ``D2LX_PROGRESS=0/1`` overrides the default).

    The training budget, as in Lightning, for running the book's heavy chapters on a CPU:
    ``limit_train_batches`` and ``limit_val_batches`` (an int: that many batches per epoch; a
    float in [0, 1]: that fraction of them) and ``fast_dev_run`` (True: one epoch of one batch;
    an int n: one epoch of n batches). ``overfit_batches`` (an int or a fraction, as the limits)
    trains every epoch on the same first batches of the training loader and validates on them too:
    the quickest check that a model can learn at all. An epoch is then the limited one, on the
    progress bar and on the board's x-axis. Where an argument is not given (None, the default of all
    four), the environment variables ``D2LX_LIMIT_TRAIN_BATCHES``, ``D2LX_LIMIT_VAL_BATCHES``,
    ``D2LX_FAST_DEV_RUN`` and ``D2LX_OVERFIT_BATCHES`` set it for every ``Trainer`` of the process, so a
    notebook runs unchanged on a smaller budget; an argument given wins, ``fast_dev_run=False`` included
    (``limit_train_batches=1.0``: the whole epoch). As in Lightning, ``fast_dev_run=n`` overrides
    ``limit_train_batches`` and ``limit_val_batches`` with n batches.

    ``jit_compile=True`` (as Keras's ``jit_compile``) compiles more than the step where the framework
    allows it, for the book's small models, whose time on a GPU is the per-step Python work: on JAX
    each epoch of resident data is one compiled ``lax.scan`` (and validation another), on PyTorch the
    training step is ``torch.compile``d (CUDA graphs on a GPU), on TensorFlow the training and
    validation steps are compiled by XLA; MXNet has no compiled path. The first epoch pays the
    compilation. The result is the default loop's to float rounding. It falls back to the default
    loop, with one warning saying why, where a notebook cell replaced a method it replaces or inlines
    (the model's ``training_step``..., a ``fit_epoch`` that does not call d2lx's), or where the backend
    cannot compile the case. Where it is not given, ``D2LX_JIT_COMPILE=1`` (or ``0``) sets it for every
    ``Trainer`` of the process.

    ``gradient_clip_val`` (the book's): when positive, ``fit_epoch`` calls ``self.clip_gradients`` on every
    training batch's gradients, rescaling them together to a joint norm of at most that value, on every
    path (the compiled ones too; on JAX as well, where d2l's ``fit_epoch`` never clips). 0, and None as
    in Lightning, turn it off.

    ``strategy`` (Lightning's: None or ``"auto"``, ``"ddp"``) and ``devices`` (keyword-only: that many CPU
    devices, with ``num_gpus=0``) train data-parallel on the framework's own engine: several GPUs, CPU
    devices, or the processes of a launch (``torchrun``; ``TF_CONFIG``) share each batch. See
    d2lx/distributed.py; ``world_size``, ``global_rank`` and ``is_global_zero`` say where this process stands,
    and only rank 0 draws the board and the progress bar.
    """

    # Class-level defaults, so a book cell that redefines ``__init__`` without
    # these arguments still gets a working trainer.
    stop_on_nan: bool = True
    progress_bar: bool | None = None
    gradient_clip_val: float = 0
    num_gpus: int = 0
    jit_compile: bool = False

    def __init__(
        self,
        max_epochs: int,
        num_gpus: int = 0,
        gradient_clip_val: float | None = 0,
        *,
        stop_on_nan: bool = True,
        progress_bar: bool | None = None,
        limit_train_batches: int | float | None = None,
        limit_val_batches: int | float | None = None,
        fast_dev_run: bool | int | None = None,
        overfit_batches: int | float | None = None,
        jit_compile: bool | None = None,
        strategy: str | None = None,
        devices: int | None = None,
    ):
        if gradient_clip_val is None:  # Lightning's "off", as 0 is the book's
            gradient_clip_val = 0
        self.save_hyperparameters()  # checks max_epochs, num_gpus and gradient_clip_val (d2lx.checks)
        self.gpus = self._select_gpus(num_gpus)
        self._set_strategy(strategy, devices)
        self._set_budget(limit_train_batches, limit_val_batches, fast_dev_run, overfit_batches)
        self.jit_compile = _check_jit_compile(jit_compile)  # None: D2LX_JIT_COMPILE, else off

    # Class-level defaults for a book cell that redefines ``__init__`` (see above).
    limit_train_batches: int | float | None = None
    limit_val_batches: int | float | None = None
    fast_dev_run: bool | int = False
    overfit_batches: int | float | None = None

    def _set_budget(self, limit_train_batches, limit_val_batches, fast_dev_run, overfit_batches=None) -> None:
        """Check the budget arguments, fill the ones not given from the environment, apply fast_dev_run."""
        budget = resolve_budget(limit_train_batches, limit_val_batches, fast_dev_run, overfit_batches)
        self.limit_train_batches, self.limit_val_batches = budget.limit_train_batches, budget.limit_val_batches
        self.overfit_batches, self.fast_dev_run = budget.overfit_batches, budget.fast_dev_run
        if budget.fast_dev_run:
            self.max_epochs = 1

    # --- data parallelism (``strategy``; see d2lx/distributed.py) -------------------------------------
    # Lightning's names: how many workers share each batch, this process's rank, and whether it is rank 0
    # (the one that draws the board and the progress bar). Class-level for a book cell's own ``__init__``.
    strategy: str = "auto"
    devices: int | None = None
    world_size: int = 1
    global_rank: int = 0
    _workers: list | None = None  # the devices that share each batch in this process; None: the plain loop

    @property
    def is_global_zero(self) -> bool:
        return self.global_rank == 0

    def _set_strategy(self, strategy, devices) -> None:
        """Check ``strategy`` and ``devices`` and choose the workers (``_set_up_workers``, a backend hook)."""
        self.strategy = distributed.check_strategy("strategy", strategy)
        self.devices = None if devices is None else checks.positive_int("devices", devices)
        if self.devices is not None and self.num_gpus:
            raise ValueError(
                f"devices counts CPU devices and needs num_gpus=0 (the GPUs are num_gpus'), got devices={devices} "
                f"with num_gpus={self.num_gpus}"
            )
        self._set_up_workers()

    def _set_up_workers(self) -> None:
        """Data parallelism in one process, where the backend has it: the GPUs of ``num_gpus``, or ``devices``
        CPU devices (``_cpu_devices``), share each batch when there are several or ``strategy="ddp"``."""
        if self.num_gpus:
            workers = self.gpus
        elif self.devices is None and self.strategy == "auto":
            return
        else:
            workers = self._cpu_devices(self.devices or 1)
        if self.strategy == "ddp" or len(workers) > 1:
            self._workers = list(workers)
            self.world_size = len(workers)

    def _data_parallel(self) -> bool:
        """Whether this fit trains data-parallel (then step by step: ``jit_compile`` falls back)."""
        return self._workers is not None or self.world_size > 1

    def _cpu_devices(self, count: int) -> list:
        """``count`` of the framework's CPU devices (fewer, with a warning, where it has fewer): a backend hook."""
        raise contract.not_implemented(self, "_cpu_devices")

    def _fewer_cpu_devices(self, count: int, found: list, how: str) -> list:
        """``found[:count]``, warning as ``num_gpus`` does when there are fewer than ``count``; ``how`` says
        how the framework is given more."""
        if count > len(found):
            warnings.warn(
                f"Trainer(devices={count}) asked for {count} CPU devices but {len(found)} "
                f"{'is' if len(found) == 1 else 'are'} available ({how}); training on {len(found)}.",
                stacklevel=5,
            )
        return found[:count]

    # The backend's ``devices`` module (a hook: see d2lx/contract.py).
    _devices = None

    def _available_gpus(self) -> list:
        """The GPUs the backend's framework can use (an empty list when there is none)."""
        if self._devices is None:
            raise contract.not_implemented(self, "_devices")
        return self._devices.available_gpus()

    def _select_gpus(self, requested: int) -> list:
        available = self._available_gpus()
        if requested > len(available):
            where = f"the {len(available)} there are" if available else "the CPU"
            warnings.warn(
                f"Trainer(num_gpus={requested}) asked for {requested} GPU(s) but {len(available)} "
                f"{'is' if len(available) == 1 else 'are'} available; training on {where}.",
                stacklevel=3,
            )
        return available[:requested]

    def prepare_data(self, data) -> None:
        budget = Budget(self.limit_train_batches, self.limit_val_batches, self.overfit_batches, self.fast_dev_run)
        self.train_dataloader, self.val_dataloader = budgeted_loaders(
            data.train_dataloader(), data.val_dataloader(), budget
        )
        if self.world_size > 1:
            distributed.check_batch_size(getattr(self.train_dataloader, "batch_size", None), self.world_size)
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader) if self.val_dataloader is not None else 0

    def prepare_model(self, model) -> None:
        model.trainer = self
        model.board.xlim = [0, self.max_epochs]
        if not self.is_global_zero:  # one board for a data-parallel launch: rank 0's
            model.board.display = False
        self.model = model

    def fit(self, model, data) -> None:
        """Train ``model`` on ``data`` for ``max_epochs`` epochs, validating after each."""
        self.prepare_data(data)
        self.prepare_model(model)
        checks.images_fit_model(model, data)  # a ViT's img_size against the data's resize
        self._label_plan = self._plan_label_checks(model, data)
        self._d2lx_model, self._image_layout = model, cnn.image_layout(model)  # for _inspect_batch
        self._d2lx_batch = None
        self.optim = model.configure_optimizers()
        self.epoch = 0
        self.train_batch_idx = 0
        self.val_batch_idx = 0
        self._prepare_state(model)  # may inspect the first batch (JAX draws the parameters from it)
        bar = self._d2lx_bar = self._open_progress_bar()
        self._jit_plan = self._plan_compiled_path() if self.jit_compile else None
        self._d2lx_reads_late, self._d2lx_pending_points = self._reads_plots_late(), collections.deque()
        self._d2lx_late_depth = None  # set by the first point read late
        try:
            for self.epoch in range(self.max_epochs):
                if bar is not None:
                    bar.set_description(f"epoch {self.epoch + 1}/{self.max_epochs}")
                self._d2lx_epoch_ran = False
                self.fit_epoch()
                self._draw_pending_points()  # the epoch's last values, read late, before the bar shows them
                if self._jit_plan is not None and not self._d2lx_epoch_ran:  # fit_epoch is not d2lx's, nor calls it
                    self._jit_plan = None
                    fallback_warning(f"{type(self).__name__}.fit_epoch {_REPLACED}", stacklevel=2)
                if bar is not None:
                    bar.set_postfix(_latest_values(model), refresh=False)
        finally:
            self._d2lx_batch = None  # kept only for the divergence guard: no batch outlives the fit
            self._d2lx_reads_late, self._d2lx_pending_points = False, collections.deque()
            self._jit_plan = self._d2lx_bar = None  # compiled functions and joined arrays live for one fit
            flush = getattr(getattr(model, "board", None), "flush", None)
            if flush is not None:
                flush()
            if bar is not None:
                self.train_dataloader = self.train_dataloader._loader
                bar.close()

    def _prepare_state(self, model) -> None:
        """Set up training state that lives outside the model, after ``configure_optimizers``.

        Nothing by default; the JAX backend initialises the parameters and its ``TrainState`` here.
        """

    # --- what each batch is checked for ------------------------------------------------------
    def _plan_label_checks(self, model, data):
        """How ``_inspect_batch`` checks labels in this fit: ``False`` (not a classifier, or the data module
        vouched for its labels, checked here once) or ``(num_classes,)`` (``None`` when unknown)."""
        if not getattr(model, "_d2lx_class_labels", False):
            return False
        num_classes = _num_classes(model)
        known = getattr(data, "_known_label_range", None)
        known = known() if callable(known) else None
        if known is None:
            return (num_classes,)
        low, high = known
        if low < 0 or (num_classes is not None and high >= num_classes):
            raise ValueError(
                f"{type(data).__name__}'s labels run from {low} to {high}, but {type(model).__name__} predicts "
                f"{num_classes} classes (labels 0 to {num_classes - 1 if num_classes else '?'})"
            )
        return False

    def _batch_name(self, train: bool) -> str:
        batch = self.train_batch_idx if train else self.val_batch_idx
        return f"epoch {self.epoch + 1}/{self.max_epochs}, {'train' if train else 'val'} batch {batch}"

    def _inspect_batch(self, batch, train: bool) -> None:
        """Called by ``fit_epoch`` on each batch as the loader gives it: keeps it for the divergence
        guard's diagnosis and, for a classifier on a learner's own loader, checks its labels (a min and
        a max: ``d2lx.checks.class_labels``) and its inputs' dtype and, for a CNN, dimensions
        (``d2lx.checks.image_batch``: no data is read)."""
        self._d2lx_batch = batch
        plan = self.__dict__.get("_label_plan", False)
        if plan is not False:
            where = self._batch_name(train)
            checks.class_labels(batch[-1], plan[0], where)
            if len(batch) > 1:
                checks.image_batch(self._d2lx_model, batch[0], self._image_layout, where)

    def _parameter_arrays(self) -> list:
        """The model's parameters as the current step uses them, for the divergence guard's diagnosis
        (a backend hook; none by default)."""
        return []

    def _parameter_snapshot(self) -> list:
        """``_parameter_arrays`` copied to numpy as they are now, unchanged by the updates that follow
        (torch, MXNet and TensorFlow update in place): the first batch's diagnosis when plots are read
        late. Once a fit, on its first batch."""
        return [np.array(to_numpy(p)) for p in self._parameter_arrays()]

    # --- reading plotted values late (``module.PlotPoint``) ------------------------------------------
    LATE_READS_MAX_DEPTH = 16
    """At most this many plotted values wait to be read. One is enough to queue the next step before
    waiting for the last; more let the host run further ahead of an asynchronous engine (MXNet's softmax
    regression epoch on a 2-core CPU, alternating in one process: 0.45 s waiting for the previous value,
    0.41 s with 16 waiting, 0.38 s reading none; bench/RESULTS.md, "Issue 21")."""
    LATE_READS_MAX_BYTES = 64 * 2**20
    """...and together the batches they keep for the divergence guard's diagnosis hold at most this many
    bytes: 16 batches of 256 Fashion-MNIST images at 28x28 (0.8 MB each), 2 at 224x224 and batch 128."""

    def _reads_plots_late(self) -> bool:
        """Whether ``Module.plot`` reads values late in this fit (up to ``_late_reads_depth`` calls): where
        reading a value makes the host wait for the device (a GPU; MXNet's asynchronous engine on the CPU
        too), so the next steps are queued first. A backend hook; False by default.
        ``D2LX_READ_PLOTS_LATE=1`` or ``0`` decides for every fit (to test either way)."""
        forced = checks.env_flag("D2LX_READ_PLOTS_LATE")
        return self._device_reads_block() if forced is None else forced

    def _device_reads_block(self) -> bool:
        """Whether reading a value back waits for the training device (backend hook: on a GPU; always on
        MXNet)."""
        return False

    def _late_reads_depth(self, point) -> int:
        """How many plotted values may wait to be read in this fit: ``LATE_READS_MAX_DEPTH``, fewer where
        that many of ``point``'s batch (the first one read late) would hold more than ``LATE_READS_MAX_BYTES``."""
        depth = self.__dict__.get("_d2lx_late_depth")
        if depth is None:
            batch_bytes = sum(_nbytes(array) for array in point.batch or ())
            depth = self.LATE_READS_MAX_DEPTH
            if batch_bytes:
                depth = max(1, min(depth, self.LATE_READS_MAX_BYTES // batch_bytes))
            self._d2lx_late_depth = depth
        return depth

    def _draw_pending_points(self) -> None:
        pending = self.__dict__.get("_d2lx_pending_points")
        while pending:
            pending.popleft().draw()

    # --- the compiled path (``jit_compile``) -------------------------------------------------
    def _plan_compiled_path(self):
        """What ``fit_epoch`` compiles in this fit (the backend's plan, from ``_compile_plan``), or None after
        one warning saying why the default loop trains instead: a method the compiled path replaces or
        inlines is not d2lx's own (``_compiled_path_needs``), or the backend cannot compile the case."""
        for obj, name, own in self._compiled_path_needs():
            replaced = replaced_method(obj, name, own)
            if replaced is not None:
                reason = f"{replaced} {_REPLACED}"
                break
        else:
            if self._data_parallel():
                fallback_warning("data-parallel training (strategy, devices, a launch) runs step by step", stacklevel=3)
                return None
            plan = self._compile_plan()
            if not isinstance(plan, str):
                return plan
            reason = plan
        fallback_warning(reason, stacklevel=3)
        return None

    def _compile_failed(self, what: str, error: Exception) -> None:
        """Leave the compiled path for the rest of the fit: ``what`` (``"torch.compile failed"``) raised
        ``error``, whose type and first line the fallback warning quotes."""
        self._jit_plan = None
        lines = str(error).strip().splitlines()
        cause = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
        fallback_warning(f"{what} ({cause})", stacklevel=4)

    def _compiled_path_needs(self) -> list[tuple[Any, str, tuple]]:
        """``(object, method name, d2lx's own functions)`` for each method the backend's compiled path
        replaces or inlines (a backend hook; see ``own_methods``).

        ``fit_epoch`` is not one of them: the compiled path runs inside d2lx's ``fit_epoch``
        (``_epoch_plan``), so a cell's ``fit_epoch`` that calls it (a timer around it) keeps it, and one
        that does not gets the fallback warning after the first epoch, from ``fit``.
        """
        return []

    def _epoch_plan(self):
        """The compiled path's plan for the epoch that d2lx's ``fit_epoch`` runs (None: the default loop);
        also notes that d2lx's ``fit_epoch`` ran, which ``fit`` checks after the first epoch."""
        self._d2lx_epoch_ran = True
        return self.__dict__.get("_jit_plan")

    def _compile_plan(self):
        """The backend's plan for compiling this fit (anything ``fit_epoch`` reads back from
        ``self._jit_plan``), or a string saying why it cannot (a backend hook)."""
        return f"the {type(self).__module__.split('.')[1]} backend has no compiled path"

    def _plot_compiled(self, train: bool, values: dict[str, Any], batch_at: Callable[[int], Any] | None = None):
        """Plot an epoch that ran compiled: ``values`` holds, per key (``"loss"``, ``"acc"``), one number per
        batch, plotted as ``training_step``/``validation_step`` plot them batch by batch, in the same order
        and with the batch counter as it was at each batch, so the board gets the same points and the
        divergence guard names the same batch. ``batch_at(i)`` gives batch ``i`` for the guard's diagnosis
        (asked only for a non-finite value). Advances the counter past the epoch's batches."""
        counter = "train_batch_idx" if train else "val_batch_idx"
        start = getattr(self, counter)
        columns = {key: np.asarray(value).reshape(-1) for key, value in values.items()}
        count = len(next(iter(columns.values()))) if columns else 0
        for i in range(count):
            setattr(self, counter, start + i)
            if batch_at is not None and self.stop_on_nan and not all(math.isfinite(v[i]) for v in columns.values()):
                self._d2lx_batch = batch_at(i)
            for key, column in columns.items():
                self.model.plot(key, column[i], train=train)
        setattr(self, counter, start + count)

    # --- backend hooks (see d2lx/contract.py) ------------------------------------------------
    def prepare_batch(self, batch):
        """The batch moved to the training device."""
        raise contract.not_implemented(self, "prepare_batch")

    def fit_epoch(self) -> None:
        """One epoch: forward, gradients and update on every training batch, then validation."""
        raise contract.not_implemented(self, "fit_epoch")

    def clip_gradients(self, grad_clip_val, grads_or_model):
        """The gradients rescaled together so that their joint norm is at most ``grad_clip_val``."""
        raise contract.not_implemented(self, "clip_gradients")

    def _open_progress_bar(self):
        if not _progress_wanted(self.progress_bar) or self.num_train_batches == 0 or not self.is_global_zero:
            return None
        from tqdm.auto import tqdm

        bar = tqdm(total=self.max_epochs * self.num_train_batches, unit="batch", leave=True)
        self.train_dataloader = _LoaderView(self.train_dataloader, bar=bar)
        return bar


def _num_classes(model) -> int | None:
    """How many classes ``model`` predicts, from the book's argument names, or None."""
    for name in ("num_outputs", "num_classes"):
        value = getattr(model, name, None)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
    return None


def _nbytes(array) -> int:
    """The bytes ``array`` (any backend's tensor, or numpy's) holds; 0 for what is not an array."""
    nbytes = getattr(array, "nbytes", None)  # numpy, torch, JAX
    if isinstance(nbytes, numbers.Integral):
        return int(nbytes)
    dtype, shape = getattr(array, "dtype", None), getattr(array, "shape", None)
    if dtype is None or shape is None:
        return 0
    itemsize = getattr(dtype, "itemsize", None) or getattr(dtype, "size", None)  # MXNet's numpy dtypes; TensorFlow
    try:
        return math.prod(int(d) for d in shape) * int(itemsize)
    except (TypeError, ValueError):  # a shape not yet known, or a dtype that tells no size
        return 0


def _latest_values(model) -> dict[str, str]:
    board = getattr(model, "board", None)
    if board is None:
        return {}
    return {label: f"{points[-1].y:.4g}" for label, points in board.data.items() if points}
