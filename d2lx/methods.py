"""Book aliases that just call the tensor's own method, for frameworks with numpy-style tensors.

``d2l.reduce_sum(x)`` is ``x.sum()`` on PyTorch, MXNet's ``np`` and JAX alike, so
these aliases are written once here; a backend's ``ops.py`` re-exports the
ones that mean the same on its tensors and defines the rest itself.
"""

from __future__ import annotations

from collections.abc import Callable


def _method_alias(alias: str, method: str) -> Callable:
    def call(x, *args, **kwargs):
        return getattr(x, method)(*args, **kwargs)

    call.__name__ = call.__qualname__ = alias
    call.__doc__ = f"``d2l.{alias}(x, ...)`` is ``x.{method}(...)``."
    return call


reshape = _method_alias("reshape", "reshape")
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
