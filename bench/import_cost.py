"""What ``from d2lx import <backend> as d2l`` adds to importing the framework (issue 21: at most 0.3 s).

    PYTHONPATH=. python bench/import_cost.py --backend torch [--repeat 7] [--importtime] [--out FILE.json]

The baseline is the framework as the book's first cells import it (``import torch``, ``from torch
import nn``...; on JAX also Flax and Optax, which the book's cells import anyway, so they do not count
against d2lx); the other side is the same lines followed by ``from d2lx import <backend> as d2l``.
Each measurement is a fresh interpreter timing its own import statements (the interpreter's start
and exit are the same on both sides, and left out). The two sides take turns, after one unmeasured
run of each (the disk cache, ``__pycache__``, Matplotlib's font cache); the added seconds are the
difference of the medians, with the median of the run-by-run differences beside it, and the added
CPU time (``time.process_time``, all threads), which other jobs on a shared machine disturb less
than the clock. The verdict is on the clock, as the issue states the bar.

When the bar is missed (or with ``--importtime``), ``python -X importtime`` names where the added
time goes: the packages that d2lx's modules import and the framework had not (with what each pulls
in), and d2lx's own modules (their own code).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BAR_S = 0.3  # issue 21
FIRST_CELL = {  # the framework as the book's cells import it
    "torch": ["import torch", "from torch import nn", "from torch.nn import functional as F"],
    "mxnet": ["from mxnet import autograd, gluon, init, np, npx", "from mxnet.gluon import nn", "npx.set_np()"],
    "jax": ["import jax", "from jax import numpy as jnp", "from flax import linen as nn", "import optax"],
    "tensorflow": ["import tensorflow as tf"],
}
TIMED = (
    "import time\n_start, _cpu = time.perf_counter(), time.process_time()\n{lines}\n"
    "print(time.perf_counter() - _start, time.process_time() - _cpu)\n"
)


def _lines(backend: str, with_d2lx: bool) -> list[str]:
    return FIRST_CELL[backend] + ([f"from d2lx import {backend} as d2l"] if with_d2lx else [])


def _env() -> dict:
    """The children's environment: this checkout first on the path, the frameworks' start-up logs quiet."""
    path = [str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path), TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")


def timed_import(backend: str, with_d2lx: bool, cwd: str) -> tuple[float, float]:
    """Seconds of the import lines in a fresh interpreter: on the clock, and of CPU (all its threads)."""
    code = TIMED.format(lines="\n".join(_lines(backend, with_d2lx)))
    done = subprocess.run(
        [sys.executable, "-c", code], env=_env(), cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"error: the import failed:\n{done.stderr.strip()}")
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def measure(backend: str, repeat: int) -> dict:
    """``repeat`` runs of each side, taking turns (base first on even runs), after one unmeasured run of each."""
    with tempfile.TemporaryDirectory(prefix="d2lx-import-") as cwd:
        timed_import(backend, False, cwd)
        timed_import(backend, True, cwd)
        runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for r in range(repeat):
            for side in (False, True) if r % 2 == 0 else (True, False):
                runs[side].append(timed_import(backend, side, cwd))
    base, with_d2lx = ([wall for wall, _ in runs[side]] for side in (False, True))
    base_cpu, with_cpu = ([cpu for _, cpu in runs[side]] for side in (False, True))
    added = statistics.median(with_d2lx) - statistics.median(base)
    paired = statistics.median(w - b for w, b in zip(with_d2lx, base))
    return {
        "backend": backend,
        "python": sys.version.split()[0],
        "baseline_lines": FIRST_CELL[backend],
        "repeat": repeat,
        "load_1min": os.getloadavg()[0],
        "base_s": base,
        "with_d2lx_s": with_d2lx,
        "base_median_s": statistics.median(base),
        "with_d2lx_median_s": statistics.median(with_d2lx),
        "added_s": added,
        "added_paired_median_s": paired,
        "base_cpu_s": base_cpu,
        "with_d2lx_cpu_s": with_cpu,
        "added_cpu_s": statistics.median(with_cpu) - statistics.median(base_cpu),
        "bar_s": BAR_S,
        "met": added <= BAR_S,
    }


def _importtime(backend: str, with_d2lx: bool, cwd: str) -> dict[str, dict]:
    """``python -X importtime`` of one side: each module's own and cumulative microseconds, and the
    module whose import imported it (the lines list a module after the ones it pulled in, one level
    deeper)."""
    code = "\n".join(_lines(backend, with_d2lx))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=_env(), cwd=cwd, capture_output=True, text=True
    )
    modules: dict[str, dict] = {}
    waiting: dict[int, list[str]] = {}  # depth -> modules whose importer is not listed yet
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|")
        depth, module = (len(name) - len(name.lstrip(" "))) // 2, name.strip()
        for child in waiting.pop(depth + 1, []):
            modules[child]["importer"] = module
        modules[module] = {"own_us": int(own), "cumulative_us": int(cumulative), "importer": None}
        waiting.setdefault(depth, []).append(module)
    return modules


def d2lx_side(backend: str, top: int = 10) -> dict:
    """Where the added time goes: the packages that d2lx's modules import and the framework had not
    (with what each pulls in), and d2lx's own modules (their own code), the largest first."""
    with tempfile.TemporaryDirectory(prefix="d2lx-import-") as cwd:
        _importtime(backend, True, cwd)  # unmeasured: caches
        base = _importtime(backend, False, cwd)
        full = _importtime(backend, True, cwd)
    added = {name: info for name, info in full.items() if name not in base}

    def is_d2lx(name: str | None) -> bool:
        return bool(name) and (name == "d2lx" or name.startswith("d2lx."))

    pulled_in = [
        {"module": name, "imported_by": info["importer"], "cumulative_s": info["cumulative_us"] / 1e6}
        for name, info in added.items()
        if not is_d2lx(name) and is_d2lx(info["importer"])
    ]
    own = [{"module": name, "own_s": info["own_us"] / 1e6} for name, info in added.items() if is_d2lx(name)]
    return {
        "modules": len(added),
        "added_own_total_s": sum(info["own_us"] for info in added.values()) / 1e6,
        "d2lx_own_total_s": sum(row["own_s"] for row in own),
        "pulled_in_by_d2lx": sorted(pulled_in, key=lambda row: -row["cumulative_s"])[:top],
        "d2lx_modules_by_own": sorted(own, key=lambda row: -row["own_s"])[:top],
    }


