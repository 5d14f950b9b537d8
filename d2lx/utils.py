"""Small helpers the book uses everywhere: timing, running sums and seeding."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np

from d2lx import checks


class Timer:
    """Record several running times; ``start`` begins a lap, ``stop`` ends it and returns its seconds."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        self._started = time.perf_counter()

    def stop(self) -> float:
        self.times.append(time.perf_counter() - self._started)
        return self.times[-1]

    def avg(self) -> float:
        return sum(self.times) / len(self.times) if self.times else 0.0

    def sum(self) -> float:
        return sum(self.times)

    def cumsum(self) -> list[float]:
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """Sum ``n`` quantities at once, e.g. (correct predictions, examples seen)."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * checks.positive_int("n", n)

    def add(self, *args) -> None:
        if len(args) != len(self.data):
            raise ValueError(f"Accumulator.add expects {len(self.data)} values, got {len(args)}")
        self.data = [total + float(value) for total, value in zip(self.data, args)]

    def reset(self) -> None:
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


# --- seeding ----------------------------------------------------------------
# Backends register a hook that seeds their own generator (torch.manual_seed,
# mx.random.seed, ...) when they are imported, so the core stays framework-free.
_seed_hooks: list[Callable[[int], None]] = []
_generator: np.random.Generator | None = None
_init_generator: np.random.Generator | None = None
_last_seed: int | None = None


def register_seed_hook(hook: Callable[[int], None]) -> None:
    """Let a backend seed its framework's generator whenever ``set_seed`` is called."""
    if hook not in _seed_hooks:
        _seed_hooks.append(hook)
        if _last_seed is not None:
            hook(_last_seed)


def set_seed(seed: int) -> None:
    """Seed Python's, numpy's and every imported backend's random numbers.

    Data drawn by d2lx itself (the synthetic regression set, the minibatch
    order) then comes from one numpy generator, and the initial parameters of
    d2lx's models from a second one, so a run can be repeated exactly and the
    four backends start from the same numbers. Two streams keep parameter
    draws independent of when a backend happens to create its parameters.
    """
    global _generator, _init_generator, _last_seed
    seed = checks.non_negative_int("seed", seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    _generator = np.random.default_rng(seed)
    _init_generator = np.random.default_rng([seed, 1])
    _last_seed = seed
    for hook in _seed_hooks:
        hook(seed)


def numpy_rng() -> np.random.Generator:
    """The seeded generator after ``set_seed``; a fresh, unseeded one before."""
    return _generator if _generator is not None else np.random.default_rng()


def saved_streams() -> Callable[[], None]:
    """A function that puts d2lx's seeded streams (data and parameters) back where they are now, for
    work that may have to be done again: the retry then draws the same numbers, once."""
    saved = [(g, g.bit_generator.state) for g in (_generator, _init_generator) if g is not None]

    def restore() -> None:
        for generator, state in saved:
            generator.bit_generator.state = state

    return restore


def seeded_normal(shape: tuple[int, ...], sigma: float) -> np.ndarray | None:
    """Initial values ``N(0, sigma)`` as float32 from the seeded parameter stream, or ``None``.

    ``None`` (no ``set_seed`` yet) tells a backend to use its own random numbers.
    Shapes follow the book's scratch models: ``(num_inputs, num_outputs)``.
    """
    if _init_generator is None:
        return None
    return (_init_generator.standard_normal(shape, dtype=np.float32) * np.float32(sigma)).astype(np.float32)
