"""``python -m d2lx data``: the book's data files in a data folder, for a classroom without internet.

A teacher fills a folder once (``download --all``, or ``import`` from a USB stick or a shared
folder) and hands it to the machines; ``list`` and ``verify`` say what a folder holds. Every file is
trusted by its SHA-1 only, the same check ``d2l.download`` makes, and written under a temporary name
first, so an interrupted copy never sits under a hub file's name.

The data folder is ``--folder``, else ``$D2LX_DATA_DIR``, else the book's ``../data``, as for
``download``. This module imports nothing outside the standard library and ``d2lx.hub``:
``.ci/stage_data.py`` runs its ``import`` with a bare Python.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from d2lx import hub

VERIFIED, MISSING, WRONG_HASH = "verified", "missing", "wrong hash"


def file_name(key: str) -> str:
    """The name a hub entry's file has in a data folder (the last part of its URL)."""
    return hub.DATA_HUB[key][0].split("/")[-1]


def state(folder: Path, key: str) -> tuple[str, str | None]:
    """``(state, actual SHA-1 or None)`` of the hub file ``key`` in ``folder``."""
    path = folder / file_name(key)
    if not path.is_file():
        return MISSING, None
    actual = hub.sha1_of(path)
    return (VERIFIED if actual == hub.DATA_HUB[key][1] else WRONG_HASH), actual


def wrong_hash_message(folder: Path, key: str, actual: str) -> str:
    """A file of the wrong hash: which file, both hashes, and the commands that fix it."""
    name, expected = file_name(key), hub.DATA_HUB[key][1]
    return (
        f"{name} in {folder} has SHA-1 {actual}, expected {expected} (DATA_HUB[{key!r}]): it is damaged or "
        f"another version. To fix it, run `{hub.command(f'download {key}', folder)}` (it replaces the file), "
        f"or `{hub.command('import DIR', folder)}` from a folder that holds the right one."
    )


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    if n >= 10**9:
        return f"{n / 10**9:.1f} GB"
    if n >= 10**6:
        return f"{n / 10**6:.1f} MB"
    return f"{n / 10**3:.0f} kB" if n >= 10**3 else f"{n} B"


def _folder(args) -> Path:
    """``--folder``, else ``$D2LX_DATA_DIR``, else ``../data``; an error naming the one chosen if it is a file."""
    if args.folder is not None:
        folder, argument = args.folder, "--folder"
    elif os.environ.get("D2LX_DATA_DIR"):
        folder, argument = os.environ["D2LX_DATA_DIR"], "D2LX_DATA_DIR"
    else:
        folder, argument = hub.default_data_dir(), "the data folder"
    path = Path(folder).expanduser()
    hub.check_folder(argument, path)
    return path


# --- list and verify ---------------------------------------------------------------------------------------
def list_files(folder: Path, out: Callable[[str], None] = print) -> int:
    """Print each key, its file, size, chapter and state in ``folder``."""
    rows = []
    counts = {VERIFIED: 0, MISSING: 0, WRONG_HASH: 0}
    for key in hub.DATA_HUB:
        found, _ = state(folder, key)
        counts[found] += 1
        info = hub.HUB_INFO.get(key)
        size = (folder / file_name(key)).stat().st_size if found == VERIFIED else (info.size if info else None)
        rows.append((key, file_name(key), _size(size), str(info.chapter) if info else "?", found))
    widths = [max(len(row[i]) for row in rows + [("key", "file", "size", "chapter", "")]) for i in range(4)]
    for row in [("key", "file", "size", "chapter", "state"), *rows]:
        key, name, size, chapter, found = row
        out(f"{key:<{widths[0]}}  {name:<{widths[1]}}  {size:>{widths[2]}}  {chapter:>{widths[3]}}  {found}")
    out(f"{counts[VERIFIED]} verified, {counts[WRONG_HASH]} with the wrong hash, {counts[MISSING]} missing")
    if counts[WRONG_HASH]:
        out(f"`{hub.command('verify', folder)}` says how to fix the files with the wrong hash")
    return 0


def verify(folder: Path, out: Callable[[str], None] = print) -> int:
    """Check every hub file present in ``folder``; 1 if any has the wrong hash."""
    good = bad = 0
    for key in hub.DATA_HUB:
        found, actual = state(folder, key)
        if found == VERIFIED:
            good += 1
            out(f"verified    {file_name(key)} ({key})")
        elif found == WRONG_HASH:
            bad += 1
            out(f"WRONG HASH  {wrong_hash_message(folder, key, actual)}")
    if not good + bad:
        out(f"no hub file is in {folder} yet: `python -m d2lx data download KEY` or `... import DIR` puts them there")
        return 0
    out(f"{good} verified, {bad} with the wrong hash in {folder}")
    return 1 if bad else 0


# --- download ---------------------------------------------------------------------------------------------
def keys_of_chapter(chapter: int) -> list[str]:
    return [key for key in hub.DATA_HUB if key in hub.HUB_INFO and hub.HUB_INFO[key].chapter == chapter]


def download(keys: list[str], folder: Path, out: Callable[[str], None] = print) -> int:
    """Download each key's file into ``folder`` (with a progress bar for large files), verified; 1 if any failed."""
    failed = []
    for key in keys:
        found, _ = state(folder, key)
        if found == VERIFIED:
            out(f"{key}: {folder / file_name(key)} is already there, verified")
            continue
        try:
            path = hub.download(key, folder)
        except (hub.DownloadError, OSError) as err:
            print(f"error: {err}", file=sys.stderr)
            failed.append(key)
            continue
        out(f"{key}: downloaded {path}, verified")
    if failed:
        out(f"{len(failed)} of {len(keys)} files could not be downloaded: {', '.join(failed)}")
        return 1
    return 0


