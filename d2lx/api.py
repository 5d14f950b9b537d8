"""The framework-free names every backend re-exports in its flat ``d2l`` namespace."""

from __future__ import annotations

import importlib

from d2lx.board import ProgressBoard
from d2lx.coverage import missing_name_error
from d2lx.data.fashion_mnist import DatasetNotFoundError
from d2lx.functional import Animator, accuracy, get_dataloader_workers, get_fashion_mnist_labels, linreg
from d2lx.hparams import HyperParameters, add_to_class
from d2lx.hub import DATA_HUB, DATA_URL, download, download_all, download_extract, extract
from d2lx.kaggle_house import k_fold_data
from d2lx.module import TrainingDivergedError
from d2lx.plotting import plot, set_axes, set_figsize, show_images, use_svg_display
from d2lx.utils import Accumulator, Timer, set_seed

__all__ = [
    "DATA_HUB",
    "DATA_URL",
    "Accumulator",
    "Animator",
    "DatasetNotFoundError",
    "HyperParameters",
    "ProgressBoard",
    "Timer",
    "TrainingDivergedError",
    "accuracy",
    "add_to_class",
    "download",
    "download_all",
    "download_extract",
    "extract",
    "get_dataloader_workers",
    "get_fashion_mnist_labels",
    "k_fold_data",
    "linreg",
    "plot",
    "set_axes",
    "set_figsize",
    "set_seed",
    "show_images",
    "use_svg_display",
]

# Heavy or optional modules the book reaches through ``d2l.<name>``; imported on first use.
_LAZY_MODULES = {"plt": "matplotlib.pyplot", "display": "IPython.display"}


def lazy_attribute(module_name: str, name: str):
    """Module-level ``__getattr__`` body for a backend: ``d2l.plt`` imports pyplot only when used;
    a name from a chapter d2lx does not cover yet gets an error that says so."""
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    raise missing_name_error(module_name, name)
