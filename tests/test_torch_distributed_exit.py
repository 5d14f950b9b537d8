"""PyTorch-only: a process group that d2lx joins lets gloo's worker threads finish before Python exits
(``d2lx/torch/distributed.py``, ``_let_gloo_workers_finish``)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

pytest.importorskip("torch")
from test_distributed import _env  # noqa: E402

from d2lx.torch import distributed as ddp  # noqa: E402


def test_a_process_lets_gloos_workers_finish_before_python_exits():
    """Joining the process group registers an exit hook that lets go of the GIL (d2lx/torch/distributed.py):
    without it, a gloo worker thread that still has to drop the last collective's tensors is cancelled as
    Python finalizes and the process aborts (exit -6) after its training finished. The hook is shown to let a
    thread that waits for the GIL run; without a release that thread would wait (the switch interval is
    longer than the test), and in a fresh process ``join`` registers it exactly once."""
    gate, ran = threading.Lock(), []
    gate.acquire()

    def waiter():
        with gate:  # blocked without the GIL; once the gate opens it needs the GIL to go on
            ran.append(True)

    thread, interval = threading.Thread(target=waiter), sys.getswitchinterval()
    thread.start()
    try:
        sys.setswitchinterval(60)  # this thread keeps the GIL unless it lets go of it
        gate.release()
        assert ran == []
        ddp._let_gloo_workers_finish()
        assert ran == [True]
    finally:
        sys.setswitchinterval(interval)
        thread.join()
    script = (
        "import atexit\nfrom d2lx.torch import distributed as ddp\nbefore = atexit._ncallbacks()\n"
        "ddp.join(use_gpu=False)\nprint(atexit._ncallbacks() - before)\nddp.join(use_gpu=False)\n"
        "print(atexit._ncallbacks() - before)"
    )
    out = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1"]  # the second join finds the group and registers nothing
