"""Minibatches from arrays that already sit in memory (or on the device).

The book's torch loaders go through ``DataLoader`` and a Python call per
example; for data that fits in memory it is much faster to shuffle an index
once per epoch and slice whole batches. Backends pass how to turn a numpy
index into their own (``to_index``) and how to gather rows (``take``); ``transform``
turns each gathered batch into what the model gets (Fashion-MNIST: uint8 to float, resized).
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

    def __len__(self) -> int:
        return math.ceil(self.num_examples / self.batch_size)

    def __iter__(self):
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
