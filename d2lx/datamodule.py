"""The backend-free halves of ``DataModule`` and the two datasets of chapters 3 and 4.

A backend's ``DataModule`` adds how numpy arrays become its tensors (``_from_numpy``) and, where
its tensors need it, how an index is made and rows are gathered (``_to_index``, ``_take``); its
``FashionMNIST`` adds how the images are held (``_make_dataset``). Everything else (argument
checks, the loaders, drawing the synthetic data, finding Fashion-MNIST, text labels, pictures) is
written here once. The hooks are listed in ``d2lx/contract.py``.
"""

from __future__ import annotations

import os

import numpy as np

from d2lx import checks, contract
from d2lx.checks import CheckedHyperParameters
from d2lx.data.fashion_mnist import fashion_mnist_arrays, resize_matrix, text_labels
from d2lx.data.loader import ArrayLoader
from d2lx.data.synthetic import synthetic_regression
from d2lx.hparams import HyperParameters
from d2lx.hub import default_data_dir
from d2lx.plotting import show_images, to_numpy

MAX_BATCH_SIZE_ENV = "D2LX_MAX_BATCH_SIZE"
FLOAT32_IMAGES_ENV = "D2LX_FLOAT32_IMAGES_MIB"
FLOAT32_IMAGES_MIB = 512.0  # the default budget: Fashion-MNIST's 70,000 images at 28x28 take 209 MiB as float32


def served_batch_size(batch_size: int) -> int:
    """``batch_size``, or less where ``D2LX_MAX_BATCH_SIZE`` caps every loader of the process.

    A smoke-run budget beside ``D2LX_FAST_DEV_RUN``: chapter 8's cells ask for batches of 128 images
    at 224x224, seconds of work each on a CPU, and CI runs those notebooks to see every cell work, not to
    train (``notebooks/run.py`` sets 16 for them). The data module keeps the ``batch_size`` the cell gave.
    """
    cap = _environment_number(MAX_BATCH_SIZE_ENV, int, lambda cap: cap >= 1, "an int >= 1 (examples per batch)")
    return batch_size if cap is None else min(batch_size, cap)


def _environment_number(name: str, parse, accepts, expected: str):
    """The number the environment variable ``name`` holds, read by ``parse`` (``int``, ``float``); None where it
    is unset or blank. A ``ValueError`` names the variable, what it must be (``expected``) and what it holds
    where ``parse`` fails or ``accepts(number)`` is false."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        number = parse(text)
    except ValueError:
        number = None
    if number is None or not accepts(number):
        raise ValueError(f"{name} must be {expected}, got {text!r}")
    return number


def max_batch_size_hint() -> str:
    """Why a batch may hold fewer examples than a cell asked for, where ``D2LX_MAX_BATCH_SIZE`` is set
    (a clause for an error message), else ``""``."""
    cap = os.environ.get(MAX_BATCH_SIZE_ENV, "").strip()
    return f" ({MAX_BATCH_SIZE_ENV}={cap} caps every d2lx loader's batches at {cap} examples)" if cap else ""


def float32_images_budget_mib() -> float:
    """The most memory, in MiB, that Fashion-MNIST's images may take when a backend holds them scaled to
    float32 once (``FashionMNISTBase._scales_once``): ``$D2LX_FLOAT32_IMAGES_MIB``, else 512. ``0`` keeps
    them uint8, scaled per batch, at every size.

    Read at each ``FashionMNIST(...)``, so a cell may change it between two data modules.
    """
    expected = (
        "a number of MiB >= 0 (the most memory Fashion-MNIST's images may take held as float32; 0: keep them "
        "uint8, scaled per batch)"
    )
    budget = _environment_number(FLOAT32_IMAGES_ENV, float, lambda mib: 0 <= mib < float("inf"), expected)  # no nan
    return FLOAT32_IMAGES_MIB if budget is None else budget


def float32_images_mib(count: int, size: tuple[int, int]) -> float:
    """MiB of ``count`` single-channel float32 images of ``size`` (height, width)."""
    return count * size[0] * size[1] * 4 / 2**20


class DataModuleBase(CheckedHyperParameters, HyperParameters):
    """Data for a ``Trainer``: ``train_dataloader()`` and ``val_dataloader()``.

    ``save_hyperparameters()`` checks the arguments the book names (``batch_size``, ``num_train``,
    ``resize``, ...) by the rules of ``d2lx.checks``, also in a learner's own subclass.

    ``root`` is the data folder, as in the book: not given, ``$D2LX_DATA_DIR`` if set, else the book's
    ``../data`` (``d2lx.hub.default_data_dir``), so a book cell that passes ``root=self.root`` to
    torchvision gets a path. (d2lx's ``FashionMNIST`` keeps its own ``root=None``: its default search, see
    ``d2lx.data.fashion_mnist``.) ``num_workers`` is kept for the book's signature: d2lx's loaders batch
    tensors already in memory.
    """

    def __init__(self, root: str | None = None, num_workers: int = 4):
        self.save_hyperparameters()
        if root is None:
            self.root = default_data_dir()  # read now, so D2LX_DATA_DIR set after the import counts

    def get_dataloader(self, train: bool):
        raise NotImplementedError(f"{type(self).__name__} must define get_dataloader(self, train)")

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)

    def get_tensorloader(self, tensors, train: bool, indices=slice(0, None)) -> ArrayLoader:
        """Minibatches of ``batch_size`` rows of ``tensors[indices]``, shuffled when ``train``."""
        tensors = tuple(a[indices] for a in tensors)
        return ArrayLoader(tensors, served_batch_size(self.batch_size), shuffle=train, to_index=self._to_index,
                           take=self._take)  # fmt: skip

    # --- backend hooks (see d2lx/contract.py) ------------------------------------------------
    # The integer type of token indices and lengths (chapters 9-10): the framework's usual one.
    _index_dtype: type = np.int64

    def _from_numpy(self, array: np.ndarray):
        """``array`` as a tensor of the backend's framework."""
        raise contract.not_implemented(self, "_from_numpy")

    @staticmethod
    def _to_index(order: np.ndarray):
        """A shuffled numpy index as the framework wants it for ``_take``; numpy's own by default."""
        return order

    @staticmethod
    def _take(array, index):
        """The rows ``index`` of ``array``; plain indexing by default."""
        return array[index]


