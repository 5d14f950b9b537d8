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

from d2lx import api as _api
from d2lx.api import *
from d2lx.jax.data import Data, DataModule, FashionMNIST, KaggleHouse, SyntheticRegressionData
from d2lx.jax.devices import cpu, gpu, num_gpus, try_all_gpus, try_gpu
from d2lx.jax.functional import *
from d2lx.jax.mlp import (
    MLP,
    DropoutMLP,
    DropoutMLPScratch,
    MLPScratch,
    WeightDecay,
    WeightDecayScratch,
    dropout_layer,
    relu,
)
from d2lx.jax.models import (
    LinearRegression,
    LinearRegressionScratch,
    SoftmaxRegression,
    SoftmaxRegressionScratch,
    cross_entropy,
    k_fold,
    softmax,
)
from d2lx.jax.module import Classifier, Module
from d2lx.jax.ops import *
from d2lx.jax.ops import seed as _seed
from d2lx.jax.optim import SGD
from d2lx.jax.trainer import Trainer
from d2lx.mlp import l2_penalty
from d2lx.pandas_compat import use_object_strings as _use_object_strings
from d2lx.utils import register_seed_hook as _register_seed_hook

_register_seed_hook(_seed)
_use_object_strings()  # the book's pandas cells on pandas 3: see d2lx/pandas_compat.py


def __getattr__(name):
    return _api.lazy_attribute(__name__, name)
