"""``DataModule`` and the datasets for JAX: arrays resident on the device, batched by index.

d2l 1.0's JAX code borrows TensorFlow's ``tf.data`` (and all of TensorFlow) to
read and batch Fashion-MNIST. Here the shared core reads the files with numpy;
the arrays are put on the device once and each minibatch is one compiled gather.
"""

from __future__ import annotations

import jax
import numpy as np
from jax import numpy as jnp

from d2lx.data.loader import ArrayDataset, ArrayLoader
from d2lx.datamodule import DataModuleBase, FashionMNISTBase, SyntheticRegressionDataBase, WeightDecayDataBase
from d2lx.kaggle_house import KaggleHouseBase


@jax.jit
def _take(array: jax.Array, index) -> jax.Array:
    """The rows ``index`` (a numpy or JAX int vector) of ``array``, gathered on its device."""
    return jnp.take(array, index, axis=0)


class DataModule(DataModuleBase):
    """The base of the datasets: ``train_dataloader()``, ``val_dataloader()``, ``get_tensorloader``."""

    def _from_numpy(self, array: np.ndarray) -> jax.Array:
        return jnp.asarray(array)

    def get_tensorloader(self, tensors, train: bool, indices=slice(0, None)):
        """Minibatches of ``batch_size`` rows of ``tensors[indices]``, shuffled when ``train``."""
        tensors = tuple(a[indices] for a in tensors)
        return ArrayLoader(tensors, self.batch_size, shuffle=train, take=_take)


class SyntheticRegressionData(SyntheticRegressionDataBase, DataModule):
    """``SyntheticRegressionData(w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32)``."""


class Data(WeightDecayDataBase, DataModule):
    """``Data(num_train, num_val, num_inputs, batch_size)``: the weight-decay section's regression set."""


class FashionMNIST(FashionMNISTBase, DataModule):
    """``FashionMNIST(batch_size=64, resize=(28, 28))``: images ``(N, H, W, 1)`` in [0, 1], int32 labels.

    Channels come last, as ``flax.linen.Conv`` expects; labels are int32, JAX's default integer type.
    """

    def _make_dataset(self, images: np.ndarray, labels: np.ndarray) -> ArrayDataset:
        return ArrayDataset(jnp.asarray(images[..., None]), jnp.asarray(labels.astype(np.int32)))

    def get_dataloader(self, train: bool):
        data = self.train if train else self.val
        return self.get_tensorloader(data.tensors, train)


class KaggleHouse(KaggleHouseBase, DataModule):
    """``KaggleHouse(batch_size, train=None, val=None)``: ``preprocess()``, then float32 ``(X, log price)`` batches."""
