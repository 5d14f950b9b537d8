"""The book's data hub: files fetched by URL and SHA-1, cached in a folder, archives unpacked safely.

Every chapter after the multilayer perceptrons reaches its data through
``download`` and ``extract``. d2l 1.0.3 writes a download straight to its final
name and never checks it afterwards, holds the whole file in memory, waits
forever on a silent server and lets a tar member named ``../x`` escape the
target folder. Here:

* a file already in the folder is returned only if its SHA-1 matches (when
  the hash is known); otherwise it is fetched again;
* a download streams to a temporary name in the same folder, with a timeout
  and a progress bar for large files, is verified, and only then renamed, so
  an interrupted or wrong download never sits in the cache under the real name;
* a hash mismatch, or a failed download with nothing usable cached, raises one
  error saying what to do (including which file to place where by hand);
* the arguments (a ``folder`` that is a file, a ``sha1_hash`` that is not hex)
  are checked before any network traffic, and a folder that cannot be written
  gets hints that fit the cause (``FolderNotWritableError``);
* a downloaded file gets the mode the umask gives, not the temporary file's 0600;
* ``extract`` checks every member of a zip or tar archive first and refuses
  the archive if any member would land outside the target folder, also
  through a link already in that folder.

The data folder is the ``folder`` argument, else ``$D2LX_DATA_DIR``, else the
book's ``../data`` (relative to the working directory).
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import secrets
import string
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"

# name -> (url, sha1): the 2.0 edition's registry; ``download(name)`` looks names up here.
DATA_HUB: dict[str, tuple[str, str]] = {
    "kaggle_house_train": (DATA_URL + "kaggle_house_pred_train.csv", "585e9cc93e70b39160e7921475f9bcd7d31219ce"),
    "kaggle_house_test": (DATA_URL + "kaggle_house_pred_test.csv", "fa19780a7b011d9b009e8bff8e99922a8ee2eb90"),
    "time_machine": (DATA_URL + "timemachine.txt", "090b5e7e70c295757f55df93cb0a180b9691891a"),
    "fra-eng": (DATA_URL + "fra-eng.zip", "94646ad1522d915e7b0f9296181140edcf86a4f5"),
}

DOWNLOAD_TIMEOUT = 30.0  # seconds a silent connection is waited for
PROGRESS_MIN_BYTES = 1 << 20  # files at least this large (or of unknown size) get a progress bar
_CHUNK = 1 << 16


class DownloadError(OSError):
    """A file could not be downloaded and no verified copy of it is in the data folder."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the expected SHA-1; nothing was kept."""


class UnsafeArchiveError(ValueError):
    """An archive holds a member that would be written outside the target folder."""


class FolderNotWritableError(DownloadError):
    """The data folder cannot be written (permissions, a read-only file system, a full disk); nothing was
    downloaded. The message says which, and how to fix that cause."""


def default_data_dir() -> str:
    """``$D2LX_DATA_DIR`` if set, else the book's ``../data``."""
    return os.environ.get("D2LX_DATA_DIR") or os.path.join("..", "data")


