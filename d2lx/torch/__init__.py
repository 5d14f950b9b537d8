"""``from d2lx import torch as d2l``: the book's PyTorch library in one flat namespace."""

from d2lx._require import require

require("torch", "torch")

import torch
from torch import nn
from torch.nn import functional as F

from d2lx import api as _api
from d2lx.api import *
from d2lx.mlp import l2_penalty
from d2lx.pandas_compat import use_object_strings as _use_object_strings
from d2lx.torch.data import Data, DataModule, FashionMNIST, KaggleHouse, SyntheticRegressionData
from d2lx.torch.devices import cpu, gpu, num_gpus, try_all_gpus, try_gpu
from d2lx.torch.functional import *
from d2lx.torch.mlp import (
    MLP,
    DropoutMLP,
    DropoutMLPScratch,
    MLPScratch,
    WeightDecay,
    WeightDecayScratch,
    dropout_layer,
    relu,
)
from d2lx.torch.models import (
    LinearRegression,
    LinearRegressionScratch,
    SoftmaxRegression,
    SoftmaxRegressionScratch,
    cross_entropy,
    k_fold,
    softmax,
)
from d2lx.torch.module import Classifier, Module
from d2lx.torch.ops import *
from d2lx.torch.optim import SGD
from d2lx.torch.trainer import Trainer
from d2lx.utils import register_seed_hook as _register_seed_hook

_register_seed_hook(torch.manual_seed)
_use_object_strings()  # the book's pandas cells on pandas 3: see d2lx/pandas_compat.py


def __getattr__(name):
    return _api.lazy_attribute(__name__, name)
