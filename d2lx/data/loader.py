"""Minibatches from arrays that already sit in memory (or on the device).

The book's torch loaders go through ``DataLoader`` and a Python call per
example; for data that fits in memory it is much faster to shuffle an index
once per epoch and slice whole batches. Backends pass how to turn a numpy
index into their own (``to_index``) and how to gather rows (``take``); ``transform``
turns each gathered batch into what the model gets (Fashion-MNIST: uint8 to float, resized).

Eagerly, that is one framework call per array gathered and per step of the transform. A backend
whose calls each cost a dispatch (TensorFlow's eager ops) may also pass ``compile_fetch``: it
compiles "rows -> transformed batch" once per loader, so that each batch is one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from d2lx import checks
from d2lx.utils import numpy_rng


def _default_take(array, index):
    return array[index]


class ArrayLoader:
    """Iterate over ``arrays`` in minibatches of ``batch_size`` rows, shuffled if ``shuffle``.

    ``len(loader)`` is the number of batches; the last one may be short.

    ``compile_fetch(fetch, arrays)``, when given (or, when not, ``take.compile_fetch``: a backend's
    ``take`` hook brings it along), returns a compiled version of ``fetch(rows)``, the transformed batch
    of the rows ``rows`` of ``arrays`` (a numpy int64 vector; the compiled function converts it itself,
    ``to_index`` is not used), or None where it would not help (``arrays`` are not the framework's
    resident tensors). Each batch is then one call of it, on the rows the eager path draws (the same
    seeded permutation; in order without ``shuffle``), so the batches are the same, in the same order.
    Where the compiled function fails (a transform the framework cannot trace), the loader gathers
    eagerly from then on.
    """

    def __init__(
        self,
        arrays: Sequence[Any],
        batch_size: int,
        shuffle: bool = False,
        *,
        to_index: Callable[[np.ndarray], Any] = lambda index: index,
        take: Callable[[Any, Any], Any] = _default_take,
        transform: Callable[[tuple], tuple] | None = None,
        compile_fetch: Callable[[Callable, tuple], Callable | None] | None = None,
    ):
        self.arrays = tuple(arrays)
        self.batch_size = checks.positive_int("batch_size", batch_size)
        lengths = {int(a.shape[0]) for a in self.arrays}
        if len(lengths) != 1:
            raise ValueError(f"arrays must have the same number of rows, got {sorted(lengths)}")
        (self.num_examples,) = lengths
        self.shuffle = bool(shuffle)
        self._to_index = to_index
        self._take = take
        self._transform = transform
        self._compile_fetch = compile_fetch if compile_fetch is not None else getattr(take, "compile_fetch", None)
        self._compiled_fetch = None  # made at the first batch; False where there is none, or it failed

    def __len__(self) -> int:
        return math.ceil(self.num_examples / self.batch_size)

    def __iter__(self):
        if self._compiled() is not None:
            yield from self._fetched_batches()
            return
        for batch in self._batches():
            yield batch if self._transform is None else self._transform(batch)

    def _batches(self):
        n, size = self.num_examples, self.batch_size
        if not self.shuffle:
            for start in range(0, n, size):
                yield tuple(a[start : start + size] for a in self.arrays)
            return
        order = self._to_index(numpy_rng().permutation(n))
        for start in range(0, n, size):
            index = order[start : start + size]
            yield tuple(self._take(a, index) for a in self.arrays)

    # --- one call per batch (``compile_fetch``) ---------------------------------------------
    def _rows(self):
        """Each batch's rows as a numpy int64 vector: in order, or shuffled by the permutation ``_batches``
        draws (d2lx's seeded generator, once per epoch, when its first batch is asked for)."""
        n, size = self.num_examples, self.batch_size
        order = numpy_rng().permutation(n) if self.shuffle else np.arange(n)
        order = order.astype(np.int64, copy=False)
        for start in range(0, n, size):
            yield order[start : start + size]

    def _fetch(self, index) -> tuple:
        """The batch of the rows ``index``, gathered from every array and transformed: what
        ``compile_fetch`` compiles (there ``index`` is the framework's own)."""
        batch = tuple(self._take(a, index) for a in self.arrays)
        return batch if self._transform is None else self._transform(batch)

    def _compiled(self) -> Callable | None:
        """The compiled fetch, made at the first batch; None where there is none, or it failed."""
        if self._compiled_fetch is None:
            compiled = None if self._compile_fetch is None else self._compile_fetch(self._fetch, self.arrays)
            self._compiled_fetch = False if compiled is None else compiled
        return None if self._compiled_fetch is False else self._compiled_fetch

    def _fetched_batches(self):
        for rows in self._rows():
            batch = self._fetch_compiled(rows)
            yield self._fetch(self._to_index(rows)) if batch is None else batch

    def _fetch_compiled(self, rows) -> tuple | None:
        """The batch of ``rows`` by the compiled fetch, or None once it failed (now or at an earlier batch)."""
        compiled = self._compiled()
        if compiled is None:
            return None
        try:
            return compiled(rows)
        except Exception:  # the framework cannot compile the transform (or the take): eagerly from now on
            self._compiled_fetch = False
            return None


class ArrayDataset:
    """Arrays with the same number of rows, seen as one dataset: ``len`` is the row count.

    For backends without a dataset type of their own (torch has ``TensorDataset``);
    ``dataset.tensors`` is the tuple of arrays and ``dataset[i]`` one example.
    """

    def __init__(self, *arrays: Any):
        lengths = {int(a.shape[0]) for a in arrays}
        if len(lengths) != 1:
            raise ValueError(f"arrays must have the same number of rows, got {sorted(lengths)}")
        self.tensors = tuple(arrays)

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.tensors)
