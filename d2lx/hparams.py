"""Patching classes after the fact and remembering constructor arguments.

The book grows its classes one notebook cell at a time (`@d2l.add_to_class`) and
lets every constructor store its own arguments with one call
(`self.save_hyperparameters()`). Both live here, once, for all backends.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def add_to_class(Class: type) -> Callable[[F], F]:
    """Register the decorated function as an attribute of ``Class``.

    A method defined in a later cell replaces (or adds) the method of the
    class, so every existing and future instance sees it. The function is
    returned unchanged so the name stays usable in the notebook.
    """
    if not isinstance(Class, type):
        raise TypeError(f"add_to_class expects a class, got {Class!r} of type {type(Class).__name__}")

    def register(obj: F) -> F:
        setattr(Class, obj.__name__, obj)
        return obj

    return register


def _caller_arguments(frame) -> dict[str, Any]:
    """The named arguments (positional, keyword-only, *args, **kwargs) of ``frame``'s function."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    names = code.co_varnames[:count]
    return {name: frame.f_locals[name] for name in names if name in frame.f_locals}


class HyperParameters:
    """Base class whose ``save_hyperparameters`` turns ``__init__`` arguments into attributes."""

    def save_hyperparameters(self, ignore: Iterable[str] = ()) -> None:
        """Store the calling function's arguments as attributes and in ``self.hparams``.

        Arguments named in ``ignore``, ``self`` and names starting with ``_``
        are left out, as in d2l 1.0.
        """
        if isinstance(ignore, str):
            ignore = [ignore]
        frame = inspect.currentframe().f_back
        try:
            arguments = _caller_arguments(frame)
        finally:
            del frame
        skip = set(ignore) | {"self"}
        self.hparams = {k: v for k, v in arguments.items() if k not in skip and not k.startswith("_")}
        for name, value in self.hparams.items():
            setattr(self, name, value)
