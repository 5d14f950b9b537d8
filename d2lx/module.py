"""The backend-free half of ``Module``: plotting metrics and the divergence guard.

Each backend's ``Module`` mixes this in next to its framework's base class
(``nn.Module``, ``gluon.Block``, ``flax.linen.Module``, ``keras.Model``).
"""

from __future__ import annotations

import math

import numpy as np

from d2lx import checks
from d2lx.board import ProgressBoard
from d2lx.plotting import to_numpy


class TrainingDivergedError(FloatingPointError):
    """Raised when a plotted loss or metric becomes NaN or infinite during training."""


def _as_float(value) -> float:
    array = to_numpy(value)
    return float(array.reshape(-1).mean()) if array.size != 1 else float(array.reshape(()))


def _first_non_finite(array) -> str | None:
    """``"<value> at position <i>"`` for the first NaN or infinity in ``array`` (floats only), else None."""
    values = to_numpy(array)
    if values.dtype.kind not in "fc":
        return None
    bad = np.flatnonzero(~np.isfinite(values.reshape(-1)))
    if not bad.size:
        return None
    index = np.unravel_index(bad[0], values.shape) if values.ndim > 1 else int(bad[0])
    where = index if values.ndim <= 1 else tuple(int(i) for i in index)
    return f"{values.reshape(-1)[bad[0]].item()} at position {where}"


def non_finite_data_cause(batch, whose: str) -> str | None:
    """``"<whose> inputs (X) are not finite (...) ..."`` (or targets) for a batch ``(X..., y)`` holding a NaN
    or infinity, else None: the data, not the learning rate, made the loss non-finite."""
    for what, arrays in (("inputs (X)", batch[:-1]), ("targets (y)", batch[-1:])):
        for array in arrays:
            found = _first_non_finite(array)
            if found is not None:
                return (
                    f"{whose} {what} are not finite ({found}), so the data, not the learning rate, "
                    "is the cause: remove or repair those examples"
                )
    return None


def _divergence_cause(point: PlotPoint) -> str | None:
    """Why ``point``'s loss became non-finite, when it was not the step size: non-finite inputs or targets
    in its batch, or parameters that were non-finite before training. None otherwise (the learning rate)."""
    batch = point.batch
    if batch is not None and len(batch) >= 2:
        cause = non_finite_data_cause(batch, "the batch's")
        if cause is not None:
            return cause
    try:
        parameters = point.parameters if point.parameters is not None else point.trainer._parameter_arrays()
    except Exception:  # a diagnosis must not hide the divergence
        parameters = []
    for parameter in parameters:
        found = _first_non_finite(parameter)
        if found is None:
            continue
        if point.train and point.batch_idx == 0:
            return (
                f"the model's parameters were already not finite before training ({found} in a parameter of "
                f"shape {tuple(to_numpy(parameter).shape)}): check how they are initialized or loaded"
            )
        return None  # an earlier update made them so: the step size
    return None


class PlotPoint:
    """One ``Module.plot`` call, with everything drawing it needs, taken when it was made.

    On a GPU, reading a loss back as a float makes the host wait for the step that computed it, so
    the next step cannot be queued meanwhile (JAX's ResNet18: 4.2 s an epoch instead of 2.9, see
    bench/sync_cost.py); so does MXNet's asynchronous engine on the CPU. There the trainer reads the
    points late, up to 16 calls (``TrainerBase._reads_plots_late``, ``_late_reads_depth``): each point
    keeps its batch index, epoch and batch, so the board and the divergence guard say exactly what they
    would have said at once; only the error comes a few batches later.
    """

    __slots__ = (
        "module",
        "trainer",
        "key",
        "value",
        "train",
        "x",
        "every_n",
        "batch_idx",
        "epoch",
        "batch",
        "parameters",
    )

    def __init__(self, module, trainer, key: str, value, train: bool, keep_parameters: bool = False) -> None:
        self.module, self.trainer, self.key, self.value, self.train = module, trainer, key, value, train
        self.batch_idx = trainer.train_batch_idx if train else trainer.val_batch_idx
        self.epoch = trainer.epoch
        self.batch = getattr(trainer, "_d2lx_batch", None)
        if train:
            self.x = trainer.train_batch_idx / trainer.num_train_batches
            self.every_n = int(trainer.num_train_batches / module.plot_train_per_epoch)
        else:
            self.x = trainer.epoch + 1
            self.every_n = int(trainer.num_val_batches / module.plot_valid_per_epoch)
        # read late, the first batch's diagnosis needs the parameters as they were before its update
        self.parameters = trainer._parameter_snapshot() if keep_parameters and train and self.batch_idx == 0 else None

    def draw(self) -> None:
        """Read the value, stop training if it is not finite, else put it on the module's board."""
        y = _as_float(self.value)
        trainer, module = self.trainer, self.module
        if not math.isfinite(y) and getattr(trainer, "stop_on_nan", True):
            where = (
                f"{'training' if self.train else 'validation'} {self.key} became {y} at epoch {self.epoch + 1}"
                f"/{trainer.max_epochs}, {'train' if self.train else 'val'} batch {self.batch_idx}"
            )
            cause = _divergence_cause(self)  # only now: the normal path pays nothing
            if cause is not None:
                raise TrainingDivergedError(
                    f"{where}: {cause}. Pass Trainer(stop_on_nan=False) to keep training anyway."
                )
            raise TrainingDivergedError(
                f"{where}, learning rate {getattr(module, 'lr', 'unknown')}. Lower the learning rate, or pass "
                "Trainer(stop_on_nan=False) to keep training anyway."
            )
        board = module.board
        board.xlabel = "epoch"
        board.draw(self.x, y, ("train_" if self.train else "val_") + self.key, every_n=self.every_n)


