"""``from d2lx import mxnet as d2l``: the book's MXNet library in one flat namespace.

MXNet 1.9.1, the last release, imports only with numpy < 1.24 (it uses
``np.bool``, which numpy 1.24 removed), and numpy < 1.24 exists only up to
Python 3.11. The environment is checked before MXNet is imported, so a wrong
one gets a single ImportError that says what works, not MXNet's traceback.
As in d2l, importing this module switches MXNet to its numpy interface
(``npx.set_np()``), which the book's MXNet cells assume.
"""

import re as _re
import sys as _sys
import warnings as _warnings

import numpy as _numpy

from d2lx._require import require

_WORKS_WITH = (
    "MXNet 1.9.1 (its last release) works on Python <= 3.11 with numpy < 1.24: "
    "in a Python 3.11 virtual environment run pip install 'd2lx[mxnet]', which installs both"
)


def _numpy_too_new(version: str) -> bool:
    match = _re.match(r"(\d+)\.(\d+)", version)
    return match is not None and (int(match[1]), int(match[2])) >= (1, 24)


def _import_mxnet():
    python = ".".join(map(str, _sys.version_info[:3]))
    if _numpy_too_new(_numpy.__version__):
        raise ImportError(
            f"d2lx.mxnet cannot run here: this environment has numpy {_numpy.__version__} on Python {python}, "
            f"and MXNet fails to import with numpy >= 1.24 (it uses np.bool, which numpy 1.24 removed). "
            f"{_WORKS_WITH}."
        )
    with _warnings.catch_warnings():
        # MXNet 1.9.1 references numpy functions removed by NEP 32 and distutils'
        # LooseVersion at import time; the warnings are MXNet's, not the learner's.
        _warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return require("mxnet", "mxnet")
        except (AttributeError, OSError) as err:  # a numpy it cannot use, a missing shared library
            raise ImportError(
                f"d2lx.mxnet could not import MXNet ({type(err).__name__}: {err}) on Python {python} "
                f"with numpy {_numpy.__version__}. {_WORKS_WITH}."
            ) from err


mxnet = _import_mxnet()

from mxnet import autograd, gluon, init, np, npx
from mxnet.gluon import nn

npx.set_np()

from d2lx import names as _names
from d2lx.compat import install as _install_compat
from d2lx.pandas_compat import when_pandas_is_imported as _use_object_strings_with_pandas
from d2lx.utils import register_seed_hook as _register_seed_hook


def _seed_mxnet(seed: int) -> None:
    mxnet.random.seed(seed % 2**31)  # MXNet takes a C int


_names.export("mxnet", globals())  # the book's names for this backend: see d2lx/names.py
_register_seed_hook(_seed_mxnet)
_use_object_strings_with_pandas()  # the book's pandas cells on pandas 3: see d2lx/pandas_compat.py
_install_compat("mxnet")  # none for MXNet today: see d2lx/compat.py


def __getattr__(name):
    return _names.lazy_attribute(__name__, name)
