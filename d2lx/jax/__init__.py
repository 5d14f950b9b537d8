"""``from d2lx import jax as d2l``: the book's JAX library (Flax linen + Optax) in one flat namespace.

Needs no TensorFlow: Fashion-MNIST is read by the shared core and batched with JAX.
"""

from d2lx._require import require

require("jax", "jax")
require("flax.linen", "jax")
require("optax", "jax")

import jax
import optax
from flax import linen as nn
from jax import numpy as jnp

from d2lx import names as _names
from d2lx.jax.distributed import join_launch as _join_launch

_join_launch()  # a launch of several processes (torchrun's variables): before anything starts JAX's backend

from d2lx.compat import install as _install_compat
from d2lx.jax.ops import seed as _seed
from d2lx.pandas_compat import when_pandas_is_imported as _use_object_strings_with_pandas
from d2lx.utils import register_seed_hook as _register_seed_hook

_names.export("jax", globals())  # the book's names for this backend: see d2lx/names.py
_register_seed_hook(_seed)
_use_object_strings_with_pandas()  # the book's pandas cells on pandas 3: see d2lx/pandas_compat.py
_install_compat("jax")  # the book's calls that today's JAX/Flax/Optax refuse: see d2lx/compat.py


def __getattr__(name):
    return _names.lazy_attribute(__name__, name)
