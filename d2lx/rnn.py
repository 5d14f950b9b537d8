"""Chapter 9's framework-free parts (1.0 edition): the book's two shape checks.

``check_len`` and ``check_shape`` read only ``len`` and ``.shape``, which every framework's tensors
have (a ``torch.Size``, a ``TensorShape`` and a tuple all compare as tuples once their sizes are ints),
so they are written once. They raise ``AssertionError`` as the book's ``assert`` does, but also under
``python -O``, which strips asserts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def check_len(a: Any, n: int) -> None:
    """Raise ``AssertionError`` unless ``len(a) == n`` (the book's shape check for lists)."""
    if len(a) != n:
        raise AssertionError(f"list's length {len(a)} != expected length {n}")


def check_shape(a: Any, shape: Iterable) -> None:
    """Raise ``AssertionError`` unless the tensor ``a`` has shape ``shape`` (any framework's tensor)."""
    have = tuple(None if d is None else int(d) for d in a.shape)
    want = tuple(shape)
    if have != want:
        raise AssertionError(f"tensor's shape {have} != expected shape {want}")
