"""``from d2lx import torch as d2l``: the book's PyTorch library in one flat namespace."""

from d2lx._require import require

require("torch", "torch")

import torch
from torch import nn
from torch.nn import functional as F

from d2lx import names as _names
from d2lx.compat import install as _install_compat
from d2lx.pandas_compat import when_pandas_is_imported as _use_object_strings_with_pandas
from d2lx.utils import register_seed_hook as _register_seed_hook

_names.export("torch", globals())  # the book's names for this backend: see d2lx/names.py
_register_seed_hook(torch.manual_seed)
_use_object_strings_with_pandas()  # the book's pandas cells on pandas 3: see d2lx/pandas_compat.py
_install_compat("torch")  # none for PyTorch today: see d2lx/compat.py


def __getattr__(name):
    return _names.lazy_attribute(__name__, name)
