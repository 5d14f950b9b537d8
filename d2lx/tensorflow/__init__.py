"""``from d2lx import tensorflow as d2l``: the book's TensorFlow library in one flat namespace.

TensorFlow is imported with its start-up INFO lines filtered out (see
``d2lx.tensorflow._logs``; set ``TF_CPP_MIN_LOG_LEVEL`` yourself to see them).
"""

from d2lx._require import require
from d2lx.tensorflow._logs import import_quietly

import_quietly(lambda: require("tensorflow", "tensorflow"))

import tensorflow as tf

from d2lx.tensorflow.distributed import join_launch as _join_launch

_join_launch()  # a launch of several workers (TF_CONFIG): before anything else runs TensorFlow ops
from d2lx import names as _names
from d2lx.compat import install as _install_compat
from d2lx.pandas_compat import when_pandas_is_imported as _use_object_strings_with_pandas
from d2lx.utils import register_seed_hook as _register_seed_hook

_names.export("tensorflow", globals())  # the book's names for this backend: see d2lx/names.py
_register_seed_hook(tf.keras.utils.set_random_seed)  # TensorFlow's generator and Keras's initializers
_use_object_strings_with_pandas()  # the book's pandas cells on pandas 3: see d2lx/pandas_compat.py
_install_compat("tensorflow")  # the book's calls that Keras 3 refuses: see d2lx/compat.py


def __getattr__(name):
    return _names.lazy_attribute(__name__, name)
