"""What the label check costs (issue 19): epoch time with and without it, on one backend.

A classifier's labels are checked to be integer class indices in ``[0, num_classes)``: once, when
d2lx's own ``FashionMNIST`` is built (the trainer then checks nothing per batch), and with one min
and one max per batch for a learner's own loader. This times ``SoftmaxRegression(num_outputs=10,
lr=0.1)`` on Fashion-MNIST (batch 256) through a learner's own ``DataModule`` over the same tensors,
with the per-batch check and with it switched off, in alternating epochs (ABBA order), and the check alone per
batch. On a shared machine compare the medians with the check alone: the epochs vary more than it costs.

    python bench/label_check.py torch [--epochs 10]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time

from d2lx import checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backend")
    parser.add_argument("--epochs", type=int, default=10, help="epochs timed for each setting")
    args = parser.parse_args()
    d2l = importlib.import_module(f"d2lx.{args.backend}")
    d2l.set_seed(0)
    fashion = d2l.FashionMNIST(batch_size=256)

    class OwnLoader(d2l.DataModule):  # a learner's own data module: labels checked per batch
        def __init__(self):
            super().__init__()
            self.batch_size = 256

        def get_dataloader(self, train):
            return fashion.get_dataloader(train)

    data = OwnLoader()
    check = checks.class_labels
    timings: dict[str, list[float]] = {"checked per batch": [], "not checked": []}
    model = d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
    d2l.Trainer(max_epochs=1).fit(model, data)  # warm-up: lazy layers, compilation
    for epoch in range(args.epochs):
        settings = list(timings) if epoch % 2 == 0 else list(reversed(timings))  # ABBA: no order bias
        for setting in settings:
            checks.class_labels = check if setting == "checked per batch" else (lambda *a: None)
            trainer = d2l.Trainer(max_epochs=1)
            start = time.perf_counter()
            trainer.fit(model, data)
            timings[setting].append(time.perf_counter() - start)
    checks.class_labels = check

    labels = next(iter(data.train_dataloader()))[-1]
    repeats = 2000
    start = time.perf_counter()
    for _ in range(repeats):
        check(labels, 10, "bench")
    alone = (time.perf_counter() - start) / repeats
    batches = len(data.train_dataloader()) + len(data.val_dataloader())
    print(f"{args.backend}: SoftmaxRegression, Fashion-MNIST, batch 256, {batches} batches per epoch")
    for setting, values in timings.items():
        median, best = statistics.median(values), min(values)
        print(f"  epoch, {setting}: median {median:.3f} s, best {best:.3f} s over {len(values)}")
    print(f"  the check alone: {alone * 1e6:.1f} us per batch, {alone * batches * 1e3:.1f} ms per epoch")


if __name__ == "__main__":
    main()
