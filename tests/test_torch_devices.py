"""PyTorch-only: Apple's MPS counts as one GPU when there is no CUDA (simulated here); Fashion-MNIST's
resident images follow the Trainer's device, so batches are resized where the model trains."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
d2l = pytest.importorskip("d2lx.torch")


def test_mps_is_the_gpu_on_a_mac(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert d2l.num_gpus() == 1
    assert d2l.try_gpu() == torch.device("mps") and d2l.try_all_gpus() == [torch.device("mps")]
    assert d2l.try_gpu(1) == torch.device("cpu")


def test_no_gpu_means_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert d2l.num_gpus() == 0 and d2l.try_gpu() == torch.device("cpu") and d2l.try_all_gpus() == [d2l.cpu()]


def _fashion_on(device, resize):
    data = d2l.FashionMNIST(batch_size=16, resize=resize)
    trainer = d2l.Trainer(max_epochs=1)
    trainer.gpus = [device]  # as Trainer(num_gpus=1) sets it on a GPU machine
    trainer.prepare_data(data)
    return data, trainer


@pytest.mark.parametrize("resize", [(28, 28), (224, 224)])
def test_a_gpu_trainer_moves_the_resident_images_to_its_device(resize):
    # "meta" tensors have shapes and devices but no storage: they stand in for a GPU here
    data, trainer = _fashion_on(torch.device("meta"), resize)
    X, y = next(iter(trainer.train_dataloader))
    assert X.device.type == "meta" and y.device.type == "meta"
    assert X.shape == (16, 1, *resize) and X.dtype == torch.float32
    assert all(t.device.type == "meta" for t in data.train.tensors + data.val.tensors)
    # the epoch's shuffled order goes to that device once, not with every batch's rows
    assert trainer.train_dataloader._to_index(np.arange(4)).device.type == "meta"


def test_a_cpu_trainer_keeps_them_on_the_cpu(monkeypatch):
    data = d2l.FashionMNIST(batch_size=16, resize=(32, 32))
    places = []
    place = data._place
    monkeypatch.setattr(data, "_place", lambda device: places.append(device) or place(device))
    trainer = d2l.Trainer(max_epochs=1)
    trainer.prepare_data(data)  # after a GPU trainer, this is what brings them back
    assert places == [torch.device("cpu")]
    X, _ = next(iter(trainer.val_dataloader))
    assert X.device.type == "cpu" and X.shape == (16, 1, 32, 32)
    assert float(X.min()) >= 0 and float(X.max()) <= 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the GPU machine)")
def test_on_a_cuda_gpu_batches_are_resized_there_and_match_the_cpu():
    cpu = d2l.FashionMNIST(batch_size=64, resize=(96, 96))
    expected = cpu._images(cpu.train.tensors[0][:64])
    data, trainer = _fashion_on(torch.device("cuda:0"), (96, 96))
    got = data._images(data.train.tensors[0][:64])
    assert got.device.type == "cuda"
    assert torch.allclose(got.cpu(), expected, atol=1e-6)
