"""PyTorch-only: Apple's MPS counts as one GPU when there is no CUDA (simulated here); Fashion-MNIST's
resident images follow the Trainer's device, so batches are resized where the model trains. The tests
marked ``gpu`` run on a CUDA GPU only (``pytest -m gpu --backend torch``; skipped elsewhere): the resident
images there, and the compiled step with CUDA graphs."""

from __future__ import annotations

import warnings

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


def _needs_cuda():
    if not torch.cuda.is_available():  # the gpu marker lets Apple's MPS through
        pytest.skip("needs a CUDA GPU (run on the GPU machine: pytest -m gpu --backend torch)")


@pytest.mark.gpu(backend="torch")
def test_on_a_cuda_gpu_batches_are_resized_there_and_match_the_cpu():
    _needs_cuda()
    cpu = d2l.FashionMNIST(batch_size=64, resize=(96, 96))
    expected = cpu._images(cpu.train.tensors[0][:64])
    data, trainer = _fashion_on(torch.device("cuda:0"), (96, 96))
    got = data._images(data.train.tensors[0][:64])
    assert got.device.type == "cuda"
    assert torch.allclose(got.cpu(), expected, atol=1e-6)


@pytest.mark.gpu(backend="torch")
def test_on_a_cuda_gpu_the_compiled_step_uses_cuda_graphs_and_trains_as_the_default_loop(monkeypatch):
    """``Trainer(jit_compile=True)`` compiles with ``mode="reduce-overhead"`` (CUDA graphs) on a CUDA
    device, and trains softmax regression to the default loop's parameters and points."""
    _needs_cuda()
    from d2lx.torch import trainer as trainer_module

    modes = []
    init = trainer_module.CompiledStep.__init__

    def recording(step, device):
        init(step, device)
        modes.append(step.mode)

    monkeypatch.setattr(trainer_module.CompiledStep, "__init__", recording)
    results = []
    for jit_compile in (False, True):
        d2l.set_seed(0)
        data, model = d2l.FashionMNIST(batch_size=256), d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
        trainer = d2l.Trainer(max_epochs=2, limit_train_batches=30, num_gpus=1, jit_compile=jit_compile)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer.fit(model, data)
        assert not [str(w.message) for w in caught if "fell back" in str(w.message)]
        assert all(p.device.type == "cuda" for p in model.parameters())
        parameters = [p.detach().cpu().numpy() for p in model.parameters()]
        results.append((parameters, [(p.x, float(p.y)) for p in model.board.data["train_loss"]]))
    assert modes == ["reduce-overhead"]
    (default, default_points), (compiled, compiled_points) = results
    for a, b in zip(default, compiled):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)
    assert [x for x, _ in compiled_points] == [x for x, _ in default_points]
    np.testing.assert_allclose([y for _, y in compiled_points], [y for _, y in default_points], atol=1e-5)


def test_a_step_whose_output_buffer_the_next_replay_overwrites_still_plots_each_batchs_loss(monkeypatch):
    """On a CUDA GPU the compiled step runs under CUDA graphs, which return the same output buffer at every
    replay, and the board reads its points a few calls late: the plot must keep its own copy of each loss
    (found on an H200, 2026-12-04: "accessing tensor output of CUDAGraphs that has been overwritten"). Here, on
    the CPU, the step says it uses CUDA graphs, and each call spoils the previous call's output as a replay
    would (NaN); the points read late must still be the default loop's."""
    from d2lx.torch import trainer as trainer_module

    init = trainer_module.CompiledStep.__init__

    def like_cuda_graphs(step, device):
        init(step, device)
        step.mode = "reduce-overhead"
        outputs = []

        def replay(model, *batch):
            if outputs:  # the next replay writes into the buffer the last one returned
                outputs.pop().detach().fill_(float("nan"))
            outputs.append(trainer_module._loss(model, *batch))
            return outputs[-1]

        step.loss = replay

    monkeypatch.setenv("D2LX_READ_PLOTS_LATE", "1")
    monkeypatch.setattr(trainer_module.CompiledStep, "__init__", like_cuda_graphs)
    points = []
    for jit_compile in (False, True):
        d2l.set_seed(0)
        data, model = d2l.FashionMNIST(batch_size=64), d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
        d2l.Trainer(max_epochs=1, limit_train_batches=12, limit_val_batches=1, jit_compile=jit_compile).fit(model, data)
        points.append([(p.x, float(p.y)) for p in model.board.data["train_loss"]])
    default, compiled = points
    assert len(compiled) == len(default) > 1
    np.testing.assert_allclose([y for _, y in compiled], [y for _, y in default], rtol=0, atol=1e-6)
