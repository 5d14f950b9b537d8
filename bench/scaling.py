"""Data-parallel scaling: examples per second at 1, 2, ... workers per backend, and the distributed path's cost.

    PYTHONPATH=. python bench/scaling.py [--backends torch jax tensorflow mxnet] [--workers 1 2]
                                         [--batches 40] [--epochs 3] [--repeat 3] [--num-gpus 0]
                                         [--in-process R] [--threads N] [--out FILE]

The workload is section 5.2's concise ``MLP(num_outputs=10, num_hiddens=256, lr=0.1)`` on Fashion-MNIST at
a global batch of 256, ``--batches`` training batches an epoch and no validation; the rate is the median
over the epochs after the first (which compiles) of examples per second. Each configuration runs in a fresh
interpreter (the devices are fixed before a framework starts), ``--repeat`` times, in turns:

- ``plain``: ``Trainer`` as the book's cells make it (the one-device loop);
- ``k=1``: the distributed path with one worker (``strategy="ddp"``): PyTorch's world of one process (the
  process group joined, the sharded loader; it steps without DistributedDataParallel, which would have nothing
  to synchronise: d2lx/torch/distributed.py), JAX's one-device mesh, TensorFlow's MirroredStrategy on one
  device, MXNet's ``split_and_load`` over one context. ``plain`` / ``k=1`` is what the path costs (goal: under 5%);
- ``k=N``: N workers: PyTorch N processes (gloo on CPUs, nccl with ``--num-gpus``), JAX N host devices
  (or GPUs), TensorFlow N logical CPUs (or GPUs), MXNet N contexts.

On a 2-core CPU the workers share the cores: the numbers show the path's cost, not a speed-up.

``--in-process R`` measures the k=1 cost again inside one interpreter: R rounds of a plain fit and a k=1 fit,
in turns (the order swapped every round), the median epoch of each. On a 2-core virtual machine two fresh
processes running the same fit differ by 20-40% (the torch MLP: 72 700 and 103 600 examples per second, plain,
one after the other), more than the 5% the path may cost; within one process that spread is gone on a quiet
machine (on one loaded by other work, rounds still differ by up to 2x: run it several times).

``--threads N`` caps every framework's compute threads at N in every child, the launched ranks and the
in-process rounds included: ``bench.py``'s option, the same environment (``bench/machine.py``), made by the caps
d2lx gives its test workers and notebook kernels (``d2lx.backends.thread_caps``: ``OMP_NUM_THREADS`` and the
other thread variables, and for JAX, which has one thread or its pool, ``--xla_cpu_multi_thread_eigen`` added
to ``XLA_FLAGS``). On a machine shared with other work, ``--threads 1``. Without it the frameworks keep their
defaults.

The header printed first names the CPU and the threads; ``--out`` writes ``{"meta": {...}, BACKEND: {"plain":
..., "k=1": ..., ...}, ...}``, the meta holding the date, the command, the CPU, the commit and ``threads``
(the cap, or ``"framework default"``), and each backend the compute threads its children's framework reported
where it says (``"framework_threads"``: PyTorch's ``torch.get_num_threads()``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

import machine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed_fit(d2l, backend: str, batches: int, epochs: int, **trainer_args):
    """The workload, seeded: the concise MLP on Fashion-MNIST at batch 256, ``batches`` training batches an
    epoch and no validation; returns the trainer and each epoch's seconds (after waiting for the device)."""
    times: list[float] = []

    class Timed(d2l.Trainer):
        def fit_epoch(self):
            start = time.perf_counter()
            super().fit_epoch()
            _wait(backend)
            times.append(time.perf_counter() - start)

    d2l.set_seed(0)
    data = d2l.FashionMNIST(batch_size=256)
    model = d2l.MLP(num_outputs=10, num_hiddens=256, lr=0.1)
    trainer = Timed(max_epochs=epochs, limit_train_batches=batches, limit_val_batches=0, progress_bar=False,
                    **trainer_args)  # fmt: skip
    trainer.fit(model, data)
    return trainer, times


