"""The real Fashion-MNIST, read from its IDX files with numpy, found offline when possible.

Where the four files are looked for, in order:

1. an explicit ``root`` argument, else the ``D2LX_DATA_DIR`` environment variable
   (a place the user chose: missing files are downloaded there, damaged ones are an error);
2. the user cache, ``$XDG_CACHE_HOME/d2lx/fashion-mnist`` (``~/.cache/d2lx/fashion-mnist``);
3. ``/usr/share/datasets/fashion-mnist`` (Debian's package ``dataset-fashion-mnist``);
4. the official download, written to the cache under a temporary name, verified, then renamed.

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
import tempfile
import urllib.error
import urllib.request
import warnings
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

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
def download_file(name: str, directory: Path) -> Path:
    """Download ``name.gz`` into ``directory`` under a temporary name, verify it, rename it."""
    url = BASE_URL + name + ".gz"
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{name}.gz"
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            from tqdm.auto import tqdm

            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {name}", leave=False) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
        _parse_idx(name, _decompressed_bytes(Path(temporary)), url)
        os.replace(temporary, final)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return final


# --- finding -----------------------------------------------------------------
def _locate(name: str, root: Path | None, problems: list[str]) -> np.ndarray | None:
    if root is not None:  # the user's choice: use it, fill it, or fail loudly
        found = _existing_file(root, name)
        if found is not None:
            return read_idx(name, found)
        problems.append(f"{root}: no {name}(.gz)")
    cache = cache_dir()
    for directory in ([] if root is not None else [cache]) + [Path(SYSTEM_DIR)]:
        found = _existing_file(directory, name)
        if found is None:
            problems.append(f"{directory}: no {name}(.gz)")
            continue
        try:
            return read_idx(name, found)
        except CorruptFileError as err:
            warnings.warn(f"ignoring a damaged Fashion-MNIST file: {err}", stacklevel=4)
            problems.append(f"{directory}: {err}")
    target = root if root is not None else cache
    try:
        return read_idx(name, download_file(name, target))
    except (urllib.error.URLError, OSError, CorruptFileError) as err:
        problems.append(f"download {BASE_URL}{name}.gz into {target}: {getattr(err, 'reason', err)}")
    return None


def load_fashion_mnist(root: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Return the four Fashion-MNIST arrays as uint8: ``train_images`` (60000, 28, 28), ``train_labels``,
    ``test_images`` (10000, 28, 28), ``test_labels``.

    ``root`` (or ``D2LX_DATA_DIR``) names a folder to use first; see the module
    docstring for where else d2lx looks.
    """
    chosen = root if root is not None else os.environ.get("D2LX_DATA_DIR") or None
    root_path = Path(chosen).expanduser() if chosen is not None else None
    arrays, problems = {}, []
    for name in FILES:
        array = _locate(name, root_path, problems)
        if array is None:
            raise DatasetNotFoundError(_not_found_message(problems))
        arrays[name] = array
    return {
        "train_images": arrays["train-images-idx3-ubyte"],
        "train_labels": arrays["train-labels-idx1-ubyte"],
        "test_images": arrays["t10k-images-idx3-ubyte"],
        "test_labels": arrays["t10k-labels-idx1-ubyte"],
    }


def _not_found_message(problems: list[str]) -> str:
    tried = "\n".join(f"  - {p}" for p in problems)
    return (
        "Fashion-MNIST is not available. d2lx looked in:\n"
        f"{tried}\n"
        "To fix it, do one of:\n"
        "  - install the Debian package: sudo apt-get install dataset-fashion-mnist\n"
        "  - put the four *-ubyte(.gz) files in a folder and set D2LX_DATA_DIR to it\n"
        f"  - connect to the internet so d2lx can download them into {cache_dir()}"
    )


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
def _resident(root) -> tuple[np.ndarray, ...]:
    raw = load_fashion_mnist(root)
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
    chosen = root if root is not None else os.environ.get("D2LX_DATA_DIR") or None
    return _resident(None if chosen is None else str(chosen))


def text_labels(indices) -> list[str]:
    """Names of Fashion-MNIST classes for numeric labels (any iterable of ints or tensors)."""
    from d2lx.plotting import to_numpy

    return [FASHION_MNIST_LABELS[int(i)] for i in np.asarray(to_numpy(indices)).reshape(-1)]
