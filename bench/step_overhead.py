"""PyTorch's per-step host work in d2lx's loop, against a hand-written loop (bench/RESULTS.md, issue 21).

    PYTHONPATH=. python bench/step_overhead.py [--batch-size 16] [--batches 3000] [--repeat 7] [--num-gpus 0]

On a GPU the book's softmax regression spends its step in the host's Python, not in the device's
kernels; on the CPU a small batch (16 by default) makes a step as short, so the host's work shows here
too. Three loops, alternating, ``--repeat`` times each, over the same ``--batches`` of Fashion-MNIST:

- ``d2lx``: ``Trainer.fit`` of ``SoftmaxRegression`` (one epoch of ``--batches`` batches, at most the
  epoch's, and one validation batch), as the book's cell runs it; a plain ``torch.optim.SGD`` is
  stepped by ``d2lx.torch.sgd_update``;
- ``d2lx-optim``: the same, with an empty global optimizer step hook, so that ``torch.optim.SGD`` steps
  itself (``sgd_update.is_plain_sgd`` says no to any hooked optimizer): what the fast update saves;
- ``hand``: a hand-written loop over float32 images converted once, two tensors updated in place.

Prints microseconds per step (medians) and the ratios to ``hand``; ``--out FILE`` writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("D2LX_PROGRESS", "0")

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.optim import optimizer as optimizer_module  # noqa: E402

from d2lx import torch as d2l  # noqa: E402


def _wait(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_d2lx(batch_size: int, batches: int, num_gpus: int, through_optim: bool) -> float:
    data = d2l.FashionMNIST(batch_size=batch_size)
    model = d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
    trainer = d2l.Trainer(max_epochs=1, num_gpus=num_gpus, limit_train_batches=batches, limit_val_batches=1)
    hook = optimizer_module.register_optimizer_step_pre_hook(lambda *args: None) if through_optim else None
    try:
        start = time.perf_counter()
        trainer.fit(model, data)
        _wait(torch.device("cuda") if num_gpus else torch.device("cpu"))
        return time.perf_counter() - start
    finally:
        if hook is not None:
            hook.remove()


def run_hand(batch_size: int, batches: int, num_gpus: int) -> float:
    device = torch.device("cuda:0" if num_gpus else "cpu")
    data = d2l.FashionMNIST(batch_size=batch_size)
    images, labels = data.train.tensors
    X = (images.to(torch.float32) / 255).reshape(len(images), -1).to(device)
    y = labels.to(device)
    W = (0.01 * torch.randn(X.shape[1], 10, device=device)).requires_grad_()
    b = torch.zeros(10, device=device, requires_grad=True)
    _wait(device)
    start = time.perf_counter()
    order = torch.randperm(len(X), device=device)
    for i in range(batches):
        rows = order[i * batch_size : (i + 1) * batch_size]
        loss = F.cross_entropy(X[rows] @ W + b, y[rows])
        loss.backward()
        with torch.no_grad():
            for param in (W, b):
                param -= 0.1 * param.grad
                param.grad = None
        loss.item()  # d2lx reads each loss for its board too
    _wait(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--num-gpus", type=int, default=0)
    parser.add_argument("--out", help="write the runs and medians as JSON to this file")
    args = parser.parse_args()
    for name in ("batch_size", "batches", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    full_batches = 60000 // args.batch_size  # one epoch of Fashion-MNIST's training images at most
    if args.batches > full_batches:
        print(f"--batches {args.batches} is more than an epoch at batch {args.batch_size}: timing {full_batches}")
        args.batches = full_batches
    loops = {
        "d2lx": lambda: run_d2lx(args.batch_size, args.batches, args.num_gpus, through_optim=False),
        "d2lx-optim": lambda: run_d2lx(args.batch_size, args.batches, args.num_gpus, through_optim=True),
        "hand": lambda: run_hand(args.batch_size, args.batches, args.num_gpus),
    }
    for loop in loops.values():  # warm-up: imports, first allocations
        loop()
    runs: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.repeat):
        for name, loop in loops.items():
            runs[name].append(loop() / args.batches * 1e6)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    for name, value in medians.items():
        print(f"{name:>10}: {value:7.1f} us/step  ({value / medians['hand']:.2f}x hand)")
    if args.out:
        summary = {
            "batch_size": args.batch_size,
            "batches": args.batches,
            "num_gpus": args.num_gpus,
            "torch": torch.__version__,
            "load_average": os.getloadavg(),
            "us_per_step": runs,
            "median_us_per_step": medians,
        }
        with open(args.out + ".tmp", "w") as file:
            json.dump(summary, file, indent=1)
        os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
