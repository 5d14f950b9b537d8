"""``DataModule`` and the datasets for TensorFlow: resident tensors, batched by index.

Fashion-MNIST comes from d2lx's own reader (``d2lx.data``), not from
``tf.keras.datasets``, which downloads at run time. As in d2l 1.0's TensorFlow
code, batches of images are NHWC float32 in [0, 1] with int32 labels, and ``data.train``
is the pair ``(images, labels)`` of the original uint8 images.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from d2lx.datamodule import DataModuleBase, FashionMNISTBase, SyntheticRegressionDataBase, WeightDecayDataBase
from d2lx.kaggle_house import KaggleHouseBase


class DataModule(DataModuleBase):
    """The base of the datasets: ``train_dataloader()``, ``val_dataloader()``, ``get_tensorloader`` (the core's)."""

    def _from_numpy(self, array: np.ndarray) -> tf.Tensor:
        return tf.constant(array)

    _to_index = staticmethod(tf.constant)
    _take = staticmethod(tf.gather)


class SyntheticRegressionData(SyntheticRegressionDataBase, DataModule):
    """``SyntheticRegressionData(w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32)``."""


class Data(WeightDecayDataBase, DataModule):
    """``Data(num_train, num_val, num_inputs, batch_size)``: the weight-decay section's regression set."""


class ImagesAndLabels(tuple):
    """``(images, labels)``, as d2l's TensorFlow ``FashionMNIST`` has it (``data.train[0]`` is the images);
    ``len()`` is the number of examples, as on the other backends."""

    def __len__(self) -> int:
        return int(self[0].shape[0])


class FashionMNIST(FashionMNISTBase, DataModule):
    """``FashionMNIST(batch_size=64, resize=(28, 28), *, root=None)``: batches of images
    ``(n, H, W, 1)`` in [0, 1], int32 labels; ``data.train`` is the pair ``(uint8 images (N, 28, 28),
    labels)``, as in d2l's TensorFlow code."""

    def _make_dataset(self, images: np.ndarray, labels: np.ndarray) -> ImagesAndLabels:
        return ImagesAndLabels((tf.constant(images), tf.constant(labels.astype(np.int32))))

    def _images(self, images: tf.Tensor) -> tf.Tensor:
        X = tf.cast(images, tf.float32) / 255
        if self._resize_matrices is not None:
            rows, cols = self._resize_matrices
            X = tf.einsum("hi,nij,wj->nhw", rows, X, cols)
        return X[..., None]


class KaggleHouse(KaggleHouseBase, DataModule):
    """``KaggleHouse(batch_size, train=None, val=None)``: ``preprocess()``, then float32 ``(X, log price)`` batches."""