def report(result: dict) -> str:
    lines = [
        f"## import cost, {result['backend']} (Python {result['python']}, median of {result['repeat']}, "
        f"1-minute load {result['load_1min']:.1f})",
        "",
        f"- baseline `{'; '.join(result['baseline_lines'])}`: {result['base_median_s']:.3f} s",
        f"- the same, then `from d2lx import {result['backend']} as d2l`: {result['with_d2lx_median_s']:.3f} s",
        f"- added: **{result['added_s']:.3f} s** (median of the run-by-run differences: "
        f"{result['added_paired_median_s']:.3f} s); bar <= {result['bar_s']} s: "
        + ("met" if result["met"] else "MISSED"),
        f"- added CPU time (all threads; less sensitive to other load than the clock): {result['added_cpu_s']:.3f} s",
    ]
    why = result.get("importtime")
    if why:
        lines += [
            "",
            f"`-X importtime`: {why['modules']} modules only on the d2lx side, {why['added_own_total_s']:.3f} s of "
            f"code in all, {why['d2lx_own_total_s']:.3f} s of it d2lx's own modules.",
            "Packages that d2lx imports and the framework had not (importer; cumulative, with what each pulls in):",
            *[f"  - {r['module']} ({r['imported_by']}): {r['cumulative_s']:.3f} s" for r in why["pulled_in_by_d2lx"]],
            "d2lx's own modules (their own code):",
            *[f"  - {r['module']}: {r['own_s']:.3f} s" for r in why["d2lx_modules_by_own"]],
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(FIRST_CELL), required=True)
    parser.add_argument("--repeat", type=int, default=7, help="runs of each side (default 7; at least 5)")
    parser.add_argument("--importtime", action="store_true", help="name the d2lx-side costs even when the bar holds")
    parser.add_argument("--out", help="write the numbers as JSON to this file")
    args = parser.parse_args(argv)
    if args.repeat < 5:
        parser.error(f"--repeat must be at least 5, got {args.repeat}")
    result = measure(args.backend, args.repeat)
    if args.importtime or not result["met"]:
        result["importtime"] = d2lx_side(args.backend)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
