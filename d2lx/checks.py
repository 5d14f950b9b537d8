"""Argument checks that turn a user's mistake into one readable sentence.

A learner who passes ``batch_size=0`` should read
``ValueError: batch_size must be a positive int, got 0`` rather than a
traceback from deep inside a framework.
"""

from __future__ import annotations

import numbers
from typing import Any


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return f"{text} ({type(value).__name__})"
    return text


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 1, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {_describe(value)}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 0, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative int, got {_describe(value)}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value}")
    return int(value)


def non_negative_number(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a real number >= 0, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a non-negative number, got {_describe(value)}")
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be a non-negative number, got {value}")
    return float(value)


def positive_number(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a real number > 0, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {_describe(value)}")
    if not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value}")
    return float(value)


def probability(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a real number in [0, 1], else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1], got {_describe(value)}")
    if not 0 <= value <= 1:  # also rejects NaN
        raise ValueError(f"{name} must be a number in [0, 1], got {value}")
    return float(value)


# The book's hyperparameter names and what each must be, for ``hyperparameters`` below.
_RULES = {
    "num_inputs": positive_int,
    "num_outputs": positive_int,
    "num_hiddens": positive_int,
    "num_hiddens_1": positive_int,
    "num_hiddens_2": positive_int,
    "lr": positive_number,
    "sigma": non_negative_number,
    "lambd": non_negative_number,
    "wd": non_negative_number,
    "dropout_1": probability,
    "dropout_2": probability,
}


def hyperparameters(values: dict[str, Any]) -> None:
    """Check each of ``values`` (a model's ``hparams``) whose name the book uses, by that name's rule.

    One call per model (``checks.hyperparameters(self.hparams)``) gives every
    backend the same messages, e.g. ``dropout_1 must be a number in [0, 1], got 1.5``.
    """
    for name, value in values.items():
        rule = _RULES.get(name)
        if rule is not None:
            rule(name, value)


def image_size(name: str, value: Any) -> tuple[int, int]:
    """Return ``value`` as ``(height, width)`` if it is two positive ints, else raise naming ``name``."""
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in value)
    )
    if not ok:
        raise ValueError(f"{name} must be two positive ints (height, width), got {_describe(value)}")
    return int(value[0]), int(value[1])


def matching_features(model: Any, num_inputs: int, shape: Any) -> None:
    """Raise a ValueError if examples of ``shape`` (a batch: rows first) do not have ``num_inputs`` features.

    Backend-free: it reads only the batch's ``shape``, so it also works while a framework traces shapes.
    """
    dims = tuple(int(d) for d in shape)
    features = 1
    for d in dims[1:] if len(dims) > 1 else dims:
        features *= d
    if features != num_inputs:
        raise ValueError(
            f"{type(model).__name__}(num_inputs={num_inputs}) got examples with {features} features "
            f"(X of shape {dims}); num_inputs must match the data (e.g. len(w))"
        )