class SyntheticRegressionDataBase(DataModuleBase):
    """``y = Xw + b + noise`` with ``X ~ N(0, 1)``: ``num_train`` rows to train on, ``num_val`` to validate."""

    def __init__(self, w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32):
        super().__init__()
        self.save_hyperparameters()
        X, y = synthetic_regression(w, b, noise, num_train + num_val)
        self.X, self.y = self._from_numpy(X), self._from_numpy(y)

    def get_dataloader(self, train: bool):
        rows = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader((self.X, self.y), train, rows)


class WeightDecayDataBase(SyntheticRegressionDataBase):
    """The book's ``Data`` of section 3.7 (weight decay): few examples, many inputs, easy to overfit.

    ``y = 0.05 + sum(0.01 * x_i) + noise`` with ``X ~ N(0, 1)`` of ``num_inputs`` columns and noise
    ``N(0, 0.01)``; drawn, like ``SyntheticRegressionData``, from d2lx's seeded generator, so a
    seeded run has the same rows on every backend.
    """

    def __init__(self, num_train: int, num_val: int, num_inputs: int, batch_size: int):
        checks.positive_int("num_inputs", num_inputs)
        w = np.full(num_inputs, 0.01, dtype=np.float32)
        super().__init__(w, 0.05, noise=0.01, num_train=num_train, num_val=num_val, batch_size=batch_size)
        self.save_hyperparameters()


class ImageDataset:
    """Resident images and their labels: ``len`` is the number of examples, ``dataset[i]`` one example as
    the loaders give it (float32, resized, with the channel axis), ``tensors`` the pair. ``to_float`` turns
    uint8 images into that; None where the images are held so already (``FashionMNISTBase.float32_images``)."""

    def __init__(self, images, labels, to_float=None):
        self.tensors = (images, labels)
        self._to_float = to_float

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def __getitem__(self, index: int):
        images, labels = self.tensors
        if self._to_float is None:
            return images[index], labels[index]
        return self._to_float(images[index : index + 1])[0], labels[index]


