"""The book's own calls into framework APIs that changed since: kept working where a small shim is sound.

Policy (README, "When a framework changes under the book"):

* a shim covers exactly a call that the book's cells make, and lives in ``d2lx/<backend>/compat.py``
  as one ``Shim`` row: what it patches, the book's call, the release that changed it;
* it is **sound** only if it adds behaviour where today's release raises an error, so that code
  written for today's release runs exactly as before (``Sequential(layer)`` where Keras 3 says
  ``'Dense' object is not iterable``, ``x.device()`` where JAX says ``'Device' object is not
  callable``); a change that would alter what correct code gets today is not made, and the drift
  table in ``notebooks/README.md`` says why;
* a pure rename (``d2lx/renamed.py``) is the simplest kind of shim, installed with the others.

Everything is installed when the backend is imported (``from d2lx import jax as d2l``), so a switch
works only when set before that import, in the environment: ``D2LX_COMPAT=0`` leaves every framework
untouched, the renames included; ``D2LX_RENAMED_ALIASES=0`` (older) turns off only the renames.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from d2lx import checks, renamed

ENV_VAR = "D2LX_COMPAT"


@dataclass(frozen=True)
class Shim:
    """One patch: ``install()`` applies it if the framework still lacks the behaviour; returns whether it did."""

    backend: str
    patches: str  # what it patches, as the reader would call it: "jax.Device.__call__"
    book: str  # the book's call it keeps working, and where
    changed_in: str  # the release that broke that call
    install: Callable[[], bool]


def wanted() -> bool:
    """Whether the user lets d2lx install its shims (the default)."""
    return checks.env_flag(ENV_VAR) is not False


def install(backend: str) -> list[str]:
    """Install ``backend``'s renamed aliases and the shims of ``d2lx.<backend>.compat``.

    Returns what was patched (``"jax.tree_map"``, ``"jax.Device.__call__"``, ...); none when
    ``D2LX_COMPAT=0``.
    """
    if not wanted():
        return []
    installed = renamed.restore(backend)
    for shim in importlib.import_module(f"d2lx.{backend}.compat").SHIMS:
        if shim.install():
            installed.append(shim.patches)
    return installed


def mark(function: Callable, original: Callable | None = None) -> Callable:
    """Tag a replacement so that a second ``install`` (a reloaded backend) leaves it alone."""
    function._d2lx_compat = True
    if original is not None:
        function.__wrapped__ = original
    return function


def is_marked(function: object) -> bool:
    return getattr(function, "_d2lx_compat", False) is True
