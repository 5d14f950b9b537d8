"""The book's backend-neutral tensor names (``d2l.reshape``, ``d2l.numpy``, ...) for TensorFlow.

The book writes ``d2l.reduce_sum(x)`` in text shared by all frameworks; on
TensorFlow most names are TensorFlow's own functions, as in d2l 1.0.
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (re-exported: d2l.np, as d2l's TensorFlow library has it)
import tensorflow as tf

from d2lx.methods import checked_reshape

ones, ones_like, zeros, zeros_like = tf.ones, tf.ones_like, tf.zeros, tf.zeros_like
tensor, arange, linspace, meshgrid, eye = tf.constant, tf.range, tf.linspace, tf.meshgrid, tf.eye
sin, sinh, cos, cosh, tanh = tf.sin, tf.sinh, tf.cos, tf.cosh, tf.tanh
exp, log, abs, sigmoid = tf.exp, tf.math.log, tf.abs, tf.sigmoid
normal, rand = tf.random.normal, tf.random.uniform
matmul, batch_matmul, concat, stack = tf.matmul, tf.matmul, tf.concat, tf.stack
reduce_sum, reduce_mean, argmax = tf.reduce_sum, tf.reduce_mean, tf.argmax
reshape = checked_reshape(tf.reshape)  # a wrong number of values gets one clear sentence
astype, transpose, expand_dims, repeat = tf.cast, tf.transpose, tf.expand_dims, tf.repeat
int32, int64, float32 = tf.int32, tf.int64, tf.float32
nn_Module = tf.keras.Model  # d2l's alias for the base class of its models


def numpy(x, *args, **kwargs):
    """A numpy copy of ``x`` (a tensor or variable)."""
    return x.numpy(*args, **kwargs)


def size(x, *args, **kwargs):
    """The number of elements of ``x``, as a Python-usable number."""
    return tf.size(x, *args, **kwargs).numpy()


def to(x, device):
    """A copy of ``x`` on ``device`` (``d2l.gpu()``, ``d2l.cpu()`` or a name such as ``'/GPU:0'``)."""
    with tf.device(device) if isinstance(device, str) else device:
        return tf.identity(x)
