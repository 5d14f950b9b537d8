"""What the memory benchmarks (``model_memory.py``, ``data_pipeline.py``) share: this process's resident
memory now and at its peak, and running a measurement in a fresh interpreter, so that each peak is its own.

A script imports it as ``memory`` (Python puts the script's folder, ``bench/``, first on the path).
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    """This process's resident memory now, in MiB (Linux's ``/proc``; NaN elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_mib() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(script: str, arguments: list[str]) -> int:
    """Run ``script --child arguments`` in a fresh interpreter from the repository's root and print the last
    line of its output (the measurement's JSON); on a failure, its error output. Returns its exit status."""
    command = [sys.executable, script, "--child", *arguments]
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if out.returncode:
        print(out.stderr, file=sys.stderr)
        return out.returncode
    print(out.stdout.strip().splitlines()[-1], flush=True)
    return 0
