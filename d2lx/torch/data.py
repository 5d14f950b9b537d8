"""``DataModule`` and the datasets for PyTorch: resident tensors, batched by index."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import TensorDataset

from d2lx.data.loader import ArrayLoader
from d2lx.datamodule import DataModuleBase, FashionMNISTBase, SyntheticRegressionDataBase, WeightDecayDataBase
from d2lx.kaggle_house import KaggleHouseBase


class DataModule(DataModuleBase):
    """The base of the datasets: ``train_dataloader()``, ``val_dataloader()``, ``get_tensorloader``."""

    def _from_numpy(self, array: np.ndarray) -> torch.Tensor:
        return torch.tensor(array)

    def get_tensorloader(self, tensors, train: bool, indices=slice(0, None)):
        """Minibatches of ``batch_size`` rows of ``tensors[indices]``, shuffled when ``train``."""
        tensors = tuple(a[indices] for a in tensors)
        return ArrayLoader(tensors, self.batch_size, shuffle=train, to_index=torch.from_numpy)


class SyntheticRegressionData(SyntheticRegressionDataBase, DataModule):
    """``SyntheticRegressionData(w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32)``."""


class Data(WeightDecayDataBase, DataModule):
    """``Data(num_train, num_val, num_inputs, batch_size)``: the weight-decay section's regression set."""


class FashionMNIST(FashionMNISTBase, DataModule):
    """``FashionMNIST(batch_size=64, resize=(28, 28))``: images ``(N, 1, H, W)`` in [0, 1], int64 labels."""

    def _make_dataset(self, images: np.ndarray, labels: np.ndarray) -> TensorDataset:
        return TensorDataset(torch.tensor(images).unsqueeze(1), torch.tensor(labels))

    def get_dataloader(self, train: bool):
        data = self.train if train else self.val
        return self.get_tensorloader(data.tensors, train)


class KaggleHouse(KaggleHouseBase, DataModule):
    """``KaggleHouse(batch_size, train=None, val=None)``: ``preprocess()``, then float32 ``(X, log price)`` batches."""
