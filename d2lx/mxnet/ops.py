"""The book's backend-neutral tensor names (``d2l.reshape``, ``d2l.numpy``, ...) for MXNet.

The book writes ``d2l.reduce_sum(x)`` in text shared by all frameworks; on
MXNet each name is the matching function of its numpy interface (``mxnet.np``,
``mxnet.npx``) or an ndarray method, as in d2l 1.0.
"""

from __future__ import annotations

from mxnet import context, image, np, npx  # noqa: F401 (context, image: re-exported as d2l's MXNet library has them)
from mxnet.gluon import nn, rnn  # noqa: F401 (rnn: re-exported)
from mxnet.gluon.data.vision import transforms  # noqa: F401 (re-exported)

from d2lx.methods import argmax, astype, reduce_mean, reduce_sum, repeat, reshape, size, swapaxes, transpose  # noqa: F401 (re-exported)

ones, ones_like, zeros, zeros_like = np.ones, np.ones_like, np.zeros, np.zeros_like
tensor, arange, linspace, meshgrid, eye = np.array, np.arange, np.linspace, np.meshgrid, np.eye
sin, sinh, cos, cosh, tanh = np.sin, np.sinh, np.cos, np.cosh, np.tanh
exp, log, abs, sigmoid = np.exp, np.log, np.abs, npx.sigmoid
normal, rand, randn = np.random.normal, np.random.rand, np.random.randn
matmul, batch_matmul, concat, stack = np.dot, npx.batch_dot, np.concatenate, np.stack
expand_dims = np.expand_dims
int32, int64, float32 = np.int32, np.int64, np.float32
nn_Module = nn.Block  # d2l's alias for the base class of its models


def numpy(x, *args, **kwargs):
    """A numpy copy of ``x`` (waits for MXNet's asynchronous engine to compute it)."""
    return x.asnumpy(*args, **kwargs)


def to(x, *args, **kwargs):
    """``x`` on another context (``d2l.to(x, d2l.gpu())``)."""
    return x.as_in_ctx(*args, **kwargs)
