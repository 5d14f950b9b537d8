"""``from d2lx import tensorflow as d2l``: the book's TensorFlow library in one flat namespace.

TensorFlow is imported with its start-up INFO lines filtered out (see
``d2lx.tensorflow._logs``; set ``TF_CPP_MIN_LOG_LEVEL`` yourself to see them).
"""

from d2lx._require import require
from d2lx.tensorflow._logs import import_quietly

import_quietly(lambda: require("tensorflow", "tensorflow"))

import tensorflow as tf

from d2lx import api as _api
from d2lx.api import *
from d2lx.pandas_compat import use_object_strings as _use_object_strings
from d2lx.tensorflow.data import Data, DataModule, FashionMNIST, KaggleHouse, SyntheticRegressionData
from d2lx.tensorflow.devices import cpu, gpu, num_gpus, try_all_gpus, try_gpu
from d2lx.tensorflow.functional import *
from d2lx.tensorflow.mlp import (
    MLP,
    DropoutMLP,
    DropoutMLPScratch,
    MLPScratch,
    WeightDecay,
    WeightDecayScratch,
    dropout_layer,
    l2_penalty,
    relu,
)
from d2lx.tensorflow.models import (
    LinearRegression,
    LinearRegressionScratch,
    SoftmaxRegression,
    SoftmaxRegressionScratch,
    cross_entropy,
    k_fold,
    softmax,
)
from d2lx.tensorflow.module import Classifier, Module
from d2lx.tensorflow.ops import *
from d2lx.tensorflow.optim import SGD
from d2lx.tensorflow.trainer import Trainer
from d2lx.utils import register_seed_hook as _register_seed_hook

# Seeds TensorFlow's generator (tf.random.normal) and Keras's (its layers' initializers).
_register_seed_hook(tf.keras.utils.set_random_seed)
_use_object_strings()  # the book's pandas cells on pandas 3: see d2lx/pandas_compat.py


def __getattr__(name):
    return _api.lazy_attribute(__name__, name)
