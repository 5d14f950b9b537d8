"""Run a function right after a module's own import, without importing it now.

d2lx adjusts a few libraries that a backend does not need and that are slow to import (pandas:
0.3-0.4 s; ``flax.training.checkpoints``, which imports Orbax): importing them with the backend
would slow every ``from d2lx import <backend>``. ``after_import(name, callback)`` calls
``callback(module)`` at once if ``name`` is imported already, otherwise the moment a cell imports
it, before the cell goes on.

A finder at the front of ``sys.meta_path`` asks the other finders for the module and wraps the
loader they return. It leaves the path only when the module is really executed: libraries ask
``importlib.util.find_spec("pandas")`` just to learn whether it is installed (torch does), and a
finder that left at that first question would miss the real import.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Callable
from types import ModuleType

Callback = Callable[[ModuleType], object]


def after_import(name: str, callback: Callback) -> bool:
    """``callback(module)`` now if ``name`` is imported, else once, right after its own import.

    Returns False where ``callback`` already waits for ``name`` (asked twice, it runs once).
    """
    if name in sys.modules:
        callback(sys.modules[name])
        return True
    for finder in sys.meta_path:
        if isinstance(finder, _AfterImport) and finder.name == name:
            if callback in finder.callbacks:
                return False
            finder.callbacks.append(callback)
            return True
    sys.meta_path.insert(0, _AfterImport(name, callback))
    return True


class _AfterImport(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, callback: Callback) -> None:
        self.name = name
        self.callbacks = [callback]

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _CallAfterLoading(spec.loader, self)
        return spec


class _CallAfterLoading(importlib.abc.Loader):
    """Runs the module's own loader, then the callbacks, and takes the finder off ``sys.meta_path``."""

    def __init__(self, loader, finder: _AfterImport) -> None:
        self.loader = loader
        self.finder = finder

    def __getattr__(self, name):  # get_resource_reader, is_package, ...: the module's own loader answers
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        for callback in self.finder.callbacks:
            callback(module)
