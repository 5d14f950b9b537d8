"""Fashion-MNIST at any size: memory and time of building ``FashionMNIST(resize=...)`` and one training pass.

    PYTHONPATH=. python bench/data_pipeline.py --backend torch --size 28 96 224

Each size runs in a fresh interpreter, so each peak is its own. For each it prints: the resident
memory after ``from d2lx import <backend> as d2l`` (the baseline), the peak during building the data
module and one pass of its training loader, the peak minus the baseline (what the data costs), the
seconds of the pass, and the memory-bandwidth floor of any loader that hands out resized float32
batches: the seconds to write the same batches' float32 output once with numpy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from memory import peak_mib, rss_mib, run_child


def _block(x) -> None:
    for name in ("block_until_ready", "wait_to_read", "numpy"):
        if hasattr(x, name):
            getattr(x, name)()
            return


def child(backend: str, size: int, batch_size: int) -> dict:
    import importlib

    import numpy as np

    d2l = importlib.import_module(f"d2lx.{backend}")
    baseline = rss_mib()
    start = time.perf_counter()
    data = d2l.FashionMNIST(batch_size=batch_size, resize=(size, size))
    setup_s = time.perf_counter() - start
    start, count = time.perf_counter(), 0
    for X, _ in data.train_dataloader():
        count += int(X.shape[0])
    _block(X)
    pass_s = time.perf_counter() - start
    peak = peak_mib()
    start = time.perf_counter()  # the floor: write each batch's float32 output once
    for first in range(0, count, batch_size):
        out = np.empty((min(batch_size, count - first), 1, size, size), dtype=np.float32)
        out.fill(0.5)
    floor_s = time.perf_counter() - start
    return {
        "backend": backend,
        "size": size,
        "batch_size": batch_size,
        "images": count,
        "rss_after_import_mib": round(baseline),
        "peak_rss_mib": round(peak),
        "added_peak_mib": round(peak - baseline),
        "setup_s": round(setup_s, 3),
        "pass_s": round(pass_s, 3),
        "float32_write_floor_s": round(floor_s, 3),
        "pass_over_floor": round(pass_s / floor_s, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", required=True)
    parser.add_argument("--size", type=int, nargs="+", default=[28, 96, 224])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.backend, args.size[0], args.batch_size)))
        return 0
    for size in args.size:
        status = run_child(
            __file__, ["--backend", args.backend, "--size", str(size), "--batch-size", str(args.batch_size)]
        )
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