def child(backend: str, workers: int, num_gpus: int, batches: int, epochs: int) -> None:
    """One run (``workers`` 0: plain), printing ``{"rate": examples per second, "rank": ..., "threads": ...}``."""
    launched = bool(os.environ.get("WORLD_SIZE"))
    if backend == "tensorflow" and workers > 1 and not num_gpus:
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * workers)
    import importlib

    d2l = importlib.import_module(f"d2lx.{backend}")
    args: dict = {"num_gpus": num_gpus}
    if workers:
        args["strategy"] = "ddp"
        if not launched and not num_gpus and backend != "torch":  # PyTorch's workers are processes
            args["devices"] = workers
        if num_gpus and not launched:
            args["num_gpus"] = workers
    trainer, times = timed_fit(d2l, backend, batches, epochs, **args)
    rate = batches * 256 / statistics.median(times[1:] or times)
    report = {"rate": rate, "rank": trainer.global_rank, "world_size": trainer.world_size}
    print(json.dumps({**report, "threads": _framework_threads(backend)}), flush=True)


def in_process(backend: str, num_gpus: int, batches: int, epochs: int, rounds: int) -> None:
    """``rounds`` pairs of fits in this interpreter, plain and k=1 (``strategy="ddp"``, one worker) in turns,
    printing ``{"plain": [...], "k=1": [...]}``: each fit's median epoch after the first, in seconds."""
    import importlib

    d2l = importlib.import_module(f"d2lx.{backend}")
    extra = {} if backend == "torch" or num_gpus else {"devices": 1}
    configs = {"plain": {"num_gpus": num_gpus}, "k=1": {"num_gpus": num_gpus, "strategy": "ddp", **extra}}
    medians: dict[str, list[float]] = {name: [] for name in configs}
    for r in range(rounds):
        for name in list(configs)[:: 1 if r % 2 == 0 else -1]:
            _, times = timed_fit(d2l, backend, batches, epochs, **configs[name])
            medians[name].append(statistics.median(times[1:] or times))
    print(json.dumps(medians), flush=True)


def _wait(backend: str) -> None:
    """Wait for the queued work of the epoch (MXNet's engine and JAX dispatch asynchronously)."""
    if backend == "mxnet":
        from mxnet import npx

        npx.waitall()
    elif backend == "jax":
        import jax

        jax.effects_barrier()


