"""Execute every notebook of one backend top to bottom in a fresh kernel; fail on any cell error.

``python notebooks/run.py torch`` (the nox session ``notebooks-torch`` does this in the torch
environment). Each notebook runs in its own folder, offline, with this interpreter as the kernel.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent


def register_kernel(name: str) -> None:
    """Make this interpreter a Jupyter kernel called ``name`` (inside the current environment)."""
    subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", name],
        check=True,
        capture_output=True,
    )


def run_notebook(path: Path, kernel: str, timeout: int) -> float:
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
    args = parser.parse_args()
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
            seconds = run_notebook(path, kernel, args.timeout)
        except nbclient.exceptions.CellExecutionError as err:
            failures += 1
            print(f"FAILED {path.relative_to(HERE)}\n{err}", file=sys.stderr)
            continue
        print(f"ok {path.relative_to(HERE)} ({seconds:.1f} s)", flush=True)
    print(f"{len(notebooks) - failures}/{len(notebooks)} notebooks ran cleanly")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
