"""The backend-free half of ``Trainer``: the epoch loop, counters and progress bar.

A backend adds how one epoch runs (``fit_epoch``), how a batch reaches the
device (``prepare_batch``) and how the model is put there (``prepare_model``).
Attribute names follow d2l 1.0, so a book cell that replaces ``fit_epoch``
with ``@d2l.add_to_class(d2l.Trainer)`` keeps working.
"""

from __future__ import annotations

import os
import sys
import warnings

from d2lx import checks, display
from d2lx.hparams import HyperParameters


def _progress_wanted(progress_bar: bool | None) -> bool:
    if progress_bar is not None:
        return bool(progress_bar)
    env = os.environ.get("D2LX_PROGRESS")
    if env is not None:
        return env.strip().lower() not in ("0", "false", "no", "off", "")
    return not display.in_notebook() and sys.stderr is not None and sys.stderr.isatty()


class _CountingLoader:
    """Wrap a data loader so each batch it yields advances the progress bar.

    Everything else (``len``, ``dataset``, ``batch_size``...) is the wrapped loader's.
    """

    def __init__(self, loader, bar):
        self._loader = loader
        self._bar = bar

    def __iter__(self):
        for batch in self._loader:
            yield batch
            self._bar.update(1)

    def __len__(self) -> int:
        return len(self._loader)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class TrainerBase(HyperParameters):
    """``fit(model, data)`` for every backend: prepare, then ``fit_epoch`` ``max_epochs`` times.

    ``stop_on_nan`` (default on) raises ``TrainingDivergedError`` when a
    plotted loss becomes NaN/inf; ``progress_bar`` shows a tqdm bar (default:
    on in terminals, off in Jupyter, where the live plot shows progress; the
    environment variable ``D2LX_PROGRESS=0/1`` overrides the default).
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
    ):
        checks.positive_int("max_epochs", max_epochs)
        checks.non_negative_int("num_gpus", num_gpus)
        checks.non_negative_number("gradient_clip_val", gradient_clip_val)
        self.save_hyperparameters()
        self.gpus = self._select_gpus(num_gpus)

    def _available_gpus(self) -> list:
        """The backend's GPU devices (``try_all_gpus()``); none in the core."""
        return []

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

    def fit_epoch(self) -> None:  # pragma: no cover - every backend defines it
        raise NotImplementedError

    def _open_progress_bar(self):
        if not _progress_wanted(self.progress_bar) or self.num_train_batches == 0:
            return None
        from tqdm.auto import tqdm

        bar = tqdm(total=self.max_epochs * self.num_train_batches, unit="batch", leave=True)
        self.train_dataloader = _CountingLoader(self.train_dataloader, bar)
        return bar


def _latest_values(model) -> dict[str, str]:
    board = getattr(model, "board", None)
    if board is None:
        return {}
    return {label: f"{points[-1].y:.4g}" for label, points in board.data.items() if points}
