"""Book aliases that just call the tensor's own method, for frameworks with numpy-style tensors.

``d2l.reduce_sum(x)`` is ``x.sum()`` on PyTorch, MXNet's ``np`` and JAX alike, so
these aliases are written once here; a backend's ``ops.py`` re-exports the
ones that mean the same on its tensors and defines the rest itself.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable


def _method_alias(alias: str, method: str) -> Callable:
    def call(x, *args, **kwargs):
        return getattr(x, method)(*args, **kwargs)

    call.__name__ = call.__qualname__ = alias
    call.__doc__ = f"``d2l.{alias}(x, ...)`` is ``x.{method}(...)``."
    return call


def _target_shape(args: tuple, kwargs: dict) -> tuple | None:
    """The shape a ``reshape`` call asks for, when it is plain non-negative ints (no ``-1``), else None."""
    shape = kwargs.get("shape", kwargs.get("newshape", args[0] if len(args) == 1 else args))
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        return None
    ok = all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0 for d in shape)
    return tuple(int(d) for d in shape) if ok else None


def reshape_error(x, args: tuple, kwargs: dict) -> ValueError | None:
    """The clear error for a reshape whose shape holds a different number of values than ``x``, else None.

    The usual cause in a book cell is a slice that asked for more examples than a batch held
    (``X[:18]`` of a batch of 16, e.g. under ``D2LX_MAX_BATCH_SIZE=16``): the slice takes what there is
    and the reshape then fails inside the framework, so the message says so.
    """
    shape = _target_shape(args, kwargs)
    try:
        have = tuple(int(d) for d in x.shape)
    except (AttributeError, TypeError):
        return None
    if shape is None or math.prod(shape) == math.prod(have):
        return None
    message = (
        f"reshape: x of shape {have} holds {math.prod(have)} values, which cannot take the shape {shape} "
        f"({math.prod(shape)} values); a slice such as X[:n] holds fewer than n rows when the batch is smaller"
    )
    from d2lx.datamodule import max_batch_size_hint  # not at import: the aliases need none of the data code

    return ValueError(message + max_batch_size_hint())


def checked_reshape(reshape: Callable) -> Callable:
    """``d2l.reshape`` as ``reshape(x, shape)``, whose failure for a wrong number of values is one clear
    sentence (``reshape_error``) instead of the framework's traceback; otherwise the framework's call."""

    @functools.wraps(reshape)
    def call(x, *args, **kwargs):
        try:
            return reshape(x, *args, **kwargs)
        except Exception:
            error = reshape_error(x, args, kwargs)
            if error is None:
                raise
        raise error

    call.__name__ = call.__qualname__ = "reshape"
    return call


reshape = checked_reshape(_method_alias("reshape", "reshape"))
reduce_sum = _method_alias("reduce_sum", "sum")
reduce_mean = _method_alias("reduce_mean", "mean")
argmax = _method_alias("argmax", "argmax")
swapaxes = _method_alias("swapaxes", "swapaxes")
repeat = _method_alias("repeat", "repeat")
astype = _method_alias("astype", "astype")  # numpy-style; PyTorch's is ``x.type(...)``


def size(x):
    """The number of elements of ``x``."""
    return x.size if isinstance(x.size, int) else x.numel()


def transpose(x):
    """``x.T``: the book's transpose of a matrix."""
    return x.T