# --- import -----------------------------------------------------------------------------------------------
def _copy_verified(source: Path, folder: Path, name: str, sha1: str) -> None:
    """Copy ``source`` to ``folder/name`` through a temporary name, checking the copy's SHA-1 on the way."""
    handle, temporary = hub.open_temporary(folder, name)
    try:
        digest = hashlib.sha1()
        with os.fdopen(handle, "wb") as out, open(source, "rb") as f:
            while chunk := f.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
        if digest.hexdigest() != sha1:
            raise hub.ChecksumError(f"{source} changed while it was copied: {name} was not imported")
        os.replace(temporary, folder / name)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def import_folder(source: Path, folder: Path, out: Callable[[str], None] = print) -> int:
    """Copy every file under ``source`` whose SHA-1 is a hub entry's into ``folder`` under its hub name.

    Says, file by file, what it took and what it ignored (a file named as a hub file with another
    hash is named as such). A hub file already verified in ``folder`` is left alone; one with the
    wrong hash is replaced.
    """
    by_sha1: dict[str, str] = {}
    for key, (_, sha1) in hub.DATA_HUB.items():
        by_sha1.setdefault(sha1, key)
    by_name = {file_name(key): key for key in hub.DATA_HUB}
    took = present = ignored = 0
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        shown = path.relative_to(source).as_posix()
        actual = hub.sha1_of(path)
        key = by_sha1.get(actual)
        if key is None:
            ignored += 1
            if path.name in by_name:
                named = by_name[path.name]
                out(
                    f"ignored  {shown}: named as DATA_HUB[{named!r}]'s file, but its SHA-1 is {actual}, "
                    f"expected {hub.DATA_HUB[named][1]} (damaged or another version)"
                )
            else:
                out(f"ignored  {shown}: its SHA-1 {actual} is no hub file's")
            continue
        name = file_name(key)
        target = folder / name
        found, _ = state(folder, key)
        if found == VERIFIED:
            present += 1
            out(f"present  {shown}: {target} is already there, verified ({key})")
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _copy_verified(path, folder, name, actual)
        except hub.ChecksumError:
            raise
        except OSError as err:
            raise hub.FolderNotWritableError(hub.not_writable_message(folder, name, err, "--folder")) from err
        replaced = " (replacing a copy with the wrong hash)" if found == WRONG_HASH else ""
        took += 1
        out(f"took     {shown} -> {target} ({key}){replaced}")
    out(f"took {took} file{'s' * (took != 1)} into {folder}, {present} already there, ignored {ignored}")
    return 0


# --- the command line -------------------------------------------------------------------------------------
def add_parser(commands) -> argparse.ArgumentParser:
    """Add ``data`` and its subcommands to ``python -m d2lx``'s subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--folder", help="the data folder (default: $D2LX_DATA_DIR, else ../data)")
    data = commands.add_parser("data", help="the book's data files: list, download, import, verify")
    verbs = data.add_subparsers(dest="data_command", required=True)
    verbs.add_parser("list", parents=[common], help="each key, its file, size, chapter and state in the folder")
    get = verbs.add_parser("download", parents=[common], help="download files, verified by SHA-1")
    get.add_argument("keys", nargs="*", metavar="KEY", help="hub keys (`data list` shows them)")
    get.add_argument("--chapter", type=int, help="every file the chapter (1.0 edition) reads")
    get.add_argument("--all", action="store_true", help="every file of the hub")
    take = verbs.add_parser("import", parents=[common], help="copy the hub's files found in DIR into the folder")
    take.add_argument("source", metavar="DIR", help="a folder (a USB stick, a shared folder) holding hub files")
    verbs.add_parser("verify", parents=[common], help="check every hub file present in the folder")
    return data


def run(args) -> int:
    """Run the parsed ``data`` command; errors a learner can fix are one line on stderr, exit code 2."""
    try:
        folder = _folder(args)
        if args.data_command == "list":
            print(f"data folder: {folder}")
            return list_files(folder)
        if args.data_command == "verify":
            return verify(folder)
        if args.data_command == "import":
            source = Path(args.source).expanduser()
            if not source.is_dir():
                raise NotADirectoryError(f"DIR must be a folder holding hub files, got {args.source!r}")
            return import_folder(source, folder)
        return download(_download_keys(args), folder)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _download_keys(args) -> list[str]:
    chosen = [bool(args.keys), args.chapter is not None, args.all]
    if sum(chosen) != 1:
        raise ValueError("download takes KEY..., --chapter N or --all (one of them)")
    if args.all:
        return list(hub.DATA_HUB)
    if args.chapter is not None:
        keys = keys_of_chapter(args.chapter)
        if not keys:
            chapters = sorted({info.chapter for info in hub.HUB_INFO.values()})
            raise ValueError(
                f"no hub file is read by chapter {args.chapter}; chapters with files: {', '.join(map(str, chapters))}"
            )
        return keys
    unknown = [key for key in args.keys if key not in hub.DATA_HUB]
    if unknown:
        raise ValueError("; ".join(hub.unknown_key_message(key) for key in unknown))
    return list(dict.fromkeys(args.keys))


def main(argv: list[str] | None = None) -> int:
    """``python -m d2lx data ...`` on its own (``.ci/stage_data.py`` calls it without ``d2lx.__main__``)."""
    parser = argparse.ArgumentParser(prog="python -m d2lx")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *(sys.argv[1:] if argv is None else argv)])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
