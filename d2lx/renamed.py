"""The book's calls to framework functions that were only renamed since: the old names, restored.

Policy (README, "When a framework changes under the book"):

* a **pure rename** (same function, same arguments, new name) of a function the book's cells call
  is undone when the backend is imported: the old name becomes an alias of the new one, on the
  framework's own module, only where the framework no longer has it. The table below lists each
  alias with the release that removed the old name.
* anything that is **not** a pure rename is a shim (``d2lx/compat.py``, which installs these aliases
  with its shims) where one is sound, and otherwise the notebooks show the working call and
  ``notebooks/README.md`` says why the book's call cannot work.

Set ``D2LX_COMPAT=0`` (every shim) or ``D2LX_RENAMED_ALIASES=0`` (these aliases only) before
importing a backend to keep the frameworks untouched (as ``D2LX_PANDAS_OBJECT_STRINGS=0`` does for
pandas, see ``pandas_compat.py``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from d2lx import checks

ENV_VAR = "D2LX_RENAMED_ALIASES"


@dataclass(frozen=True)
class Renamed:
    """``module.old`` is what the book calls; ``module.new`` (a dotted path below ``module``) is the same
    function today."""

    backend: str
    module: str
    old: str
    new: str
    removed_in: str
    book: str  # where the book calls it


RENAMED: tuple[Renamed, ...] = (
    Renamed(
        backend="jax",
        module="optax",
        old="additive_weight_decay",
        new="add_decayed_weights",
        removed_in="Optax 0.1.8 (January 2024; an alias without warning before)",
        book="3.7 weight decay, JAX: optax.chain(optax.additive_weight_decay(self.wd), optax.sgd(self.lr))",
    ),
    Renamed(
        backend="jax",
        module="jax",
        old="tree_map",
        new="tree_util.tree_map",
        removed_in="JAX 0.6.0 (April 2025; deprecated since 0.4.26)",
        book="the JAX tab's pytree maps in revisions of the book before jax.tree_util.tree_map "
        "(jax.tree_map(lambda x: x.shape, params))",
    ),
)


def wanted() -> bool:
    """Whether the user lets d2lx restore renamed functions (the default)."""
    return checks.env_flag(ENV_VAR) is not False


def restore(backend: str) -> list[str]:
    """Give back, as aliases, the old names of ``backend``'s table rows that its framework has dropped.

    Returns the aliases set (``"optax.additive_weight_decay"``, ...); none when the user opted out.
    """
    if not wanted():
        return []
    restored = []
    for row in RENAMED:
        if row.backend != backend:
            continue
        module = importlib.import_module(row.module)
        new = _lookup(module, row.new)
        if not hasattr(module, row.old) and new is not None:
            setattr(module, row.old, new)
            restored.append(f"{row.module}.{row.old}")
    return restored


def _lookup(module, dotted: str):
    """``module.a.b`` for ``"a.b"``, or None where the framework has no such name either."""
    found = module
    for part in dotted.split("."):
        found = getattr(found, part, None)
        if found is None:
            return None
    return found
