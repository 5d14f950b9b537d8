"""Execute every notebook of one backend top to bottom in a fresh kernel; fail on any cell error.

``python notebooks/run.py torch`` (the nox session ``notebooks-torch`` does this in the torch
environment). Each notebook runs in its own folder, offline, with this interpreter as the kernel.

The notebooks hold the book's cells with the book's training settings (10 epochs of Fashion-MNIST,
...), minutes per notebook on a CPU. Run here, they train on a reduced budget: every ``Trainer`` and
the 2.0 edition's loops read ``D2LX_LIMIT_TRAIN_BATCHES`` and ``D2LX_LIMIT_VAL_BATCHES``, which this
script sets for the kernels (default 10 training and 5 validation batches per epoch: an epoch of
Fashion-MNIST shrinks to 10 of its 235-469 batches, the synthetic regression data to 10 of 32, the
house prices to 10 of about 19; weight decay's 4 batches run in full).
Chapter 8's models (AlexNet to RegNet, at 224x224 or 96x96) take seconds per batch on a CPU;
chapter 9's RNN from scratch trains 100 epochs whose 10 batches (of 1024 sequences) the batch limit
does not shorten, 9.6 and 10.1-10.3's concise and gated RNNs 50-100 epochs of the same, 10.7's seq2seq
30 epochs of its 4 batches of 128 sentence pairs, the 2.0 edition's ``train_seq2seq`` 300 epochs, 11.4's
attention decoder and 11.7's Transformer 30 epochs of the same, 11.8's ViT 10 epochs at 96x96, 12.11's
learning-rate schedules 30 epochs of LeNet six times, and 13.5-13.6's multi-GPU trainings 10 epochs of LeNet
and of ResNet-18 on 1 and 2 devices.
These notebooks (``SMOKE``) run with ``D2LX_FAST_DEV_RUN=1``, one epoch of one training and one
validation batch, of at most 16 examples (``D2LX_MAX_BATCH_SIZE=16``: the cells ask for 128 images or
1024 sequences), which still runs every cell, the model's forward and backward passes included.
Every cell still runs; only the number of batches per epoch changes. ``--full`` runs the book's
budget, and variables already set in the environment win.

``python notebooks/run.py torch rnn-scratch text-sequence`` runs only the notebooks named.

Notebooks run two at a time by default (``--jobs``), the smoke-run ones first, each kernel with its share
of the cores (``d2lx.backends.thread_caps``): most of a notebook's seconds are a kernel starting,
imports and compiling, one core's work each, so two at a time finish sooner on CI's two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import nbclient
import nbformat

from d2lx import backends

HERE = Path(__file__).resolve().parent
# one training and one validation batch each (see above)
SMOKE_BATCH_SIZE = 16  # examples per batch in those notebooks (their cells ask for 128 images or 1024 sequences)
MODERN_CNNS = ("alexnet", "vgg", "nin", "googlenet", "batch-norm", "resnet", "densenet", "cnn-design")  # chapter 8
RNNS = ("rnn-scratch",)  # chapter 9: 100 epochs of the book's 10 batches
MODERN_RNNS = ("rnn-concise", "lstm", "gru", "deep-rnn")  # 9.6, 10.1-10.3: 50-100 epochs of the same
SEQ2SEQ = ("seq2seq",)  # chapter 10.7: 30 epochs of a two-layer GRU encoder-decoder of 256 units
FUNCTIONAL_RNNS = ("seq2seq-functional",)  # the 2.0 edition's 9.7: 300 epochs of its encoder-decoder
ATTENTION = ("bahdanau-attention",)  # chapter 11.4: 30 epochs of a GRU encoder-decoder with additive attention
TRANSFORMERS = ("transformer", "vision-transformer")  # 11.7: 30 epochs of the Transformer; 11.8: 10 of a ViT at 96x96
MULTI_GPU = ("multiple-gpus", "multiple-gpus-concise")  # 13.5-13.6: 10 epochs of LeNet, of ResNet-18, twice each
SCHEDULERS = ("lr-scheduler",)  # 12.11: 30 epochs of LeNet on Fashion-MNIST, once per schedule (six times)
SMOKE = MODERN_CNNS + RNNS + MODERN_RNNS + SEQ2SEQ + FUNCTIONAL_RNNS + ATTENTION + TRANSFORMERS + SCHEDULERS + MULTI_GPU


def register_kernel(name: str) -> None:
    """Make this interpreter a Jupyter kernel called ``name`` (inside the current environment)."""
    subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", name],
        check=True,
        capture_output=True,
    )


async def execute(path: Path, kernel: str, timeout: int, env: dict[str, str]) -> float:
    """Run ``path`` top to bottom in a fresh kernel whose environment is this process's plus ``env``."""
    notebook = nbformat.read(path, as_version=4)
    # shutdown_kernel="immediate": once the last cell has run, the kernel is stopped rather than asked to
    # exit and waited for (about 2.7 s a notebook here, 160 notebooks in CI; every cell has finished by then)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name=kernel,
        timeout=timeout,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    await client.async_execute(env={**os.environ, **env})
    return time.perf_counter() - start


