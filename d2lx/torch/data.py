"""``DataModule`` and the datasets for PyTorch: resident tensors, batched by index."""

from __future__ import annotations

import numpy as np
import torch

from d2lx import datamodule as core
from d2lx.kaggle_house import KaggleHouseBase
from d2lx.sequence_data import MTFraEngBase, TimeMachineBase


class DataModule(core.DataModuleBase):
    """The base of the datasets: ``train_dataloader()``, ``val_dataloader()``, ``get_tensorloader`` (the core's)."""

    def _from_numpy(self, array: np.ndarray) -> torch.Tensor:
        return torch.tensor(array)

    def _to_index(self, order: np.ndarray) -> torch.Tensor:
        """An epoch's shuffled order, on the device the resident tensors were placed on (``_place``): one
        copy an epoch, instead of one per batch."""
        index = torch.from_numpy(order)
        device = self.__dict__.get("_d2lx_device")
        return index if device is None else index.to(device)

    @staticmethod
    def _take(array: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """The rows ``index`` of ``array``: ``index_select`` gives what ``array[index]`` gives, in a
        quarter of its time for a small batch (4 us against 15 for 16 rows of Fashion-MNIST on the CPU),
        host time that a GPU's step waits for."""
        if index.device != array.device:  # tensors a learner moved after the loader was made
            index = index.to(array.device)
        return array.index_select(0, index)


class SyntheticRegressionData(core.SyntheticRegressionDataBase, DataModule):
    """``SyntheticRegressionData(w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32)``."""


class Data(core.WeightDecayDataBase, DataModule):
    """``Data(num_train, num_val, num_inputs, batch_size)``: the weight-decay section's regression set."""


class FashionMNIST(core.FashionMNISTBase, DataModule):
    """``FashionMNIST(batch_size=64, resize=(28, 28), *, root=None)``: batches of images
    ``(n, 1, H, W)`` in [0, 1], int64 labels."""

    def _make_dataset(self, images: np.ndarray, labels: np.ndarray) -> core.ImageDataset:
        return core.ImageDataset(torch.tensor(images), torch.tensor(labels), self._images)

    def _images(self, images: torch.Tensor) -> torch.Tensor:
        X = images.to(torch.float32) / 255
        if self._resize_matrices is not None:
            rows, cols = (m.to(X.device) for m in self._resize_matrices)
            X = torch.matmul(rows, torch.matmul(X, cols.T))  # two BLAS products: columns, then rows
        return X.unsqueeze(1)

    def _place(self, device: torch.device) -> None:
        """Keep the uint8 images, labels and resize matrices on ``device`` (the ``Trainer`` calls this
        with the device it trains on): each batch is then gathered, scaled and resized there, and only
        the small uint8 images ever crossed to a GPU, once, instead of every float32 batch, every epoch."""
        self._d2lx_device = device
        for dataset in (self.train, self.val):
            dataset.tensors = tuple(t.to(device) for t in dataset.tensors)
        if self._resize_matrices is not None:
            self._resize_matrices = tuple(m.to(device) for m in self._resize_matrices)


class KaggleHouse(KaggleHouseBase, DataModule):
    """``KaggleHouse(batch_size, train=None, val=None)``: ``preprocess()``, then float32 ``(X, log price)`` batches."""


TimeMachine = core.on_data_module(TimeMachineBase, DataModule, __name__)
MTFraEng = core.on_data_module(MTFraEngBase, DataModule, __name__)
