"""Keep the book's pandas cells working on pandas 3: text columns as ``object``, as the book expects.

pandas 3 reads text columns as its ``str`` dtype, and the book selects numeric
columns with ``features.dtypes != 'object'``, which then keeps the text
columns too; standardising them raises ``TypeError: Cannot perform reduction
'mean' with string dtype`` (the Kaggle house-price chapter, 1.0 and 2.0
editions alike). The failing lines are the book's, so the fix cannot live in a
d2lx function: d2lx turns pandas' ``future.infer_string`` option off, which
gives back pandas 2's ``object`` columns for the whole session. Importing a
backend does it at once if pandas is already imported, otherwise the moment a
cell imports pandas (``when_pandas_is_imported``): importing pandas only for
this took 0.3-0.4 s of ``from d2lx import <backend>`` (bench/import_cost.py).
pandas 3.1 marks that option deprecated (it goes in pandas 4); d2lx silences
that one warning, and on a pandas without the option it does nothing.

Opt out with the environment variable ``D2LX_PANDAS_OBJECT_STRINGS=0`` (set
before importing the backend), or afterwards with
``pd.set_option('future.infer_string', True)``. d2lx's own ``KaggleHouse``
selects columns by kind, so it works either way.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings

from d2lx import checks

ENV_VAR = "D2LX_PANDAS_OBJECT_STRINGS"


def wanted() -> bool:
    """Whether the user lets d2lx switch pandas' string inference off (the default)."""
    return checks.env_flag(ENV_VAR) is not False


def use_object_strings() -> bool:
    """Turn pandas' ``future.infer_string`` off, if pandas is installed, has the option and the user agrees.

    Returns whether the option is now off.
    """
    if not wanted():
        return False
    try:
        import pandas as pd
    except ImportError:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pandas 3.1: the option goes in pandas 4
        warnings.simplefilter("ignore", FutureWarning)
        try:
            pd.set_option("future.infer_string", False)
        except (AttributeError, KeyError):  # pandas.errors.OptionError: pandas < 2.1 or >= 4
            return False
    return True


def when_pandas_is_imported() -> None:
    """``use_object_strings`` now if pandas is imported already, else right after pandas' own import.

    A finder at the front of ``sys.meta_path`` asks the other finders for pandas and wraps the loader
    they return, so the option is set once pandas has finished importing, before the cell that
    imported it reads a CSV. It leaves the path only when pandas is really executed: libraries ask
    ``importlib.util.find_spec("pandas")`` just to learn whether pandas is installed (torch does), and
    a finder that left at that first question would miss the real import.
    """
    if not wanted():
        return
    if "pandas" in sys.modules:
        use_object_strings()
    elif not any(isinstance(finder, _AfterPandasImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterPandasImport())


class _AfterPandasImport(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "pandas":
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
            spec.loader = _SetOptionAfterLoading(spec.loader, self)
        return spec


class _SetOptionAfterLoading(importlib.abc.Loader):
    """Runs pandas' own loader, then sets the option and takes the finder off ``sys.meta_path``."""

    def __init__(self, loader, finder: _AfterPandasImport) -> None:
        self.loader = loader
        self.finder = finder

    def __getattr__(self, name):  # get_resource_reader, is_package, ...: pandas' own loader answers
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        use_object_strings()