async def run_all(notebooks: list[Path], kernel: str, timeout: int, jobs: int, full: bool) -> int:
    """Execute ``notebooks``, ``jobs`` at a time; print each result as it comes; return the failures."""
    slots = asyncio.Semaphore(jobs)
    caps = backends.thread_caps(max(1, (os.cpu_count() or 1) // jobs)) if jobs > 1 else {}
    failures = 0

    async def one(path: Path) -> None:
        nonlocal failures
        env = dict(caps)
        if not full and path.stem in SMOKE:
            env.setdefault("D2LX_FAST_DEV_RUN", os.environ.get("D2LX_FAST_DEV_RUN", "1"))
            env.setdefault("D2LX_MAX_BATCH_SIZE", os.environ.get("D2LX_MAX_BATCH_SIZE", str(SMOKE_BATCH_SIZE)))
        async with slots:
            try:
                seconds = await execute(path, kernel, timeout, env)
            except nbclient.exceptions.CellExecutionError as err:
                failures += 1
                print(f"FAILED {path.relative_to(HERE)}\n{err}", file=sys.stderr, flush=True)
                return
        print(f"ok {path.relative_to(HERE)} ({seconds:.1f} s)", flush=True)

    await asyncio.gather(*(one(path) for path in notebooks))
    return failures


def longest_first(notebooks: list[Path]) -> list[Path]:
    """The smoke-run notebooks (chapter 8's, the RNNs) first: with several running at once, the long ones
    should not come last."""
    return sorted(notebooks, key=lambda path: (path.stem not in SMOKE, path.name))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backend")
    parser.add_argument("names", nargs="*", help="run only these notebooks (file names, .ipynb optional)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--train-batches", type=int, default=10, help="training batches per epoch (default 10)")
    parser.add_argument("--val-batches", type=int, default=5, help="validation batches per epoch (default 5)")
    parser.add_argument("--full", action="store_true", help="train as the book does: no batch limits")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="notebooks run at once, each kernel with its share of the cores (default: 2, or 1 on one core)",
    )
    args = parser.parse_intermixed_args()  # names may follow options
    for name, value in (("train_batches", args.train_batches), ("val_batches", args.val_batches), ("jobs", args.jobs)):
        if value < 1:
            parser.error(f"--{name.replace('_', '-')} must be an int >= 1, got {value}")
    if not args.full:  # the kernels inherit this process's environment
        os.environ.setdefault("D2LX_LIMIT_TRAIN_BATCHES", str(args.train_batches))
        os.environ.setdefault("D2LX_LIMIT_VAL_BATCHES", str(args.val_batches))
        print(
            f"budget: {os.environ['D2LX_LIMIT_TRAIN_BATCHES']} training and "
            f"{os.environ['D2LX_LIMIT_VAL_BATCHES']} validation batches per epoch (--full: the book's); "
            f"{args.jobs} notebook(s) at a time",
            flush=True,
        )
    folder = HERE / args.backend
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        print(f"no notebooks in {folder}", file=sys.stderr)
        return 1
    if args.names:
        wanted = {name.removesuffix(".ipynb") for name in args.names}
        unknown = sorted(wanted - {path.stem for path in notebooks})
        if unknown:
            parser.error(f"no notebook {', '.join(unknown)} in {folder}")
        notebooks = [path for path in notebooks if path.stem in wanted]
    kernel = f"d2lx-{args.backend}"
    register_kernel(kernel)
    failures = asyncio.run(run_all(longest_first(notebooks), kernel, args.timeout, args.jobs, args.full))
    print(f"{len(notebooks) - failures}/{len(notebooks)} notebooks ran cleanly")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