class ModuleBase:
    """What every backend's ``Module`` shares: the book's constructor, ``plot`` and the board it draws on,
    and the d2l 1.0 methods that read the same on every framework.

    PyTorch, MXNet and TensorFlow list it first among their ``Module``'s bases, so that these methods
    come before the framework base class's placeholders of the same name (``nn.Module.forward`` and
    ``gluon.Block.forward`` only raise; Keras models have a deprecated ``loss`` of their own).
    """

    plot_train_per_epoch: int = 2
    plot_valid_per_epoch: int = 1

    def __init__(self, plot_train_per_epoch: int = 2, plot_valid_per_epoch: int = 1):
        super().__init__()  # the framework base class (nn.Module, gluon.Block, keras.Model)
        self.save_hyperparameters()

    @property
    def board(self) -> ProgressBoard:
        """The ``ProgressBoard`` this model plots on, made at first use (no backend's ``__init__`` needs to)."""
        board = self.__dict__.get("_d2lx_board")
        if board is None:
            board = ProgressBoard()
            object.__setattr__(self, "_d2lx_board", board)  # past the frameworks' attribute tracking
        return board

    @board.setter
    def board(self, value: ProgressBoard) -> None:
        object.__setattr__(self, "_d2lx_board", value)

    def plot(self, key: str, value, train: bool) -> None:
        """Draw ``value`` (a scalar tensor or number) on the board as ``train_<key>`` or ``val_<key>``.

        A non-finite value stops training with a message naming the epoch,
        the batch and the learning rate, unless ``Trainer(stop_on_nan=False)``. Training on a GPU (or on
        MXNet), the value is read (and checked) a few calls later or at the epoch's end: see ``PlotPoint``.
        """
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            raise RuntimeError("Module.plot needs a trainer: call trainer.fit(model, data) first")
        late = getattr(trainer, "_d2lx_reads_late", False)
        point = PlotPoint(self, trainer, key, value, train, keep_parameters=late)
        if late:  # draw the oldest waiting point once more than the trainer's depth wait (or at the epoch's end)
            pending = trainer._d2lx_pending_points
            pending.append(point)
            if len(pending) <= trainer._late_reads_depth(point):
                return
            point = pending.popleft()
        point.draw()

    # d2l 1.0's methods that read the same on every framework whose models are called as ``model(X)``.
    def loss(self, y_hat, y):
        raise NotImplementedError(f"{type(self).__name__} must define loss(self, y_hat, y)")

    def forward(self, X):
        if not hasattr(self, "net"):
            raise NotImplementedError(f"{type(self).__name__} must define forward(self, X) or set self.net")
        checks.first_example_shape(self, X.shape)
        try:
            return self.net(X)
        except Exception as error:  # a network whose layers took their sizes from another shape
            checks.same_example_shape(self, X.shape, error)
            raise

    def training_step(self, batch):
        """The loss on ``batch`` (inputs..., labels), plotted as ``train_loss``; the trainer differentiates it."""
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", l, train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", l, train=False)

    def configure_optimizers(self):
        raise NotImplementedError(f"{type(self).__name__} must define configure_optimizers(self)")


class RemembersInputFeatures:
    """For the concise models, whose layers take their input size from the first batch: ``forward``
    checks each batch against that size (``checks.same_features``) before ``self.net(X)``, so a batch
    of the wrong width gets an error that names the model and both sizes, not a framework's."""

    def forward(self, X):
        checks.same_features(self, X.shape)
        return self.net(X)


class ClassifierBase:
    """Mixed in before a backend's ``Module``: validation also plots ``accuracy`` (which the backend defines)."""

    _d2lx_class_labels = True  # the trainer checks that labels are class indices

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        self.plot("loss", self.loss(Y_hat, batch[-1]), train=False)
        self.plot("acc", self.accuracy(Y_hat, batch[-1]), train=False)
