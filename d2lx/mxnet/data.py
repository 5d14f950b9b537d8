"""``DataModule`` and the datasets for MXNet: resident ``mxnet.np`` arrays, batched by index.

Fashion-MNIST comes from d2lx's own reader (``d2lx.data``), not from
``gluon.data.vision.FashionMNIST``, which downloads at run time. As in d2l's
MXNet code, images are NCHW float32 in [0, 1] and labels int32.
"""

from __future__ import annotations

import numpy
from mxnet import np

from d2lx.data.loader import ArrayDataset, ArrayLoader
from d2lx.datamodule import DataModuleBase, FashionMNISTBase, SyntheticRegressionDataBase, WeightDecayDataBase
from d2lx.kaggle_house import KaggleHouseBase


def _to_index(order: numpy.ndarray):
    return np.array(order, dtype=np.int64)


def _take_rows(array, index):
    return np.take(array, index.as_in_ctx(array.ctx), axis=0)  # much faster than array[index]


class DataModule(DataModuleBase):
    """The base of the datasets: ``train_dataloader()``, ``val_dataloader()``, ``get_tensorloader``."""

    def _from_numpy(self, array: numpy.ndarray):
        return np.array(array, dtype=array.dtype)

    def get_tensorloader(self, tensors, train: bool, indices=slice(0, None)):
        """Minibatches of ``batch_size`` rows of ``tensors[indices]``, shuffled when ``train``."""
        tensors = tuple(a[indices] for a in tensors)
        return ArrayLoader(tensors, self.batch_size, shuffle=train, to_index=_to_index, take=_take_rows)


class SyntheticRegressionData(SyntheticRegressionDataBase, DataModule):
    """``SyntheticRegressionData(w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32)``."""


class Data(WeightDecayDataBase, DataModule):
    """``Data(num_train, num_val, num_inputs, batch_size)``: the weight-decay section's regression set."""


class FashionMNIST(FashionMNISTBase, DataModule):
    """``FashionMNIST(batch_size=64, resize=(28, 28))``: images ``(N, 1, H, W)`` in [0, 1], int32 labels."""

    def _make_dataset(self, images: numpy.ndarray, labels: numpy.ndarray) -> ArrayDataset:
        # not gluon's ArrayDataset: it turns 1-D arrays (the labels) into numpy arrays
        return ArrayDataset(np.array(images[:, None]), np.array(labels, dtype=np.int32))

    def get_dataloader(self, train: bool):
        data = self.train if train else self.val
        return self.get_tensorloader(data.tensors, train)


class KaggleHouse(KaggleHouseBase, DataModule):
    """``KaggleHouse(batch_size, train=None, val=None)``: ``preprocess()``, then float32 ``(X, log price)`` batches."""
