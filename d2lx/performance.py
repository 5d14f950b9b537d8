"""Chapter 13 of the 1.0 edition (computational performance): what reads the same on every framework.

``Benchmark`` times a block of code and prints it; ``shard_bounds`` is the arithmetic of
``split_batch``, which every backend uses to cut a minibatch into one shard per device; the checks of
``split_batch`` and ``train_batch_ch13`` and the accuracy over shards (``evaluate_accuracy_gpus``) are
written here once, so a mistake gives the same message on every backend.

How a batch is split: ``n`` examples over ``k`` devices give shards of ``n // k`` examples, the first
``n % k`` of them one more (as ``numpy.array_split`` does): 10 examples over 3 devices are 4, 3 and 3.
Every device gets at least one example, so a batch smaller than the number of devices is an error.
The book's PyTorch code uses ``nn.parallel.scatter`` instead, which works only on CUDA devices and cuts
``torch.chunk``-style: 5 examples over 4 GPUs give 3 shards of 2, 2 and 1, and the fourth GPU nothing.
MXNet's ``split_and_load`` refuses a batch that does not divide evenly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from d2lx import checks
from d2lx.functional import _no_examples, accuracy
from d2lx.utils import Accumulator, Timer


class Benchmark:
    """For measuring running time: ``with Benchmark('name'): ...`` prints ``name: 0.1234 sec`` at the end.

    The framework may still be computing when the block ends (MXNet, and PyTorch and JAX on a GPU, run
    asynchronously): the book's cells end the block with a barrier (``npx.waitall()``,
    ``torch.cuda.synchronize()``, ``block_until_ready()``) so that the time is that of the work.
    """

    def __init__(self, description: str = "Done") -> None:
        if not isinstance(description, str):
            raise TypeError(f"Benchmark(description): description must be a str, got {checks._describe(description)}")
        self.description = description

    def __enter__(self) -> Benchmark:
        self.timer = Timer()
        return self

    def __exit__(self, *args: Any) -> None:
        print(f"{self.description}: {self.timer.stop():.4f} sec")


def _check_devices(function: str, devices: Any) -> list:
    if isinstance(devices, (str, bytes)) or not isinstance(devices, Sequence) or len(devices) == 0:
        raise ValueError(
            f"{function}: devices must be a non-empty list of devices (e.g. d2l.try_all_gpus()), "
            f"got {checks._describe(devices)}"
        )
    return list(devices)


def shard_bounds(num_examples: int, num_devices: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each device's shard of ``num_examples`` examples: ``num_examples // num_devices``
    each, the first ``num_examples % num_devices`` shards one more."""
    if num_examples < num_devices:
        raise ValueError(
            f"split_batch: a batch of {num_examples} examples cannot be split over {num_devices} devices "
            f"(each device needs at least one example); use a batch of at least {num_devices} examples"
        )
    size, extra = divmod(num_examples, num_devices)
    bounds, start = [], 0
    for i in range(num_devices):
        stop = start + size + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def split_bounds(X: Any, y: Any, devices: Any) -> list[tuple[int, int]]:
    """``split_batch``'s checks (``X`` and ``y`` hold as many examples; ``devices`` is a non-empty list)
    and the bounds of each device's shard."""
    devices = _check_devices("split_batch", devices)
    num_X, num_y = int(X.shape[0]), int(y.shape[0])
    if num_X != num_y:
        raise ValueError(
            f"split_batch: X and y must hold the same number of examples, got X with {num_X} and y with {num_y}"
        )
    return shard_bounds(num_X, len(devices))


def check_devices(function: str, devices: Any) -> list:
    """``devices`` as a list, or an error naming ``function`` if it is not a non-empty list of devices."""
    return _check_devices(function, devices)


def _num_examples(y: Any) -> int:
    size = 1
    for d in y.shape:
        size *= int(d)
    return size


def accuracy_over_shards(
    predict: Callable[[Any, int], Any], data_iter: Iterable, split_f: Callable, devices: list
) -> float:
    """The accuracy over ``data_iter``, each batch split with ``split_f(X, y, devices)`` and shard ``i``
    predicted by ``predict(X_shard, i)``, as the book's ``evaluate_accuracy_gpus`` does."""
    metric = Accumulator(2)  # correct predictions, examples
    for X, y in data_iter:
        X_shards, y_shards = split_f(X, y, devices)
        pairs = enumerate(zip(X_shards, y_shards))
        correct = sum(accuracy(predict(X_shard, i), y_shard) for i, (X_shard, y_shard) in pairs)
        metric.add(correct, _num_examples(y))
    if not metric[1]:
        raise _no_examples("data_iter")
    return metric[0] / metric[1]