def sha1_of(path: str | os.PathLike) -> str:
    """The SHA-1 of a file, read in chunks."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- download ------------------------------------------------------------------
_HEX = frozenset(string.hexdigits)


def _resolve_source(url_or_name, sha1_hash) -> tuple[str, str | None]:
    if not isinstance(url_or_name, str) or not url_or_name:
        raise TypeError(f"url_or_name must be a URL or a DATA_HUB name (str), got {url_or_name!r}")
    if sha1_hash is not None:
        if not isinstance(sha1_hash, str) or len(sha1_hash) != 40 or not set(sha1_hash) <= _HEX:
            raise ValueError(f"sha1_hash must be 40 hexadecimal digits or None, got {sha1_hash!r}")
        sha1_hash = sha1_hash.lower()
    if url_or_name in DATA_HUB:
        url, known = DATA_HUB[url_or_name]
        return url, sha1_hash or known
    if "://" not in url_or_name:
        known = ", ".join(sorted(DATA_HUB)) or "none"
        raise ValueError(
            f"url_or_name must be a URL or a name registered in DATA_HUB, got {url_or_name!r} "
            f"(registered names: {known}; register one with DATA_HUB[name] = (url, sha1))"
        )
    if sha1_hash is None:  # a URL the hub knows is checked against the hub's hash
        sha1_hash = next((h for u, h in DATA_HUB.values() if u == url_or_name), None)
    return url_or_name, sha1_hash


def _file_name(url: str) -> str:
    name = url.split("?", 1)[0].split("#", 1)[0].rstrip().split("/")[-1]
    if name in ("", ".", "..") or "\\" in name:
        raise ValueError(f"url must end in a file name, got {url!r}")
    return name


class _WriteFailed(Exception):
    """Internal: writing into the data folder failed (``__cause__`` is the ``OSError``), not the network."""


def open_temporary(folder: Path, name: str) -> tuple[int, str]:
    """A new file ``.<name>.<random>.part`` in ``folder``, opened for writing: ``(descriptor, path)``.

    Unlike ``tempfile.mkstemp`` (mode 0600, which the rename to the final name would keep), the file is
    created with mode 0666 less the umask, as any file the user writes: another user of a shared data
    folder can read it.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        path = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.part")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary name", os.path.join(folder, f".{name}.*.part"))


def not_writable_message(folder, name: str, err: OSError, argument: str = "folder") -> str:
    """Why ``name`` could not be written into ``folder`` and the fixes that fit that cause."""
    code = getattr(err, "errno", None)
    detail = f"{type(err).__name__}: {err.strerror or err}" if isinstance(err, OSError) else str(err)
    other = "set D2LX_DATA_DIR to a folder you can write to"
    if argument != "D2LX_DATA_DIR":
        other = f"pass another {argument}, or {other}"
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        cause, fix = "the disk (or your quota) is full", f"free some space on it, or {other}"
    elif code == errno.EROFS:
        cause, fix = "it is on a read-only file system", other
    elif code in (errno.EACCES, errno.EPERM):
        cause, fix = "you may not write there", f"give yourself write permission on it (chmod u+w), or {other}"
    else:
        cause, fix = "the folder could not be written", f"check that it is a folder you can write to, or {other}"
    return (
        f"could not write {name} into {folder} ({detail}): {cause}. Nothing was downloaded. To fix it, {fix}. "
        f"(Or place the file {name} in {folder} by hand.)"
    )


def _fetch(url: str, folder: Path, name: str, sha1_hash: str | None) -> Path:
    """Stream ``url`` into a temporary file in ``folder``, verify it, rename it to ``name``.

    A failure to write into ``folder`` is raised as ``_WriteFailed``, a network failure as itself.
    """
    try:
        handle, temporary = open_temporary(folder, name)
    except OSError as err:
        raise _WriteFailed() from err
    try:
        digest = hashlib.sha1()
        received = 0
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            from tqdm.auto import tqdm

            small = total is not None and total < PROGRESS_MIN_BYTES
            with tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False, disable=small) as bar:
                while chunk := response.read(_CHUNK):
                    try:
                        out.write(chunk)
                    except OSError as err:
                        raise _WriteFailed() from err
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            try:
                out.flush()
            except OSError as err:
                raise _WriteFailed() from err
        if total is not None and received != total:
            raise http.client.IncompleteRead(b"", total - received)
        actual = digest.hexdigest()
        if sha1_hash is not None and actual != sha1_hash:
            raise ChecksumError(
                f"the file downloaded from {url} has SHA-1 {actual}, expected {sha1_hash}; it was not kept "
                "(the server may hold a different version of it, or the transfer was damaged)"
            )
        final = folder / name
        try:
            os.replace(temporary, final)
        except OSError as err:
            raise _WriteFailed() from err
        return final
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def check_folder(argument: str, folder: Path) -> None:
    """Raise ``NotADirectoryError`` naming ``argument`` if ``folder``, or the nearest part of it that exists,
    is not a folder (so that it can neither be used nor created)."""
    existing = folder
    while not os.path.lexists(existing) and existing.parent != existing:
        existing = existing.parent
    if os.path.lexists(existing) and not existing.is_dir():
        what = "a file" if existing == folder else f"a path inside {existing}, which is a file"
        raise NotADirectoryError(
            f"{argument} must be a folder (or a path where one can be made), got {str(folder)!r}: {what}"
        )


