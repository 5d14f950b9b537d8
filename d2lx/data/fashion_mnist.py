"""The real Fashion-MNIST, read from its IDX files with numpy, found offline when possible.

Where the four files are looked for, in order:

1. an explicit ``root`` argument, else the ``D2LX_DATA_DIR`` environment variable: a place the user
   chose, which must be an existing folder; a damaged file there is an error;
2. the user cache, ``$XDG_CACHE_HOME/d2lx/fashion-mnist`` (``~/.cache/d2lx/fashion-mnist``);
3. ``/usr/share/datasets/fashion-mnist`` (Debian's package ``dataset-fashion-mnist``);
4. the official download, written under a temporary name, verified, then renamed, into the chosen
   folder of 1. if there is one, else into the cache.

When the chosen folder lacks some of the four files, one warning line says which folder each file
came from.

Every file is verified by the SHA-256 of its *decompressed* content: Debian
recompressed the ``.gz`` files, so their bytes differ from the official ones
while the IDX data is identical. A truncated or damaged file is reported by
name and never used. If nothing works, one error lists every place tried.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import urllib.error
import urllib.request
import warnings
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from d2lx import hub

FASHION_MNIST_LABELS = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)  # fmt: skip

BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
DOWNLOAD_TIMEOUT = 30.0


class _Expected(NamedTuple):
    sha256: str  # of the decompressed IDX bytes
    size: int  # decompressed size in bytes
    shape: tuple[int, ...]


FILES = {
    "train-images-idx3-ubyte": _Expected(
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016, (60000, 28, 28)
    ),
    "train-labels-idx1-ubyte": _Expected(
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008, (60000,)
    ),
    "t10k-images-idx3-ubyte": _Expected(
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016, (10000, 28, 28)
    ),
    "t10k-labels-idx1-ubyte": _Expected(
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008, (10000,)
    ),
}


class DatasetNotFoundError(FileNotFoundError):
    """Fashion-MNIST could not be found, read or downloaded; the message says where d2lx looked."""


class CorruptFileError(ValueError):
    """A dataset file exists but is truncated or damaged."""


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/d2lx/fashion-mnist``, by default ``~/.cache/d2lx/fashion-mnist``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "d2lx" / "fashion-mnist"


# --- reading and verifying ---------------------------------------------------
def _decompressed_bytes(path: Path) -> bytes:
    """The IDX bytes of ``path``, gunzipped when the file starts with gzip's magic number."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        if path.suffix == ".gz":
            raise CorruptFileError(f"{path} is truncated or not a valid gzip file (no gzip header)")
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise CorruptFileError(f"{path} is truncated or not a valid gzip file ({err})") from None


