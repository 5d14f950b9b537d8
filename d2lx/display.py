"""Where are we running? Jupyter shows live figures; terminals get progress bars.

Kept apart so the rest of the core can ask one question without importing
IPython (which may not be installed) at import time.
"""

from __future__ import annotations

import sys

_FIGURE_FORMAT = {"value": "png"}


def in_notebook() -> bool:
    """True inside a Jupyter kernel (notebook, lab, VS Code), False in scripts and plain IPython."""
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return False
    try:
        shell = ipython_module.get_ipython()
    except AttributeError:
        return False
    return (
        shell is not None
        and shell.__class__.__name__ == "ZMQInteractiveShell"
        or (shell is not None and "ipykernel" in type(shell).__module__)
    )


def figure_format() -> str:
    """'svg' after ``use_svg_display()``, else 'png'."""
    return _FIGURE_FORMAT["value"]


def set_figure_format(fmt: str) -> None:
    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt must be 'png' or 'svg', got {fmt!r}")
    _FIGURE_FORMAT["value"] = fmt
