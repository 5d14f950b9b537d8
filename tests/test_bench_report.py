"""What ``bench/bench.py`` reports beside its numbers: the CPU they were measured on (issue 34; the line comes from
``bench/machine.py``, which ``scaling.py`` records too), and the targets, whole fits included. No framework is
imported, and nothing is timed."""

from __future__ import annotations

import sys

import pytest
from helpers import bench_module, unload_bench_modules

ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni
"""
SAPPHIRE_RAPIDS = """model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: sse2 avx avx2 fma avx512f avx512_fp16 amx_bf16 amx_tile
"""
BROADWELL = """model name\t: Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz
flags\t\t: sse2 avx avx2 fma
"""


@pytest.fixture
def bench():
    yield bench_module("bench")
    unload_bench_modules()


@pytest.fixture
def machine():
    yield bench_module("machine")
    sys.modules.pop("machine", None)


@pytest.mark.parametrize(
    ("cpuinfo", "line"),
    [
        (
            ZEN4,
            "AMD EPYC, 2 cores; AVX-512: yes (avx512f, avx512dq, avx512bw, avx512vl, avx512_bf16, avx512_vnni); "
            "AVX2: yes; FMA: yes; AMX: no",
        ),
        (
            SAPPHIRE_RAPIDS,
            "Intel(R) Xeon(R) Platinum 8480+, 2 cores; AVX-512: yes (avx512f, avx512_fp16); AVX2: yes; "
            "FMA: yes; AMX: yes (amx_bf16, amx_tile)",
        ),
        (BROADWELL, "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz, 2 cores; AVX-512: no; AVX2: yes; FMA: yes; AMX: no"),
        ("model name\t: Some CPU\n", "Some CPU, 2 cores; vector extensions unknown (no flags in /proc/cpuinfo)"),
    ],
    ids=["avx512", "amx", "no-avx512", "no-flags"],
)
def test_the_cpu_line_names_the_model_and_whether_it_has_avx_512(machine, cpuinfo, line):
    assert machine.cpu_line(cpuinfo, cores=2) == line


def _result(bench, cpu: str | None) -> dict:
    """A result as ``measure`` returns it: one softmax run of d2lx and one of the hand-written loop."""
    runs = [
        {"lib": "d2lx", "workload": "softmax", "epoch_s": [0.9, 0.3, 0.3], "fit_s": 1.4, "load": 1.0},
        {"lib": "hand", "workload": "softmax", "epoch_s": [0.5, 0.3, 0.3], "fit_s": 1.0, "load": 1.0},
    ]
    meta = {"backend": "mxnet", "framework_version": "1.9.1", "repeat": 1, "tiny": False,
            "load_1min": {"min": 1.0, "max": 1.0}, "settings": bench.SETTINGS["book"]}  # fmt: skip
    if cpu is not None:
        meta["cpu"] = cpu
    return {"meta": meta, "runs": runs, "summary": bench.summarize(runs)}


def test_the_table_names_the_cpu_and_holds_the_whole_fit_to_its_target(bench):
    text = bench.table(_result(bench, "AMD EPYC, 2 cores; AVX-512: yes (avx512f); AVX2: yes; FMA: yes; AMX: no"))
    lines = text.splitlines()
    assert lines[:3] == [
        "## mxnet 1.9.1: median of 1 runs, 1-minute load 1.0-1.0",
        "",
        "CPU: AMD EPYC, 2 cores; AVX-512: yes (avx512f); AVX2: yes; FMA: yes; AMX: no",
    ]
    assert "| softmax regression fit, 10 epochs (s) | 1.40 | 1.00 | - | 1.40x |" in lines
    assert "- softmax epoch_s: d2lx/hand = 1.00 (target <= 1.3): met" in lines
    assert "- softmax fit_s: d2lx/hand = 1.40 (target <= 1.3): MISSED" in lines
    assert bench.table(_result(bench, None)).splitlines()[2] == "CPU: not recorded"  # a result from before
