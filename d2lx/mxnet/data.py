"""``DataModule`` and the datasets for MXNet: resident ``mxnet.np`` arrays, batched by index.

Fashion-MNIST comes from d2lx's own reader (``d2lx.data``), not from
``gluon.data.vision.FashionMNIST``, which downloads at run time. As in d2l's
MXNet code, images are NCHW float32 in [0, 1] and labels int32. Below a memory
budget (``d2lx.datamodule.float32_images_budget_mib``: 28x28 fits, chapter 8's
sizes do not) they are held so, converted once; above it, as uint8 converted per batch.
"""

from __future__ import annotations

import numpy
from mxnet import np, npx

from d2lx import datamodule as core
from d2lx.kaggle_house import KaggleHouseBase
from d2lx.sequence_data import MTFraEngBase, TimeMachineBase


def _to_index(order: numpy.ndarray):
    return np.array(order, dtype=np.int64)


def _take_rows(array, index):
    return np.take(array, index.as_in_ctx(array.ctx), axis=0)  # much faster than array[index]


class DataModule(core.DataModuleBase):
    """The base of the datasets: ``train_dataloader()``, ``val_dataloader()``, ``get_tensorloader`` (the core's)."""

    def _from_numpy(self, array: numpy.ndarray):
        return np.array(array, dtype=array.dtype)

    _to_index = staticmethod(_to_index)
    _take = staticmethod(_take_rows)
    _index_dtype = numpy.int32  # token indices and lengths, as the labels


class SyntheticRegressionData(core.SyntheticRegressionDataBase, DataModule):
    """``SyntheticRegressionData(w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32)``."""


class Data(core.WeightDecayDataBase, DataModule):
    """``Data(num_train, num_val, num_inputs, batch_size)``: the weight-decay section's regression set."""


class FashionMNIST(core.FashionMNISTBase, DataModule):
    """``FashionMNIST(batch_size=64, resize=(28, 28), *, root=None)``: batches of images
    ``(n, 1, H, W)`` in [0, 1], int32 labels."""

    # Below the budget the images are held as float32 once: with each batch converted in MXNet's CPU kernels the
    # softmax epoch was 1.44x a hand-written loop's on one 2-core CPU and 2.43x on another (bench/RESULTS.md,
    # issue 34); now 1.03x on the first
    _scales_once = True

    def _make_dataset(self, images: numpy.ndarray, labels: numpy.ndarray) -> core.ImageDataset:
        # not gluon's ArrayDataset: it turns 1-D arrays (the labels) into numpy arrays
        labels = np.array(labels, dtype=np.int32)
        if self.float32_images:
            return core.ImageDataset(self._scaled_once(images), labels)
        return core.ImageDataset(np.array(images, dtype=np.uint8), labels, self._images)

    def _scaled_once(self, images: numpy.ndarray, chunk: int = 4096):
        """The uint8 ``images`` as the loaders give them (``_images``: the same operators, so the same
        bits), converted a chunk at a time into one float32 array: the set is never held twice."""
        n = images.shape[0]
        out = np.empty((n, 1, *self.resize), dtype=np.float32)
        for start in range(0, n, chunk):
            out[start : start + chunk] = self._images(np.array(images[start : start + chunk], dtype=np.uint8))
        return out

    def _images(self, images):
        n, height, width = images.shape
        # one fused operator: uint8 (n, H, W, 1) -> float32 (n, 1, H, W) / 255, bit for bit the same as
        # astype(float32) / 255 and about twice as fast as those two operators (issue 21)
        X = npx.image.to_tensor(images.reshape(n, height, width, 1))
        if self._resize_matrices is None:
            return X
        rows, cols = (m.as_in_ctx(X.ctx) for m in self._resize_matrices)
        # a 2-D product for the columns, then a batched one for the rows, written straight into the
        # (n, 1, H, W) result: MXNet's three-operand einsum has no BLAS path (minutes a pass at 224)
        X = np.dot(X.reshape(n * height, width), cols.T).reshape(n, 1, height, -1)
        return np.matmul(rows, X)


class KaggleHouse(KaggleHouseBase, DataModule):
    """``KaggleHouse(batch_size, train=None, val=None)``: ``preprocess()``, then float32 ``(X, log price)`` batches."""


TimeMachine = core.on_data_module(TimeMachineBase, DataModule, __name__)
MTFraEng = core.on_data_module(MTFraEngBase, DataModule, __name__)
