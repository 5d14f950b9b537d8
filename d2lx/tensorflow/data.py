"""``DataModule`` and the datasets for TensorFlow: resident tensors, batched by index.

Fashion-MNIST comes from d2lx's own reader (``d2lx.data``), not from
``tf.keras.datasets``, which downloads at run time. As in d2l 1.0's TensorFlow
code, batches of images are NHWC float32 in [0, 1] with int32 labels, and ``data.train``
is the pair ``(images, labels)`` of the original uint8 images.

Each eager TensorFlow op costs a dispatch, so the loaders gather a batch from every array and
transform it (Fashion-MNIST's cast, scaling, resizing) in one ``tf.function`` call
(``ArrayLoader``'s ``compile_fetch``, which ``Gather`` supplies), traced once per loader.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from d2lx import datamodule as core
from d2lx.kaggle_house import KaggleHouseBase
from d2lx.sequence_data import MTFraEngBase, TimeMachineBase


class Gather:
    """``tf.gather(array, index)``: the loaders' ``take``, which also gives them ``compile_fetch``."""

    def __call__(self, array, index):
        return tf.gather(array, index)

    @staticmethod
    def compile_fetch(fetch, arrays):
        """``fetch(rows)`` (an ``ArrayLoader``'s gather and transform) as one ``tf.function`` of an int64
        vector of rows of any length: one trace serves the full batches and the short last one; without
        AutoGraph, which would take longer to convert the code than the trace takes (a gather and a
        transform have no loop or branch on a tensor). None unless ``arrays`` are tensors (the function
        would hold a copy of numpy arrays as graph constants)."""
        if not all(isinstance(a, (tf.Tensor, tf.Variable)) for a in arrays):
            return None
        signature = (tf.TensorSpec([None], tf.int64),)
        function = tf.function(fetch, input_signature=signature, autograph=False)
        function._omit_frequent_tracing_warning = True  # a loader per fit, each traced once: no false alarm
        return function


class DataModule(core.DataModuleBase):
    """The base of the datasets: ``train_dataloader()``, ``val_dataloader()``, ``get_tensorloader`` (the core's)."""

    def _from_numpy(self, array: np.ndarray) -> tf.Tensor:
        return tf.constant(array)

    _to_index = staticmethod(tf.constant)
    _take = Gather()
    _index_dtype = np.int32  # token indices and lengths: tf.constant's integer type, as in d2l's code


class SyntheticRegressionData(core.SyntheticRegressionDataBase, DataModule):
    """``SyntheticRegressionData(w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32)``."""


class Data(core.WeightDecayDataBase, DataModule):
    """``Data(num_train, num_val, num_inputs, batch_size)``: the weight-decay section's regression set."""


class ImagesAndLabels(tuple):
    """``(images, labels)``, as d2l's TensorFlow ``FashionMNIST`` has it (``data.train[0]`` is the images);
    ``len()`` is the number of examples, as on the other backends."""

    def __len__(self) -> int:
        return int(self[0].shape[0])


class FashionMNIST(core.FashionMNISTBase, DataModule):
    """``FashionMNIST(batch_size=64, resize=(28, 28), *, root=None)``: batches of images
    ``(n, H, W, 1)`` in [0, 1], int32 labels; ``data.train`` is the pair ``(uint8 images (N, 28, 28),
    labels)``, as in d2l's TensorFlow code."""

    def _make_dataset(self, images: np.ndarray, labels: np.ndarray) -> ImagesAndLabels:
        return ImagesAndLabels((tf.constant(images), tf.constant(labels.astype(np.int32))))

    def _images(self, images: tf.Tensor) -> tf.Tensor:
        # ``x / 255`` exactly, as on the other backends, also inside the loaders' ``tf.function``, where
        # TensorFlow's graph optimizer would turn a plain division by a constant into a multiplication
        # by its reciprocal (a quarter of the pixels one unit in the last place off); it leaves this op alone.
        X = tf.math.divide_no_nan(tf.cast(images, tf.float32), 255.0)
        if self._resize_matrices is not None:
            rows, cols = self._resize_matrices
            X = tf.einsum("hi,nij,wj->nhw", rows, X, cols)
        return X[..., None]


class KaggleHouse(KaggleHouseBase, DataModule):
    """``KaggleHouse(batch_size, train=None, val=None)``: ``preprocess()``, then float32 ``(X, log price)`` batches."""


TimeMachine = core.on_data_module(TimeMachineBase, DataModule, __name__)
MTFraEng = core.on_data_module(MTFraEngBase, DataModule, __name__)
