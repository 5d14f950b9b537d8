"""Import TensorFlow without its start-up chatter, keeping its warnings and errors.

On import, TensorFlow 2.21 writes INFO lines from C++ ("oneDNN custom operations
are on ...", "This TensorFlow binary is optimized to use available CPU
instructions ..."), some of them before its logging is set up, where
``TF_CPP_MIN_LOG_LEVEL`` does not reach. Unless the user has set
``TF_CPP_MIN_LOG_LEVEL`` (then they get exactly what they asked for), d2lx sets
it to 1 (no INFO; warnings and errors stay) and, while TensorFlow is imported,
sends standard error through a filter that drops only absl's INFO lines and its
"before InitializeLog" banner. Every other line is forwarded as it arrives, so
what an import prints before failing or crashing is still seen.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# "I0000 00:00:1795433647.349098    6040 port.cc:153] ..." and absl's note that precedes early log lines.
_DROPPED = re.compile(rb"^(I\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] |WARNING: All log messages before absl::InitializeLog\(\))")


def _forward(read_end: int, target: int) -> None:
    """Copy lines from ``read_end`` to ``target`` until end of file, leaving out absl's INFO lines."""
    with os.fdopen(read_end, "rb") as pipe:
        for line in pipe:
            if _DROPPED.match(line):
                continue
            try:
                while line:
                    line = line[os.write(target, line) :]
            except OSError:  # the real standard error went away: nothing left to show
                return


def import_quietly(load: Callable[[], T]) -> T:
    """Run ``load()`` (which imports TensorFlow) with absl's INFO lines filtered out of file descriptor 2."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:  # the user's choice; or too late
        return load()
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "1"
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to filter
        return load()
    read_end, write_end = os.pipe()
    pump = threading.Thread(target=_forward, args=(read_end, saved), name="d2lx-tf-stderr", daemon=True)
    pump.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        return load()
    finally:
        os.dup2(saved, 2)  # drops the pipe's last writer: the pump reads to the end and stops
        pump.join(timeout=2)
        if not pump.is_alive():  # else a child process still holds the pipe: leave the pump its target
            os.close(saved)