class FashionMNISTBase(DataModuleBase):
    """The real Fashion-MNIST (60000 training and 10000 validation images), resized per batch if asked.

    The images stay resident as the original uint8 ``(N, 28, 28)`` (55 MiB for both sets); each
    batch is scaled to [0, 1] and bilinearly resized as it is drawn, by two small matrix products
    in the framework (``_images``), on the device the tensors live on. So ``resize=(224, 224)``
    costs no more memory than 28x28, and a batch equals the once-resized images to float32
    rounding. ``data.train`` and ``data.val`` hold the images (uint8, or float32 where
    ``float32_images``) and the labels.

    A backend whose per-batch conversion costs a step's worth of time (MXNet's CPU kernels:
    ``_scales_once``) holds the images scaled (and resized), as float32 with the channel axis, once,
    where both sets then take at most ``float32_images_budget_mib()`` (512 MiB unless
    ``$D2LX_FLOAT32_IMAGES_MIB`` says otherwise): at 28x28 they take 209 MiB; at chapter 8's 96x96 and
    224x224 (2.4 and 13 GiB) they stay uint8. ``float32_images`` says which form this data module holds;
    the batches are the same either way.

    ``root`` (a keyword d2lx adds; the book's ``DataModule`` has it) is an existing folder looked in
    first, as ``$D2LX_DATA_DIR`` is when it is not given: see ``d2lx.data.fashion_mnist``.
    """

    def __init__(self, batch_size: int = 64, resize: tuple[int, int] = (28, 28), *, root: str | None = None):
        super().__init__(root=root)
        self.save_hyperparameters()
        self.resize = tuple(resize)
        train_X, train_y, val_X, val_y = fashion_mnist_arrays(self.root)
        self._label_range = (int(min(train_y.min(), val_y.min())), int(max(train_y.max(), val_y.max())))
        height, width = train_X.shape[1:]
        self._resize_matrices = None
        if self.resize != (height, width):
            rows, cols = resize_matrix(height, self.resize[0]), resize_matrix(width, self.resize[1])
            self._resize_matrices = (self._from_numpy(rows), self._from_numpy(cols))
        budget = float32_images_budget_mib()  # read (and checked) on every backend
        self.float32_images = self._scales_once and float32_images_mib(len(train_X) + len(val_X), self.resize) <= budget
        self.train = self._make_dataset(train_X, train_y)
        self.val = self._make_dataset(val_X, val_y)

    def get_dataloader(self, train: bool):
        data = self.train if train else self.val
        tensors = getattr(data, "tensors", data)
        return ArrayLoader(
            tensors,
            served_batch_size(self.batch_size),
            shuffle=train,
            to_index=self._to_index,
            take=self._take,
            transform=None if self.float32_images else self._batch,
        )

    def _known_label_range(self) -> tuple[int, int] | None:
        """``(lowest, highest)`` label, read once when the data was built, while the loaders are d2lx's own
        (then the trainer checks them once instead of per batch); None otherwise."""
        cls = type(self)
        own = (
            cls.get_dataloader is FashionMNISTBase.get_dataloader
            and cls.train_dataloader is DataModuleBase.train_dataloader
            and cls.val_dataloader is DataModuleBase.val_dataloader
        )
        return getattr(self, "_label_range", None) if own else None

    def _batch(self, batch: tuple) -> tuple:
        images, labels = batch
        return self._images(images), labels

    # True where the backend holds the images as float32 once when they fit the budget (see the class docstring)
    _scales_once: bool = False

    def _make_dataset(self, images: np.ndarray, labels: np.ndarray):
        """The backend's dataset of uint8 ``images`` (N, H, W) and ``labels``, held scaled as float32 where
        ``self.float32_images`` (a hook: see d2lx/contract.py)."""
        raise contract.not_implemented(self, "_make_dataset")

    def _images(self, images):
        """A batch of uint8 images ``(n, H, W)`` as float32 in [0, 1] of size ``resize``, with the
        backend's channel axis: ``R_h @ X @ R_w.T`` with ``self._resize_matrices`` when they are set
        (a hook: see d2lx/contract.py)."""
        raise contract.not_implemented(self, "_images")

    def text_labels(self, indices) -> list[str]:
        """The class names of numeric labels."""
        return text_labels(indices)

    def visualize(self, batch, nrows: int = 1, ncols: int = 8, labels=()):
        """Show the first ``nrows * ncols`` images of ``batch`` with their class names."""
        X, y = batch
        if not labels:
            labels = self.text_labels(y)
        images = to_numpy(X)
        images = images.reshape(images.shape[0], *self.resize)  # drops the channel axis, wherever it is
        return show_images(images, nrows, ncols, titles=labels)


def on_data_module(core: type, DataModule: type, module: str) -> type:
    """A backend's data set: the attributes of ``core`` (a ``DataModuleBase`` subclass of the core) on a class
    named as the book names it (``core``'s name less ``Base``) whose only base is the backend's ``DataModule``.

    So its method resolution order is the book's, ``TimeMachine -> DataModule``: a book cell that redefines
    ``__init__`` and calls ``super(d2l.TimeMachine, self).__init__()`` reaches ``DataModule.__init__``. The
    methods of ``core`` must call their base by name (``DataModuleBase.__init__(self)``), not ``super()``.
    """
    name = core.__name__.removesuffix("Base")
    body = {key: value for key, value in vars(core).items() if key not in ("__dict__", "__weakref__")}
    body.update(__module__=module, __qualname__=name)
    return type(name, (DataModule,), body)
