"""``gpu(i)`` and ``try_gpu(i)`` on every backend: a bad index, or a GPU that does not exist, gets one
sentence, the same everywhere (MXNet and PyTorch would hand back a device that fails only when used,
TensorFlow's scope would silently put the work on the CPU); ``try_gpu`` falls back to the CPU."""

from __future__ import annotations

import pytest

_INDEX = "must be a non-negative int (a GPU's index), got"


@pytest.mark.parametrize(
    ("i", "error", "got"),
    [(-1, ValueError, "-1"), (1.5, TypeError, "1.5"), ("0", TypeError, "'0' (str)"), (True, TypeError, "True (bool)"),
     (None, TypeError, "None (NoneType)")],
)  # fmt: skip
def test_a_bad_gpu_index_is_named(backend, i, error, got):
    for function in ("gpu", "try_gpu"):
        with pytest.raises(error) as info:
            getattr(backend, function)(i)
        assert str(info.value) == f"{function}(i): i {_INDEX} {got}"


def test_gpu_of_a_gpu_that_does_not_exist_is_an_error_and_try_gpu_falls_back(backend):
    count = backend.num_gpus()
    gpus = "GPU" if count == 1 else "GPUs"
    for i in (count, count + 98):
        with pytest.raises(ValueError) as info:
            backend.gpu(i)
        assert str(info.value) == (
            f"gpu(i): there is no GPU {i}, this machine has {count} {gpus}; d2l.try_gpu({i}) falls back to the CPU"
        )
        assert _name(backend.try_gpu(i)) == _name(backend.cpu())
    expected = [_name(backend.gpu(i)) for i in range(count)] or [_name(backend.cpu())]
    assert [_name(d) for d in backend.try_all_gpus()] == expected
    if count:  # on a GPU machine: every index that exists is a device, the same from gpu and try_gpu
        assert _name(backend.gpu(count - 1)) == _name(backend.try_gpu(count - 1))


def test_tensorflow_work_under_a_missing_gpu_stops_before_it_starts(backend):
    """On TensorFlow ``with d2l.gpu(99):`` used to run the block on the CPU without a word."""
    ran = []
    with pytest.raises(ValueError, match=r"^gpu\(i\): there is no GPU 99, "):
        with backend.gpu(99):
            ran.append(backend.ones((2,)))
    assert ran == []


def _name(device) -> str:
    """A device's printable identity (TensorFlow's devices are scopes, which do not compare)."""
    return str(getattr(device, "_device_name", device))