def _parse_idx(name: str, raw: bytes, path: Path | str) -> np.ndarray:
    expected = FILES[name]
    if len(raw) != expected.size:
        raise CorruptFileError(f"{path} holds {len(raw)} bytes of IDX data, expected {expected.size} (truncated?)")
    if hashlib.sha256(raw).hexdigest() != expected.sha256:
        raise CorruptFileError(f"{path} has the right size but the wrong SHA-256: the file is damaged")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if raw[:3] != b"\x00\x00\x08" or shape != expected.shape:
        raise CorruptFileError(f"{path} does not have the IDX header of {name}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@functools.lru_cache(maxsize=16)
def _read_verified(name: str, path: Path, mtime_ns: int, size: int) -> np.ndarray:
    # mtime and size are part of the cache key so that a replaced file is read again.
    return _parse_idx(name, _decompressed_bytes(path), path)


def read_idx(name: str, path: str | os.PathLike) -> np.ndarray:
    """Read and verify one Fashion-MNIST IDX file (``.gz`` or uncompressed); raise ``CorruptFileError``."""
    path = Path(path)
    stat = path.stat()
    return _read_verified(name, path, stat.st_mtime_ns, stat.st_size)


def _existing_file(directory: Path, name: str) -> Path | None:
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


# --- downloading ---------------------------------------------------------------
class _WriteFailed(Exception):
    """Internal: writing into the download folder failed (``__cause__`` is the ``OSError``)."""


def download_file(name: str, directory: Path) -> Path:
    """Download ``name.gz`` into ``directory`` under a temporary name, verify it, rename it.

    The file gets the mode the umask gives, as any file the user writes (a shared folder stays readable).
    """
    url = BASE_URL + name + ".gz"
    final = directory / f"{name}.gz"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = hub.open_temporary(directory, name)
    except OSError as err:
        raise _WriteFailed() from err
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            from tqdm.auto import tqdm

            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {name}", leave=False) as bar:
                while chunk := response.read(1 << 16):
                    try:
                        out.write(chunk)
                    except OSError as err:
                        raise _WriteFailed() from err
                    bar.update(len(chunk))
            try:
                out.flush()
            except OSError as err:
                raise _WriteFailed() from err
        _parse_idx(name, _decompressed_bytes(Path(temporary)), url)
        try:
            os.replace(temporary, final)
        except OSError as err:
            raise _WriteFailed() from err
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return final


# --- finding -----------------------------------------------------------------
class _Search:
    """Where one call looks, what went wrong, where each file came from."""

    def __init__(self, root: Path | None, label: str):
        self.root, self.label = root, label
        self.target = root if root is not None else cache_dir()  # where a download goes
        self.problems: list[str] = []
        self.sources: dict[str, str] = {}  # file name -> folder (and "downloaded into")
        self.write_error: str | None = None


def _locate(name: str, search: _Search) -> np.ndarray | None:
    root = search.root
    if root is not None:  # the user's choice: a damaged file there is an error, not skipped
        found = _existing_file(root, name)
        if found is not None:
            search.sources[name] = str(root)
            return read_idx(name, found)
        search.problems.append(f"{root}: no {name}(.gz)")
    for directory in (cache_dir(), Path(SYSTEM_DIR)):
        found = _existing_file(directory, name)
        if found is None:
            search.problems.append(f"{directory}: no {name}(.gz)")
            continue
        try:
            array = read_idx(name, found)
        except CorruptFileError as err:
            warnings.warn(f"ignoring a damaged Fashion-MNIST file: {err}", stacklevel=4)
            search.problems.append(f"{directory}: {err}")
            continue
        search.sources[name] = str(directory)
        return array
    target = search.target
    try:
        array = read_idx(name, download_file(name, target))
    except _WriteFailed as failed:
        search.write_error = hub.not_writable_message(target, f"{name}.gz", failed.__cause__, search.label)
        search.problems.append(f"download {BASE_URL}{name}.gz into {target}: {search.write_error}")
        return None
    except (urllib.error.URLError, OSError, CorruptFileError) as err:
        search.problems.append(f"download {BASE_URL}{name}.gz into {target}: {getattr(err, 'reason', err)}")
        return None
    search.sources[name] = f"downloaded into {target}"
    return array


def chosen_folder(root=None) -> tuple[Path | None, str]:
    """The folder looked in first, and the name to blame for it: ``root`` if given, else
    ``$D2LX_DATA_DIR`` if set, else ``(None, "root")``. A chosen folder must be an existing folder."""
    label = "root"
    if root is None:
        root = os.environ.get("D2LX_DATA_DIR") or None
        label = "D2LX_DATA_DIR"
        if root is None:
            return None, "root"
    elif not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder (str or os.PathLike) or None, got {root!r} ({type(root).__name__})")
    if os.fspath(root) == "":
        raise ValueError(f"{label} must be a folder, got '' (an empty path)")
    path = Path(os.fspath(root)).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"{label} must be an existing folder, got {str(path)!r}, which does not exist "
            f"(create it, or fix the path{', or unset D2LX_DATA_DIR' if label == 'D2LX_DATA_DIR' else ''})"
        )
    if not path.is_dir():
        raise NotADirectoryError(f"{label} must be a folder, got {str(path)!r}, which is a file")
    return path, label


def _short(name: str) -> str:
    return name.replace("-idx3-ubyte", "").replace("-idx1-ubyte", "")


