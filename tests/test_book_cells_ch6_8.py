"""The book's chapter 6-8 cells stay in d2lx's notebooks as printed (issue 35).

``tests/data/book_cells_ch6_8.json`` holds a fingerprint of every code cell of the book's 1.0 edition in
sections 6.1-6.7, 7.2-7.6 and 8.1-8.8, per backend tab, in the book's order: the first 16 hex digits of
the SHA-256 of the cell's text after ``from d2l import X as d2l`` is read as ``from d2lx import X as d2l``
and trailing whitespace (and blank first and last lines) is dropped. Fingerprints, not the book's text:
the book's markdown stays out of the repository. ``differ`` names the book's cells a notebook holds in
another form on purpose, each with its reason; ``notebooks/README.md`` ("How the notebooks were checked
against the book") lists the same cells.

A notebook edited away from the book's text (a slip, a working form where a shim now absorbs the drift)
fails here with the section and the position of the cell, in milliseconds and without a framework.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = json.loads((ROOT / "tests" / "data" / "book_cells_ch6_8.json").read_text())
BACKENDS = ("torch", "mxnet", "jax", "tensorflow")


def fingerprint(source: str) -> str:
    """The fingerprint of a cell's text, normalised as the book's were (see the module's docstring)."""
    lines = [line.rstrip() for line in source.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def notebook_fingerprints(backend: str, section: str) -> list[str]:
    cells = json.loads((ROOT / "notebooks" / backend / f"{section}.ipynb").read_text())["cells"]
    return [fingerprint("".join(cell["source"])) for cell in cells if cell["cell_type"] == "code"]


def test_the_fingerprints_cover_chapters_6_to_8_on_every_backend():
    assert set(BOOK["cells"]) == set(BACKENDS) == set(BOOK["differ"])
    sections = {backend: list(BOOK["cells"][backend]) for backend in BACKENDS}
    assert all(names == sections["torch"] for names in sections.values())
    assert len(sections["torch"]) == 20 and {"use-gpu", "conv-layer", "pooling", "cnn-design"} <= set(sections["torch"])
    counts = {backend: sum(map(len, BOOK["cells"][backend].values())) for backend in BACKENDS}
    assert counts == {"torch": 158, "mxnet": 159, "jax": 153, "tensorflow": 153}


@pytest.mark.parametrize("name", BACKENDS)
def test_the_books_cells_are_in_the_notebooks_as_printed(name):
    for section, book in BOOK["cells"][name].items():
        differ = BOOK["differ"][name].get(section, {})
        assert set(differ) <= set(book) and all(differ.values()), (name, section)
        notebook = notebook_fingerprints(name, section)
        position = 0  # the notebook's cells that are the book's come in the book's order
        for index, cell in enumerate(book):
            if cell in differ:
                assert cell not in notebook, (
                    f"{name}/{section}: the book's cell {index} is now as printed; take it out of 'differ' in "
                    f"tests/data/book_cells_ch6_8.json and out of notebooks/README.md ({differ[cell]})"
                )
                continue
            assert cell in notebook[position:], (
                f"{name}/{section}.ipynb: the book's code cell {index} is missing or changed (or out of the book's "
                "order); restore the book's text, or list it with its reason in 'differ' and notebooks/README.md"
            )
            position = notebook.index(cell, position) + 1
