"""Execute every notebook of one backend top to bottom in a fresh kernel; fail on any cell error.

``python notebooks/run.py torch`` (the nox session ``notebooks-torch`` does this in the torch
environment). Each notebook runs in its own folder, offline, with this interpreter as the kernel.

The notebooks hold the book's cells with the book's training settings (10 epochs of Fashion-MNIST,
...), minutes per notebook on a CPU. Run here, they train on a reduced budget: every ``Trainer`` and
the 2.0 edition's loops read ``D2LX_LIMIT_TRAIN_BATCHES`` and ``D2LX_LIMIT_VAL_BATCHES``, which this
script sets for the kernels (default 10 training and 5 validation batches per epoch: an epoch of
Fashion-MNIST shrinks to 10 of its 235-469 batches, the synthetic regression data to 10 of 32, the
house prices to 10 of about 19; weight decay's 4 batches run in full).
Chapter 8's models (AlexNet to RegNet, at 224x224 or 96x96) take seconds per batch on a CPU: their
notebooks (``MODERN_CNNS``) run with ``D2LX_FAST_DEV_RUN=1``, one epoch of one training and one
validation batch, which still runs every cell, the model's forward and backward passes included.
Every cell still runs; only the number of batches per epoch changes. ``--full`` runs the book's
budget, and variables already set in the environment win.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent
# chapter 8 of the 1.0 edition: one batch each (see above)
MODERN_CNNS = ("alexnet", "vgg", "nin", "googlenet", "batch-norm", "resnet", "densenet", "cnn-design")


def register_kernel(name: str) -> None:
    """Make this interpreter a Jupyter kernel called ``name`` (inside the current environment)."""
    subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", name],
        check=True,
        capture_output=True,
    )


def run_notebook(path: Path, kernel: str, timeout: int, env: dict[str, str] | None = None) -> float:
    """Execute ``path``; ``env``: variables set for its kernel only (the kernel inherits os.environ)."""
    saved = {name: os.environ.get(name) for name in env or {}}
    os.environ.update(env or {})
    try:
        return _execute(path, kernel, timeout)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _execute(path: Path, kernel: str, timeout: int) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, kernel_name=kernel, timeout=timeout, resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backend")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--train-batches", type=int, default=10, help="training batches per epoch (default 10)")
    parser.add_argument("--val-batches", type=int, default=5, help="validation batches per epoch (default 5)")
    parser.add_argument("--full", action="store_true", help="train as the book does: no batch limits")
    args = parser.parse_args()
    for name, value in (("train_batches", args.train_batches), ("val_batches", args.val_batches)):
        if value < 1:
            parser.error(f"--{name.replace('_', '-')} must be an int >= 1, got {value}")
    if not args.full:  # the kernels inherit this process's environment
        os.environ.setdefault("D2LX_LIMIT_TRAIN_BATCHES", str(args.train_batches))
        os.environ.setdefault("D2LX_LIMIT_VAL_BATCHES", str(args.val_batches))
        print(
            f"budget: {os.environ['D2LX_LIMIT_TRAIN_BATCHES']} training and "
            f"{os.environ['D2LX_LIMIT_VAL_BATCHES']} validation batches per epoch (--full: the book's)",
            flush=True,
        )
    folder = HERE / args.backend
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        print(f"no notebooks in {folder}", file=sys.stderr)
        return 1
    kernel = f"d2lx-{args.backend}"
    register_kernel(kernel)
    failures = 0
    for path in notebooks:
        try:
            heavy = not args.full and path.stem in MODERN_CNNS and "D2LX_FAST_DEV_RUN" not in os.environ
            seconds = run_notebook(path, kernel, args.timeout, {"D2LX_FAST_DEV_RUN": "1"} if heavy else None)
        except nbclient.exceptions.CellExecutionError as err:
            failures += 1
            print(f"FAILED {path.relative_to(HERE)}\n{err}", file=sys.stderr)
            continue
        print(f"ok {path.relative_to(HERE)} ({seconds:.1f} s)", flush=True)
    print(f"{len(notebooks) - failures}/{len(notebooks)} notebooks ran cleanly")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
