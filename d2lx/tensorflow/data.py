"""``DataModule`` and the datasets for TensorFlow: resident tensors, batched by index.

Fashion-MNIST comes from d2lx's own reader (``d2lx.data``), not from
``tf.keras.datasets``, which downloads at run time. As in d2l 1.0's TensorFlow
code, images are NHWC float32 in [0, 1] and labels int32, and ``data.train``
is the pair ``(images, labels)``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from d2lx.data.loader import ArrayLoader
from d2lx.datamodule import DataModuleBase, FashionMNISTBase, SyntheticRegressionDataBase, WeightDecayDataBase
from d2lx.kaggle_house import KaggleHouseBase


class DataModule(DataModuleBase):
    """The base of the datasets: ``train_dataloader()``, ``val_dataloader()``, ``get_tensorloader``."""

    def _from_numpy(self, array: np.ndarray) -> tf.Tensor:
        return tf.constant(array)

    def get_tensorloader(self, tensors, train: bool, indices=slice(0, None)):
        """Minibatches of ``batch_size`` rows of ``tensors[indices]``, shuffled when ``train``."""
        tensors = tuple(a[indices] for a in tensors)
        return ArrayLoader(tensors, self.batch_size, shuffle=train, to_index=tf.constant, take=tf.gather)


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
    """``FashionMNIST(batch_size=64, resize=(28, 28))``: images ``(N, H, W, 1)`` in [0, 1], int32 labels."""

    def _make_dataset(self, images: np.ndarray, labels: np.ndarray) -> ImagesAndLabels:
        return ImagesAndLabels((tf.constant(images[..., None]), tf.constant(labels.astype(np.int32))))

    def get_dataloader(self, train: bool):
        return self.get_tensorloader(self.train if train else self.val, train)


class KaggleHouse(KaggleHouseBase, DataModule):
    """``KaggleHouse(batch_size, train=None, val=None)``: ``preprocess()``, then float32 ``(X, log price)`` batches."""
