"""What the benchmarks that measure in fresh interpreters (``bench.py``, ``scaling.py``) share about the machine:
the line naming the CPU a result was measured on, the commit measured, and the environment that caps every
framework's compute threads in the children.

A script imports it as ``machine`` (Python puts the script's folder, ``bench/``, first on the path).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def capped(env: Mapping[str, str], threads: int | None) -> dict[str, str]:
    """``env`` with every framework's compute threads capped at ``threads`` (None: left as it is), by the caps
    d2lx gives its test workers and notebook kernels (``d2lx.backends.thread_caps``: OpenMP's, MKL's and
    OpenBLAS's threads, MXNet's engine, TensorFlow's two pools, and JAX's flag added to those in ``XLA_FLAGS``).
    The benchmark's option wins over thread variables ``env`` already sets; a child started with the result
    inherits the cap."""
    if not threads:
        return dict(env)
    registry = _registry()
    rest = {name: value for name, value in env.items() if name not in registry.THREAD_VARIABLES}
    return {**rest, **registry.thread_caps(threads, environ=rest)}


def xla_flags(env: Mapping[str, str], *flags: str) -> str:
    """``env``'s ``XLA_FLAGS`` with ``flags`` after them (XLA takes the last value a flag is given)."""
    return " ".join(filter(None, [env.get("XLA_FLAGS", "").strip(), *flags]))


@functools.cache
def _registry():
    """d2lx's backend registry, ``d2lx/backends.py``, read by its file path as ``bench.py`` reads it (it imports
    the standard library only; importing the d2lx package would load numpy)."""
    spec = importlib.util.spec_from_file_location("d2lx_backends", REPO / "d2lx" / "backends.py")
    registry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(registry)
    return registry


def read(path: str) -> str:
    """A text file's contents ("" where it cannot be read, as ``/proc`` off Linux)."""
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpuinfo_field(cpuinfo: str, name: str) -> str | None:
    """The value of the first ``name`` line of ``/proc/cpuinfo``'s text (None where there is none)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def cpu_line(cpuinfo: str | None = None, cores: int | None = None) -> str:
    """The CPU's model, its cores and the vector extensions that decide which kernels the frameworks run,
    from ``/proc/cpuinfo`` (``cpuinfo``: its text; read here when None), for instance
    ``AMD EPYC, 2 cores; AVX-512: yes (avx512f, avx512bw, ...); AVX2: yes; FMA: yes; AMX: no``.

    The same workload's ratio to a hand-written loop differed by 2x between two 2-core machines of the
    same provider (issue 34: MXNet's uint8 conversion), so every result names the CPU it was measured on.
    """
    cpuinfo = read("/proc/cpuinfo") if cpuinfo is None else cpuinfo
    model = cpuinfo_field(cpuinfo, "model name") or platform.processor() or "unknown CPU"
    flags = (cpuinfo_field(cpuinfo, "flags") or "").split()
    if not flags:
        return f"{model}, {cores or os.cpu_count()} cores; vector extensions unknown (no flags in /proc/cpuinfo)"
    avx512 = [flag for flag in flags if flag.startswith("avx512")]
    amx = [flag for flag in flags if flag.startswith("amx")]
    parts = [
        f"AVX-512: yes ({', '.join(avx512)})" if avx512 else "AVX-512: no",
        f"AVX2: {'yes' if 'avx2' in flags else 'no'}",
        f"FMA: {'yes' if 'fma' in flags else 'no'}",
        f"AMX: yes ({', '.join(amx)})" if amx else "AMX: no",
    ]
    return f"{model}, {cores or os.cpu_count()} cores; " + "; ".join(parts)


def git_commit() -> str | None:
    """The checkout's short commit, with ``+changes`` where tracked files differ from it (None without git)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if head.returncode == 0 else None
