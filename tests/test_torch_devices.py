"""PyTorch-only: Apple's MPS counts as one GPU when there is no CUDA (simulated here)."""

from __future__ import annotations

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