def load_fashion_mnist(root: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Return the four Fashion-MNIST arrays as uint8: ``train_images`` (60000, 28, 28), ``train_labels``,
    ``test_images`` (10000, 28, 28), ``test_labels``.

    ``root`` (or ``D2LX_DATA_DIR``) names an existing folder to use first; a file missing there is taken
    from the cache or the system copy, else downloaded into it, and one warning line says which folder
    each file came from. See the module docstring for the whole search.
    """
    search = _Search(*chosen_folder(root))
    arrays = {}
    for name in FILES:
        array = _locate(name, search)
        if array is None:
            raise DatasetNotFoundError(_not_found_message(search))
        arrays[name] = array
    if search.root is not None and any(source != str(search.root) for source in search.sources.values()):
        grouped: dict[str, list[str]] = {str(search.root): []} if str(search.root) in search.sources.values() else {}
        for name, source in search.sources.items():
            grouped.setdefault(source, []).append(_short(name))
        where = "; ".join(
            f"{', '.join(names)} {source if source.startswith('downloaded') else 'from ' + source}"
            for source, names in grouped.items()
        )
        held = sum(source == str(search.root) for source in search.sources.values())
        warnings.warn(
            f"{search.label} {search.root} holds {held} of the 4 Fashion-MNIST files; read {where}", stacklevel=2
        )
    return {
        "train_images": arrays["train-images-idx3-ubyte"],
        "train_labels": arrays["train-labels-idx1-ubyte"],
        "test_images": arrays["t10k-images-idx3-ubyte"],
        "test_labels": arrays["t10k-labels-idx1-ubyte"],
    }


def _not_found_message(search: _Search) -> str:
    tried = "\n".join(f"  - {p}" for p in search.problems)
    fixes = [
        "install the Debian package: sudo apt-get install dataset-fashion-mnist",
        "put the four *-ubyte(.gz) files in a folder and set D2LX_DATA_DIR to it (or pass root=)",
    ]
    if search.write_error is not None:  # the download could not be written: that is what to fix
        fixes.insert(0, f"make {search.target} writable, or choose a folder you can write to ({search.label})")
    else:
        fixes.append(f"connect to the internet so d2lx can download them into {search.target}")
    listed = "\n".join(f"  - {fix}" for fix in fixes)
    return f"Fashion-MNIST is not available. d2lx looked in:\n{tried}\nTo fix it, do one of:\n{listed}"


# --- preparing for training ---------------------------------------------------
def _linear_weights(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of 1-D linear interpolation with half-pixel centres."""
    centres = (np.arange(size_out, dtype=np.float64) + 0.5) * size_in / size_out - 0.5
    centres = np.clip(centres, 0, size_in - 1)
    low = np.floor(centres).astype(np.int64)
    high = np.minimum(low + 1, size_in - 1)
    return low, high, (centres - low).astype(np.float32)


def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinearly resize a stack of float images ``(N, H, W)`` to ``(N, *size)``: the numpy reference.

    The loaders resize per batch with ``resize_matrix`` instead, which computes the same map.
    """
    height, width = size
    if images.shape[1:] == (height, width):
        return images
    low, high, frac = _linear_weights(images.shape[1], height)
    rows = images[:, low, :] * (1 - frac)[None, :, None] + images[:, high, :] * frac[None, :, None]
    low, high, frac = _linear_weights(images.shape[2], width)
    return rows[:, :, low] * (1 - frac) + rows[:, :, high] * frac


def resize_matrix(size_in: int, size_out: int) -> np.ndarray:
    """The ``(size_out, size_in)`` float32 matrix of 1-D bilinear resizing (half-pixel centres).

    Bilinear resizing is separable and linear, so a batch ``X`` of shape ``(N, H, W)`` resized to
    ``(h, w)`` is ``R_h @ X @ R_w.T``: one small matrix product per batch in any framework, on
    its device, with no copy of the resized data set in memory (70,000 images at 224x224 are
    13 GiB as float32, and 55 MiB as the uint8 originals that d2lx keeps).
    """
    low, high, frac = _linear_weights(size_in, size_out)
    matrix = np.zeros((size_out, size_in), dtype=np.float32)
    rows = np.arange(size_out)
    np.add.at(matrix, (rows, low), 1 - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix


@functools.lru_cache(maxsize=4)
def _resident(root, from_env: bool) -> tuple[np.ndarray, ...]:
    raw = load_fashion_mnist(None if from_env else root)  # from_env: its messages name D2LX_DATA_DIR
    out = []
    for images, labels in ((raw["train_images"], raw["train_labels"]), (raw["test_images"], raw["test_labels"])):
        labels = labels.astype(np.int64)
        images.setflags(write=False)
        labels.setflags(write=False)
        out += [images, labels]
    return tuple(out)


def fashion_mnist_arrays(root=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_X, train_y, val_X, val_y)``: the original uint8 images ``(N, 28, 28)`` and int64 labels.

    Read once per process and shared (read-only) by every data module; the loaders scale and
    resize each batch as it is drawn.
    """
    chosen, label = chosen_folder(root)  # checked before the cache is consulted
    return _resident(None if chosen is None else str(chosen), label == "D2LX_DATA_DIR")


def text_labels(indices) -> list[str]:
    """Names of Fashion-MNIST classes for numeric labels (any iterable of ints or tensors)."""
    from d2lx.plotting import to_numpy

    return [FASHION_MNIST_LABELS[int(i)] for i in np.asarray(to_numpy(indices)).reshape(-1)]
