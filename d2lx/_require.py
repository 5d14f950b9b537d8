"""Import a backend's framework with an error that says which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from d2lx import backends


def require(module: str, backend: str) -> ModuleType:
    """Import ``module`` for ``d2lx.<backend>``, or raise an ImportError naming the pip extra."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"d2lx.{backend} needs the '{module}' package, which cannot be imported here ({err}). "
            f"Install it with: pip install 'd2lx[{backends.get(backend).extra}]'"
        ) from err