def _framework_threads(backend: str) -> int | None:
    """The compute threads the framework says it uses: PyTorch's intra-op threads; None for the others, which
    do not say (TensorFlow reports only what its API set, JAX and MXNet nothing)."""
    if backend == "torch":
        import torch

        return torch.get_num_threads()
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child_env(threads: int | None) -> dict[str, str]:
    """A child's environment: this checkout on the path, the frameworks' compute threads capped at ``threads``
    (None: their defaults), and no launch or budget variables of the caller's."""
    env = machine.capped(os.environ, threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TF_CONFIG", "D2LX_FAST_DEV_RUN"):
        env.pop(name, None)
    return env


def child_envs(backend: str, workers: int, num_gpus: int, threads: int | None) -> list[dict[str, str]]:
    """The environment of each process of one configuration (``workers`` 0: plain): one process, but PyTorch's
    ``workers`` > 1, a launch of that many; JAX's host devices asked for in ``XLA_FLAGS``, after the flags there."""
    env = _child_env(threads)
    if backend == "torch" and workers > 1:
        port = str(_free_port())
        return [
            dict(
                env, WORLD_SIZE=str(workers), RANK=str(r), LOCAL_RANK=str(r), MASTER_ADDR="127.0.0.1", MASTER_PORT=port
            )
            for r in range(workers)
        ]
    if backend == "jax" and workers > 1 and not num_gpus:
        return [dict(env, XLA_FLAGS=machine.xla_flags(env, f"--xla_force_host_platform_device_count={workers}"))]
    return [env]


def run(backend: str, workers: int, num_gpus: int, batches: int, epochs: int, threads: int | None) -> dict:
    """One configuration in fresh interpreters (one per process of a launch): rank 0's report, ``{"rate":
    examples per second, "threads": the framework's compute threads where it says, ...}``."""
    command = [sys.executable, __file__, "--child", backend, str(workers), str(num_gpus), str(batches), str(epochs)]
    envs = child_envs(backend, workers, num_gpus, threads)
    processes = [
        subprocess.Popen(command, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for e in envs
    ]
    results = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode:
            raise RuntimeError(f"{backend} with {workers} workers failed:\n{err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return next(r for r in results if r["rank"] == 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["torch", "jax", "tensorflow", "mxnet"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--num-gpus", type=int, default=0)
    parser.add_argument("--in-process", type=int, metavar="R", help="also the k=1 cost in one interpreter, R rounds")
    parser.add_argument("--threads", type=int, help="cap every framework's compute threads (default: theirs)")
    parser.add_argument("--out")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_process is not None and args.in_process < 1:
        parser.error(f"--in-process must be an int >= 1 (rounds of a plain and a k=1 fit), got {args.in_process}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be a positive int, got {args.threads}")
    if args.child:
        backend, *numbers = args.child
        if numbers[0] == "in-process":
            in_process(backend, *map(int, numbers[1:]))
        else:
            child(backend, *map(int, numbers))
        return
    meta = _meta(args, sys.argv[1:] if argv is None else argv)
    print(f"CPU: {meta['cpu']}; compute threads: {meta['threads']}", flush=True)
    table: dict = {"meta": meta}
    for backend in args.backends:
        configs = [0, *args.workers]  # 0: plain
        reports: dict[int, list[dict]] = {k: [] for k in configs}
        for _ in range(args.repeat):
            for k in configs:
                reports[k].append(run(backend, k, args.num_gpus, args.batches, args.epochs, args.threads))
        medians = {k: statistics.median(r["rate"] for r in v) for k, v in reports.items()}
        table[backend] = {"plain": medians[0], **{f"k={k}": medians[k] for k in args.workers}}
        seen = sorted({r["threads"] for v in reports.values() for r in v if r.get("threads") is not None})
        if seen:
            table[backend]["framework_threads"] = seen
        if args.in_process:
            command = [sys.executable, __file__, "--child", backend, "in-process", str(args.num_gpus),
                       str(args.batches), str(args.epochs), str(args.in_process)]  # fmt: skip
            done = subprocess.run(command, env=_child_env(args.threads), capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"{backend} in one process failed:\n{done.stderr[-2000:]}")
            seconds = json.loads(done.stdout.strip().splitlines()[-1])
            cost = statistics.median(seconds["k=1"]) / statistics.median(seconds["plain"]) - 1
            table[backend]["in_process_epoch_s"] = seconds
            print(f"{backend:10s} in one process, {args.in_process} rounds: k=1 path costs {cost:+.1%} "
                  f"(median epoch {statistics.median(seconds['plain']):.3f} s plain)", flush=True)  # fmt: skip
        cells = "  ".join(f"k={k}: {medians[k]:9.0f}" for k in args.workers)
        overhead = medians[0] / medians[1] - 1 if 1 in medians else float("nan")
        print(
            f"{backend:10s} examples/s  plain: {medians[0]:9.0f}  {cells}  k=1 path costs {overhead:+.1%}", flush=True
        )
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(table, f, indent=2)
        os.replace(tmp, args.out)


def _meta(args, argv: list[str]) -> dict:
    """What the numbers were measured on and with: the date, the command, the CPU, the commit, the threads."""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "command": " ".join(["python", "bench/scaling.py", *argv]),
        "cpu": machine.cpu_line(),
        "d2lx_commit": machine.git_commit(),
        "python": platform.python_version(),
        "threads": args.threads or "framework default",
        "num_gpus": args.num_gpus,
    }


if __name__ == "__main__":
    main()
