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

import warnings

from d2lx import checks
from d2lx.imports import after_import

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
    """``use_object_strings`` now if pandas is imported already, else right after pandas' own import
    (``d2lx.imports.after_import``), so the option is set before the cell that imported pandas reads a CSV.
    """
    if wanted():
        after_import("pandas", _set_option)


def _set_option(_pandas) -> None:
    use_object_strings()
