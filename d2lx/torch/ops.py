"""The book's backend-neutral tensor names (``d2l.reshape``, ``d2l.numpy``, ...) for PyTorch.

The book writes ``d2l.reduce_sum(x)`` in text shared by all frameworks; on
PyTorch each name is the matching torch function or tensor method.
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (re-exported: d2l.np, as d2l's torch library has it)
import torch
from torch import nn
from torch.utils import data  # noqa: F401 (re-exported: d2l.data, as d2l's torch library has it, not d2lx.torch.data)

from d2lx.methods import argmax, reduce_mean, reduce_sum, repeat, reshape, swapaxes  # noqa: F401 (re-exported)

ones, ones_like, zeros, zeros_like = torch.ones, torch.ones_like, torch.zeros, torch.zeros_like
tensor, arange, linspace, eye = torch.tensor, torch.arange, torch.linspace, torch.eye
sin, sinh, cos, cosh, tanh = torch.sin, torch.sinh, torch.cos, torch.cosh, torch.tanh
exp, log, abs, sigmoid = torch.exp, torch.log, torch.abs, torch.sigmoid
normal, rand, randn = torch.normal, torch.rand, torch.randn
matmul, batch_matmul, concat, stack = torch.matmul, torch.bmm, torch.cat, torch.stack
int32, int64, float32 = torch.int32, torch.int64, torch.float32
nn_Module = nn.Module  # d2l's alias for the base class of its models


def meshgrid(*tensors, indexing: str = "ij"):
    """``torch.meshgrid`` with its default said aloud: without ``indexing`` PyTorch warns that a later
    release will require it, and the book's saddle-point cell (12.1) leaves it out. "ij" is the grid that
    such a call has always given on PyTorch (NumPy and the other frameworks default to "xy")."""
    return torch.meshgrid(*tensors, indexing=indexing)


def numpy(x, *args, **kwargs):
    """A numpy copy of ``x``, detached from the graph and moved to the CPU."""
    return x.detach().cpu().numpy(*args, **kwargs)


def size(x, *args, **kwargs):
    return x.numel(*args, **kwargs)


def to(x, *args, **kwargs):
    return x.to(*args, **kwargs)


def astype(x, *args, **kwargs):
    return x.type(*args, **kwargs)


def transpose(x, *args, **kwargs):
    return x.t(*args, **kwargs)


def expand_dims(x, *args, **kwargs):
    return x.unsqueeze(*args, **kwargs)