def download(
    url_or_name: str,
    folder: str | os.PathLike | None = None,
    sha1_hash: str | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
) -> str:
    """Return the local path of a file, downloading it into ``folder`` if no verified copy is there.

    Both editions' calls work: ``download(url, folder, sha1_hash)`` (1.0) and
    ``download(name, cache_dir)`` with ``name`` a key of ``DATA_HUB`` (2.0).
    ``folder`` defaults to ``$D2LX_DATA_DIR``, else ``../data``. A URL
    registered in ``DATA_HUB`` is checked against its hash even when
    ``sha1_hash`` is not given; with no hash known, a file already there is
    trusted by its name, as in the book. The arguments are checked before any
    network traffic; a folder that cannot be written raises ``FolderNotWritableError``.
    """
    argument = "folder"
    if cache_dir is not None:
        if folder is not None:
            raise TypeError("download() takes folder or cache_dir (its 2.0 name), not both")
        folder, argument = cache_dir, "cache_dir"
    url, sha1_hash = _resolve_source(url_or_name, sha1_hash)
    if folder is None:
        argument = "D2LX_DATA_DIR" if os.environ.get("D2LX_DATA_DIR") else "folder"
    elif not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"{argument} must be a folder (str or os.PathLike) or None, got {folder!r}")
    folder = Path(os.fspath(folder) if folder is not None else default_data_dir()).expanduser()
    name = _file_name(url)
    check_folder(argument, folder)
    path = folder / name
    damaged = ""
    if path.is_file():
        if sha1_hash is None:
            return str(path)
        actual = sha1_of(path)
        if actual == sha1_hash:
            return str(path)
        damaged = f" The copy already there has SHA-1 {actual}, so it is damaged or another version: it was not used."
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FolderNotWritableError(not_writable_message(folder, name, err, argument)) from err
    print(f"Downloading {path} from {url}...")
    try:
        return str(_fetch(url, folder, name, sha1_hash))
    except ChecksumError:
        raise
    except _WriteFailed as failed:
        err = failed.__cause__
        raise FolderNotWritableError(not_writable_message(folder, name, err, argument) + damaged) from err
    except (OSError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", None) or err
        expected = f" (SHA-1 {sha1_hash})" if sha1_hash else ""
        raise DownloadError(
            f"could not download {url} ({type(err).__name__}: {reason}) and {folder} holds no usable copy of "
            f"{name}.{damaged} To work offline, place the file {name}{expected} in {folder} by hand "
            f"(or point D2LX_DATA_DIR at a folder that holds it)."
        ) from err


def download_all(folder: str | os.PathLike | None = None) -> list[str]:
    """Download every file registered in ``DATA_HUB``; return their local paths."""
    return [download(name, folder) for name in DATA_HUB]


# --- extract --------------------------------------------------------------------
def _walk(start: list[str], path: str, links: dict[str, str], follow_last: bool = True, depth: int = 0):
    """The components of ``path`` (an archive path, taken from ``start``) once ``..`` and the archive's own
    symlinks met so far (``links``: location -> target) are followed; ``None`` if it leaves the folder."""
    path = path.replace("\\", "/")
    if depth > 40 or path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return None
    stack = list(start)
    parts = [part for part in path.split("/") if part not in ("", ".")]
    for i, part in enumerate(parts):
        if part == "..":
            if not stack:
                return None
            stack.pop()
            continue
        stack.append(part)
        target = links.get("/".join(stack))
        if target is not None and (follow_last or i < len(parts) - 1):
            stack = _walk(stack[:-1], target, links, True, depth + 1)
            if stack is None:
                return None
    return stack


def _really_inside(root_real: str, path: str) -> bool:
    """Whether ``path`` is under ``root_real`` once the links already on disk are followed."""
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real + os.sep)


