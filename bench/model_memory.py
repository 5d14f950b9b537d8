"""Peak memory (and time) of training one of chapter 8's models on the CPU, as the book's cells do.

    PYTHONPATH=. python bench/model_memory.py --backend torch [--model ResNet18] [--size 96] \
        [--batch-size 128] [--batches 5]

The chapter 8 issue's bar: ResNet18 at 96x96, batch 128, fits in 4 GiB of peak resident memory on
every backend. The run is the book's cell on a training budget: ``FashionMNIST(batch_size, resize)``,
``<model>(lr=0.01)``, ``Trainer(max_epochs=1, limit_train_batches=batches, limit_val_batches=1)``,
``fit``, in a fresh interpreter (so the peak is this run's). It prints one JSON line: the resident
memory after ``from d2lx import <backend> as d2l``, the peak, and the seconds of the fit (first batch,
with any compilation, included), with the seconds per training batch after the first.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

from memory import peak_mib, rss_mib, run_child


def child(backend: str, model_name: str, size: int, batch_size: int, batches: int) -> dict:
    d2l = importlib.import_module(f"d2lx.{backend}")
    after_import = rss_mib()
    d2l.set_seed(0)
    data = d2l.FashionMNIST(batch_size=batch_size, resize=(size, size))
    model = getattr(d2l, model_name)(lr=0.01)
    trainer = d2l.Trainer(max_epochs=1, limit_train_batches=batches, limit_val_batches=1, progress_bar=False)
    batch_starts = []
    fit_epoch = trainer.fit_epoch

    def timed_fit_epoch():  # the time at each training batch, without touching the trainer's loop
        loader = trainer.train_dataloader

        class Timed:
            def __iter__(self):
                for batch in loader:
                    batch_starts.append(time.perf_counter())
                    yield batch

            def __len__(self):
                return len(loader)

        trainer.train_dataloader = Timed()
        try:
            fit_epoch()
        finally:
            trainer.train_dataloader = loader

    trainer.fit_epoch = timed_fit_epoch
    start = time.perf_counter()
    trainer.fit(model, data)
    fit_s = time.perf_counter() - start
    steady = [b - a for a, b in zip(batch_starts[1:], batch_starts[2:])]
    return {
        "backend": backend,
        "model": model_name,
        "size": size,
        "batch_size": batch_size,
        "train_batches": batches,
        "rss_after_import_mib": round(after_import),
        "peak_rss_mib": round(peak_mib()),
        "fit_s": round(fit_s, 2),
        "s_per_batch_after_the_first": round(sum(steady) / len(steady), 3) if steady else None,
        "train_loss": [round(float(p.y), 4) for p in model.board.data.get("train_loss", [])],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", required=True)
    parser.add_argument("--model", default="ResNet18")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=5, help="training batches (at least 3)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batches < 3:
        parser.error(f"--batches must be at least 3 (the first compiles; then two timed), got {args.batches}")
    if args.child:
        print(json.dumps(child(args.backend, args.model, args.size, args.batch_size, args.batches)))
        return 0
    arguments = ["--backend", args.backend, "--model", args.model, "--size", str(args.size)]
    return run_child(__file__, [*arguments, "--batch-size", str(args.batch_size), "--batches", str(args.batches)])


if __name__ == "__main__":
    sys.exit(main())
