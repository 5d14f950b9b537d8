"""The backend-free half of ``Trainer``: the epoch loop, counters and progress bar.

A backend adds how one epoch runs (``fit_epoch``), how a batch reaches the
device (``prepare_batch``) and how the model is put there (``prepare_model``).
Attribute names follow d2l 1.0, so a book cell that replaces ``fit_epoch``
with ``@d2l.add_to_class(d2l.Trainer)`` keeps working.
"""

from __future__ import annotations

import itertools
import numbers
import os
import sys
import warnings

from d2lx import checks, contract, display
from d2lx.checks import CheckedHyperParameters
from d2lx.hparams import HyperParameters


def _progress_wanted(progress_bar: bool | None) -> bool:
    if progress_bar is not None:
        return bool(progress_bar)
    env = os.environ.get("D2LX_PROGRESS")
    if env is not None:
        return env.strip().lower() not in ("0", "false", "no", "off", "")
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


def _from_env(name: str):
    """The value of ``name``'s environment variable: an int, a float, a bool for ``fast_dev_run``, or None."""
    variable = LIMIT_ENV[name]
    text = os.environ.get(variable, "").strip()
    if not text:
        return None
    lowered = text.lower()
    if name == "fast_dev_run" and lowered in ("true", "false", "yes", "no", "on", "off"):
        return lowered in ("true", "yes", "on")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{variable} must be an int (batches) or a float in [0, 1] (a fraction), got {text!r}"
        ) from None


def _check_limit(name: str, value):
    """``None`` (no limit), an int >= 0 (batches) or a float in [0, 1] (a fraction of the epoch)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int (batches) or a float in [0, 1] (a fraction), got {value!r} (bool)")
    if isinstance(value, numbers.Integral):
        return checks.non_negative_int(name, value)
    if isinstance(value, numbers.Real) and 0 <= value <= 1:
        return float(value)
    raise ValueError(f"{name} must be an int (batches) or a float in [0, 1] (a fraction), got {value!r}")


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


def limited_by_environment(loader, name: str):
    """``loader`` under the budget the environment sets for ``name`` (``"limit_train_batches"`` or
    ``"limit_val_batches"``), as for a ``Trainer`` given no budget: the 2.0 edition's loops use it."""
    return _limited(loader, _check_limit(name, _from_env(name)))


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
    progress bar and on the board's x-axis. Where an argument is not given, the environment variables
    ``D2LX_LIMIT_TRAIN_BATCHES``, ``D2LX_LIMIT_VAL_BATCHES``, ``D2LX_FAST_DEV_RUN`` and
    ``D2LX_OVERFIT_BATCHES`` set it for every ``Trainer`` of the process, so a notebook runs unchanged
    on a smaller budget.
    """

    # Class-level defaults, so a book cell that redefines ``__init__`` without
    # these arguments still gets a working trainer.
    stop_on_nan: bool = True
    progress_bar: bool | None = None
    gradient_clip_val: float = 0
    num_gpus: int = 0

    def __init__(
        self,
        max_epochs: int,
        num_gpus: int = 0,
        gradient_clip_val: float = 0,
        *,
        stop_on_nan: bool = True,
        progress_bar: bool | None = None,
        limit_train_batches: int | float | None = None,
        limit_val_batches: int | float | None = None,
        fast_dev_run: bool | int = False,
        overfit_batches: int | float | None = None,
    ):
        self.save_hyperparameters()  # checks max_epochs, num_gpus and gradient_clip_val (d2lx.checks)
        self.gpus = self._select_gpus(num_gpus)
        self._set_budget(limit_train_batches, limit_val_batches, fast_dev_run, overfit_batches)

    # Class-level defaults for a book cell that redefines ``__init__`` (see above).
    limit_train_batches: int | float | None = None
    limit_val_batches: int | float | None = None
    fast_dev_run: bool | int = False
    overfit_batches: int | float | None = None

    def _set_budget(self, limit_train_batches, limit_val_batches, fast_dev_run, overfit_batches=None) -> None:
        """Check the budget arguments, fill the ones not given from the environment, apply fast_dev_run."""
        given = {
            "limit_train_batches": limit_train_batches,
            "limit_val_batches": limit_val_batches,
            "overfit_batches": overfit_batches,
        }
        for name, value in given.items():
            setattr(self, name, _check_limit(name, _from_env(name) if value is None else value))
        run = fast_dev_run if fast_dev_run is not False else (_from_env("fast_dev_run") or False)
        run = int(run) if isinstance(run, bool) else checks.non_negative_int("fast_dev_run", run)  # 0: off
        self.fast_dev_run = run
        if run:
            self.max_epochs = 1
            self.limit_train_batches = self.limit_val_batches = run

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
        self.train_dataloader = data.train_dataloader()
        self.val_dataloader = data.val_dataloader()
        self.train_dataloader = _limited(self.train_dataloader, self.limit_train_batches)
        overfit = _batches(self.overfit_batches, len(self.train_dataloader)) if self.overfit_batches else None
        if self.overfit_batches:  # the same first batches, every epoch, for training and validation
            fixed = _FixedBatches(self.train_dataloader, overfit or len(self.train_dataloader))
            self.train_dataloader = self.val_dataloader = fixed
        elif self.val_dataloader is not None:
            self.val_dataloader = _limited(self.val_dataloader, self.limit_val_batches)
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader) if self.val_dataloader is not None else 0

    def prepare_model(self, model) -> None:
        model.trainer = self
        model.board.xlim = [0, self.max_epochs]
        self.model = model

    def fit(self, model, data) -> None:
        """Train ``model`` on ``data`` for ``max_epochs`` epochs, validating after each."""
        self.prepare_data(data)
        self.prepare_model(model)
        self._label_plan = self._plan_label_checks(model, data)
        self._d2lx_batch = None
        self.optim = model.configure_optimizers()
        self._prepare_state(model)
        self.epoch = 0
        self.train_batch_idx = 0
        self.val_batch_idx = 0
        bar = self._open_progress_bar()
        try:
            for self.epoch in range(self.max_epochs):
                if bar is not None:
                    bar.set_description(f"epoch {self.epoch + 1}/{self.max_epochs}")
                self.fit_epoch()
                if bar is not None:
                    bar.set_postfix(_latest_values(model), refresh=False)
        finally:
            self._d2lx_batch = None  # kept only for the divergence guard: no batch outlives the fit
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
        a max: ``d2lx.checks.class_labels``)."""
        self._d2lx_batch = batch
        plan = self.__dict__.get("_label_plan", False)
        if plan is not False:
            checks.class_labels(batch[-1], plan[0], self._batch_name(train))

    def _parameter_arrays(self) -> list:
        """The model's parameters as the current step uses them, for the divergence guard's diagnosis
        (a backend hook; none by default)."""
        return []

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
        if not _progress_wanted(self.progress_bar) or self.num_train_batches == 0:
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


def _latest_values(model) -> dict[str, str]:
    board = getattr(model, "board", None)
    if board is None:
        return {}
    return {label: f"{points[-1].y:.4g}" for label, points in board.data.items() if points}
