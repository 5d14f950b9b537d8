"""What the per-batch device-to-host read in ``Module.plot`` costs on a GPU (bench/RESULTS.md, issue 21).

    PYTHONPATH=. python bench/sync_cost.py BACKEND WORKLOAD VARIANT

BACKEND: torch or jax; WORKLOAD: ``resnet18`` (section 8.6's cell, 3 epochs) or ``softmax`` (6 epochs);
VARIANT: ``plot`` runs d2lx as it is, where every batch's loss is read back as a float for the board
(and the divergence check), so the host waits for the device each batch; ``nosync`` replaces that
read with a constant, so nothing waits until the epoch's end, where the timer waits once. The
difference is the cost of the per-batch read; ``nosync`` is an experiment, not a way to train.
"""

from __future__ import annotations

import importlib
import statistics
import sys
import time


def _wait(backend: str, trainer) -> None:
    if backend == "torch":
        import torch

        torch.cuda.synchronize()
    else:
        import jax

        jax.block_until_ready(trainer.state.params)


def main(backend: str, workload: str, variant: str) -> None:
    from d2lx import module as core_module

    d2l = importlib.import_module(f"d2lx.{backend}")
    if variant == "nosync":
        core_module._as_float = lambda value: 0.0
    d2l.set_seed(0)
    if workload == "resnet18":
        data, model, epochs = d2l.FashionMNIST(batch_size=128, resize=(96, 96)), d2l.ResNet18(lr=0.01), 3
    else:
        data, model, epochs = d2l.FashionMNIST(batch_size=256), d2l.SoftmaxRegression(num_outputs=10, lr=0.1), 6
    trainer = d2l.Trainer(max_epochs=epochs, num_gpus=1)
    if backend == "torch" and workload == "resnet18":
        model.apply_init([next(iter(data.get_dataloader(True)))[0]], d2l.init_cnn)
    seconds: list[float] = []
    fit_epoch = trainer.fit_epoch

    def timed() -> None:
        start = time.perf_counter()
        fit_epoch()
        _wait(backend, trainer)
        seconds.append(time.perf_counter() - start)

    trainer.fit_epoch = timed
    trainer.fit(model, data)
    later = statistics.median(seconds[1:])
    rounded = [round(s, 3) for s in seconds]
    print(f"RESULT {backend} {workload} {variant}: first {seconds[0]:.3f} s, later median {later:.3f} s", rounded)


if __name__ == "__main__":
    main(*sys.argv[1:4])
