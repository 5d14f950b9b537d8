"""``DataModule`` and the datasets for JAX: arrays resident on the device, batched by index.

d2l 1.0's JAX code borrows TensorFlow's ``tf.data`` (and all of TensorFlow) to
read and batch Fashion-MNIST. Here the shared core reads the files with numpy;
the arrays are put on the device once and each minibatch is one compiled gather.
"""

from __future__ import annotations

import jax
import numpy as np
from jax import numpy as jnp

from d2lx import datamodule as core
from d2lx.kaggle_house import KaggleHouseBase
from d2lx.sequence_data import MTFraEngBase, TimeMachineBase


@jax.jit
def _take(array: jax.Array, index) -> jax.Array:
    """The rows ``index`` (a numpy or JAX int vector) of ``array``, gathered on its device."""
    return jnp.take(array, index, axis=0)


# uint8 -> float32 in [0, 1] by table: XLA divides by multiplying with a reciprocal, which is off by
# one unit in the last place for some values, while numpy's division (the other backends') is exact.
_UNIT = np.arange(256, dtype=np.float32) / np.float32(255)


@jax.jit
def _scale(images: jax.Array) -> jax.Array:
    return jnp.take(_UNIT, images.astype(jnp.int32))[..., None]


@jax.jit
def _scale_and_resize(images: jax.Array, rows: jax.Array, cols: jax.Array) -> jax.Array:
    X = jnp.take(_UNIT, images.astype(jnp.int32))
    # HIGHEST: full float32 products, also on GPUs whose default is TF32
    return jnp.einsum("hi,nij,wj->nhw", rows, X, cols, precision=jax.lax.Precision.HIGHEST)[..., None]


class DataModule(core.DataModuleBase):
    """The base of the datasets: ``train_dataloader()``, ``val_dataloader()``, ``get_tensorloader`` (the core's)."""

    def _from_numpy(self, array: np.ndarray) -> jax.Array:
        return jnp.asarray(array)

    _take = staticmethod(_take)
    _index_dtype = np.int32  # token indices and lengths: JAX's default integer type


class SyntheticRegressionData(core.SyntheticRegressionDataBase, DataModule):
    """``SyntheticRegressionData(w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32)``."""


class Data(core.WeightDecayDataBase, DataModule):
    """``Data(num_train, num_val, num_inputs, batch_size)``: the weight-decay section's regression set."""


class FashionMNIST(core.FashionMNISTBase, DataModule):
    """``FashionMNIST(batch_size=64, resize=(28, 28), *, root=None)``: batches of images
    ``(n, H, W, 1)`` in [0, 1], int32 labels.

    Channels come last, as ``flax.linen.Conv`` expects; labels are int32, JAX's default integer type.
    """

    def _make_dataset(self, images: np.ndarray, labels: np.ndarray) -> core.ImageDataset:
        return core.ImageDataset(jnp.asarray(images), jnp.asarray(labels.astype(np.int32)), self._images)

    def _images(self, images: jax.Array) -> jax.Array:
        if self._resize_matrices is None:
            return _scale(images)
        return _scale_and_resize(images, *self._resize_matrices)


class KaggleHouse(KaggleHouseBase, DataModule):
    """``KaggleHouse(batch_size, train=None, val=None)``: ``preprocess()``, then float32 ``(X, log price)`` batches."""


TimeMachine = core.on_data_module(TimeMachineBase, DataModule, __name__)
MTFraEng = core.on_data_module(MTFraEngBase, DataModule, __name__)
