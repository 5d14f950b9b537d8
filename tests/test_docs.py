"""The README's statements of coverage against the table of names (``d2lx/names.py``), so they cannot go stale.

Core tests: no backend fixture, no framework, so they run in every backend's environment.
"""

from __future__ import annotations

import re
from pathlib import Path

from d2lx import backends, names

README = Path(__file__).resolve().parent.parent / "README.md"


def _section(title: str) -> str:
    """The README's text under ``## <title>``, up to the next ``## `` heading."""
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _covered_1_0() -> str:
    """The 1.0 edition's chapters d2lx covers, as ``names.covered()`` writes them (``2-13``)."""
    numbers = [c.number for c in names.CHAPTERS if c.edition == "1.0" and c.provides and not c.not_yet]
    return names._ranges(numbers)


def test_the_backends_table_gives_the_chapters_the_table_of_names_covers():
    rows = [line for line in _section("Backends").splitlines() if line.startswith("| ") and "`from d2lx import" in line]
    assert len(rows) == len(backends.BACKENDS), "one row per backend in the README's Backends table"
    for row in rows:
        status = [cell.strip() for cell in row.strip("|").split("|")][2]
        found = re.match(r"chapters ([0-9][0-9, -]*?) \(OO API", status)
        assert found, f"the status column should start 'chapters N-M (OO API': {status!r}"
        assert found.group(1) == _covered_1_0(), (
            f"README's Backends table says chapters {found.group(1)} for {row.split('|')[1].strip()}, "
            f"but d2lx/names.py covers the 1.0 edition's chapters {_covered_1_0()}"
        )


def test_the_readme_intro_says_what_names_covered_says():
    intro = _one_line(README.read_text().split("\n## ")[0])
    covered = names.covered()
    assert covered.startswith("the ")
    assert covered.removeprefix("the ") in intro, f"README's first paragraph should name {covered!r}"


def test_the_names_of_later_chapters_the_readme_quotes_are_not_provided():
    paragraph = _one_line(_section("Backends").split("**Names from later chapters.**")[1].split("\n\n")[0])
    quoted = re.findall(r"`d2l\.(\w+)`", paragraph)
    assert quoted, "the paragraph names examples"
    for name in quoted:
        assert name in names.not_yet(), f"d2l.{name} is provided now: name another chapter's name in the README"
        assert all(name not in names.provided(backend) for backend in backends.names())
    message = re.search(r"`(AttributeError: .*?)`", paragraph).group(1)
    assert message == f"AttributeError: {names.missing_name_error('d2lx.torch', quoted[0])}"