def _refuse(filename, folder, what: str, written: str = "nothing was extracted") -> UnsafeArchiveError:
    return UnsafeArchiveError(f"refusing to extract {filename} into {folder}: {what}; {written}")


def _check_tar_members(filename, folder, members: list[tarfile.TarInfo]) -> None:
    """Refuse the archive if any member, followed through the links before it, would land outside ``folder``."""
    links: dict[str, str] = {}
    for member in members:
        where = _walk([], member.name, links, follow_last=not member.issym())
        if where is None:
            raise _refuse(filename, folder, f"member {member.name!r} would be written outside it")
        if member.issym():
            if _walk(where[:-1], member.linkname, links) is None:
                what = f"member {member.name!r} links to {member.linkname!r}, outside it"
                raise _refuse(filename, folder, what)
            links["/".join(where)] = member.linkname
        elif member.islnk():
            if _walk([], member.linkname, links) is None:
                what = f"member {member.name!r} is a hard link to {member.linkname!r}, outside it"
                raise _refuse(filename, folder, what)
        elif not (member.isfile() or member.isdir()):
            raise _refuse(filename, folder, f"member {member.name!r} is a device or a pipe")


def _extract_tar(filename, folder: str) -> None:
    with tarfile.open(filename, "r:*") as archive:
        members = archive.getmembers()
        _check_tar_members(filename, folder, members)  # before writing anything
        root_real = os.path.realpath(folder)
        extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        for member in members:
            # Again on disk, where links that were in the folder before may redirect a member.
            paths = [os.path.join(folder, member.name)]
            if member.issym():
                paths.append(os.path.join(os.path.dirname(paths[0]), member.linkname))
            elif member.islnk():
                paths.append(os.path.join(folder, member.linkname))
            if not all(_really_inside(root_real, path) for path in paths):
                what = f"member {member.name!r} would reach outside it through a link already on disk"
                raise _refuse(filename, folder, what, "only the members before it were extracted")
            archive.extract(member, folder, **extra)


def _extract_zip(filename, folder: str) -> None:
    with zipfile.ZipFile(filename) as archive:
        names = archive.namelist()
        for name in names:  # zipfile writes no links: the names are all there is to check in the archive
            if _walk([], name, {}) is None:
                raise _refuse(filename, folder, f"member {name!r} would be written outside it")
        # ... but links already on disk may redirect a member; as none is written, all can be checked first.
        root_real = os.path.realpath(folder)
        for name in names:
            if not _really_inside(root_real, os.path.join(folder, name)):
                what = f"member {name!r} would reach outside it through a link already on disk"
                raise _refuse(filename, folder, what)
        archive.extractall(folder)


def extract(filename: str | os.PathLike, folder: str | os.PathLike | None = None) -> str:
    """Unpack a zip or tar (``.tar``, ``.tar.gz``, ``.tgz``, ...) archive into ``folder``; return ``folder``.

    ``folder`` defaults to the archive's own folder. Members with absolute
    paths, ``..`` or links that point outside ``folder`` make the whole
    archive refused (``UnsafeArchiveError``) before anything is written.
    """
    filename = os.fspath(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"filename must be an existing archive, got {filename!r}")
    folder = os.fspath(folder) if folder is not None else os.path.dirname(os.path.abspath(filename))
    os.makedirs(folder, exist_ok=True)
    if zipfile.is_zipfile(filename):
        _extract_zip(filename, folder)
    elif tarfile.is_tarfile(filename):
        _extract_tar(filename, folder)
    else:
        raise ValueError(f"filename must be a zip or tar archive, got {filename!r}")
    return folder


_ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip", ".gz")


def download_extract(name: str, folder: str | None = None) -> str:
    """Download the ``DATA_HUB`` archive ``name``, unpack it next to itself, return the data folder.

    The data folder is ``folder`` inside the download folder if given, else
    the archive's name without its suffix (``foo.tar.gz`` -> ``foo``).
    """
    path = download(name)
    base = os.path.dirname(path)
    extract(path, base)
    if folder:
        return os.path.join(base, folder)
    for suffix in _ARCHIVE_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return os.path.splitext(path)[0]
