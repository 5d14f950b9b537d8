"""Keep the book's pandas cells working on pandas 3: text columns as ``object``, as the book expects.

pandas 3 reads text columns as its ``str`` dtype, and the book selects numeric
columns with ``features.dtypes != 'object'``, which then keeps the text
columns too; standardising them raises ``TypeError: Cannot perform reduction
'mean' with string dtype`` (the Kaggle house-price chapter, 1.0 and 2.0
editions alike). The failing lines are the book's, so the fix cannot live in a
d2lx function: when a backend is imported, d2lx turns pandas'
``future.infer_string`` option off, which gives back pandas 2's ``object``
columns for the whole session. pandas 3.1 marks that option deprecated (it goes
in pandas 4); d2lx silences that one warning, and on a pandas without the
option it does nothing.

Opt out with the environment variable ``D2LX_PANDAS_OBJECT_STRINGS=0`` (set
before importing the backend), or afterwards with
``pd.set_option('future.infer_string', True)``. d2lx's own ``KaggleHouse``
selects columns by kind, so it works either way.
"""

from __future__ import annotations

import os
import warnings

ENV_VAR = "D2LX_PANDAS_OBJECT_STRINGS"


def wanted() -> bool:
    """Whether the user lets d2lx switch pandas' string inference off (the default)."""
    value = os.environ.get(ENV_VAR)
    return value is None or value.strip().lower() not in ("0", "false", "no", "off")


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
