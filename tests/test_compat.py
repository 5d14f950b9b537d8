"""The compatibility shims' core: one table per backend, installed once at import, one switch; the
after-import hook they share with pandas_compat. (The shims themselves, the book's cells: tests/test_jax_compat.py,
tests/test_tensorflow_compat.py.)"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys

import pytest
from helpers import backend_name

from d2lx import compat, renamed
from d2lx.imports import after_import


def test_every_backend_has_a_table_of_shims_installed_once(backend):
    name = backend_name(backend)
    shims = importlib.import_module(f"d2lx.{name}.compat").SHIMS
    for shim in shims:
        assert shim.backend == name and shim.patches and shim.book and shim.changed_in, shim
        assert re.match(r"\d+\.\d+ ", shim.book), shim.book  # the book's section first
    assert len({shim.patches for shim in shims}) == len(shims)
    assert compat.install(name) == []  # importing the backend installed everything; a second time patches nothing


def test_d2lx_compat_0_installs_nothing(backend, monkeypatch):
    name = backend_name(backend)
    calls = []
    fake = compat.Shim(name, "fake.patch", "0.0 a cell", "a release", lambda: calls.append("shim") or True)
    monkeypatch.setattr(importlib.import_module(f"d2lx.{name}.compat"), "SHIMS", (fake,))
    monkeypatch.setattr(renamed, "restore", lambda backend: calls.append(backend) or ["renamed.alias"])
    monkeypatch.setenv("D2LX_COMPAT", "0")
    assert compat.install(name) == [] and calls == []
    monkeypatch.setenv("D2LX_COMPAT", "1")
    assert compat.install(name) == ["renamed.alias", "fake.patch"] and calls == [name, "shim"]


def test_after_import_waits_for_the_real_import(tmp_path, monkeypatch):
    (tmp_path / "d2lx_fake_library.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []

    def callback(module):
        seen.append(module.VALUE)

    try:
        assert after_import("d2lx_fake_library", callback) is True
        assert after_import("d2lx_fake_library", callback) is False  # asked twice: runs once
        assert importlib.util.find_spec("d2lx_fake_library") is not None  # "is it installed?" is no import
        assert seen == []
        import d2lx_fake_library  # noqa: F401

        assert seen == [42]
        assert not any(getattr(finder, "name", None) == "d2lx_fake_library" for finder in sys.meta_path)
        assert after_import("d2lx_fake_library", callback) is True  # imported already: at once
        assert seen == [42, 42]
    finally:
        sys.modules.pop("d2lx_fake_library", None)
        sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "name", None) != "d2lx_fake_library"]


def test_a_missing_module_leaves_the_hook_waiting(monkeypatch):
    seen = []
    try:
        after_import("d2lx_no_such_library", seen.append)
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("d2lx_no_such_library")
        assert seen == [] and any(getattr(f, "name", None) == "d2lx_no_such_library" for f in sys.meta_path)
    finally:
        sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "name", None) != "d2lx_no_such_library"]
