"""The Fashion-MNIST reader: real data, search order, damaged files, atomic download."""

from __future__ import annotations

import errno
import gzip
import http.server
import os
import shutil
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

from d2lx.data import fashion_mnist as fm

SYSTEM = Path("/usr/share/datasets/fashion-mnist")
needs_system_copy = pytest.mark.skipif(
    not (SYSTEM / "train-images-idx3-ubyte.gz").exists(),
    reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No user cache, no system copy, no internet: every source is under tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("D2LX_DATA_DIR", raising=False)
    monkeypatch.setattr(fm, "SYSTEM_DIR", str(tmp_path / "system"))
    monkeypatch.setattr(fm, "BASE_URL", "http://127.0.0.1:9/")  # discard port: refused at once
    monkeypatch.setattr(fm, "DOWNLOAD_TIMEOUT", 5.0)
    return tmp_path


def _link_dataset(target: Path, names=tuple(fm.FILES)) -> Path:
    """``target`` holding links to the system copy of ``names`` (cheaper than copies)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        (target / f"{name}.gz").symlink_to(SYSTEM / f"{name}.gz")
    return target


def _copy_dataset(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in fm.FILES:
        shutil.copy(SYSTEM / f"{name}.gz", target / f"{name}.gz")
    return target


@needs_system_copy
def test_real_dataset_shapes_and_labels():
    data = fm.load_fashion_mnist()
    assert data["train_images"].shape == (60000, 28, 28) and data["test_images"].shape == (10000, 28, 28)
    assert data["train_images"].dtype == np.uint8
    assert np.bincount(data["train_labels"]).tolist() == [6000] * 10
    assert np.bincount(data["test_labels"]).tolist() == [1000] * 10
    assert fm.text_labels(data["train_labels"][:3]) == ["ankle boot", "t-shirt", "t-shirt"]


@needs_system_copy
def test_resident_arrays_are_the_uint8_originals_shared_read_only():
    train_X, train_y, val_X, val_y = fm.fashion_mnist_arrays()
    assert train_X.shape == (60000, 28, 28) and val_X.shape == (10000, 28, 28) and train_X.dtype == np.uint8
    assert train_y.dtype == np.int64 and len(val_y) == 10000
    assert fm.fashion_mnist_arrays()[0] is train_X and not train_X.flags.writeable


def test_resize_matrix_is_the_bilinear_map():
    rng = np.random.default_rng(0)
    images = rng.random((5, 28, 28), dtype=np.float32)
    for size in ((32, 32), (224, 224), (20, 40), (7, 28)):
        rows, cols = fm.resize_matrix(28, size[0]), fm.resize_matrix(28, size[1])
        np.testing.assert_allclose(rows @ images @ cols.T, fm.resize_images(images, size), atol=1e-6)
        assert rows.shape == (size[0], 28) and np.allclose(rows.sum(axis=1), 1)


def test_resize_is_bilinear_with_half_pixel_centres():
    image = np.array([[[0.0, 1.0], [2.0, 3.0]]], dtype=np.float32)
    out = fm.resize_images(image, (4, 4))
    assert out.shape == (1, 4, 4)
    np.testing.assert_allclose(out[0, 0], [0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(out[0, :, 0], [0.0, 0.5, 1.5, 2.0])


@needs_system_copy
def test_truncated_file_in_chosen_folder_is_an_error_naming_it(isolated, monkeypatch):
    folder = _copy_dataset(isolated / "mine")
    broken = folder / "t10k-labels-idx1-ubyte.gz"
    broken.write_bytes(broken.read_bytes()[:1000])
    monkeypatch.setenv("D2LX_DATA_DIR", str(folder))
    with pytest.raises(fm.CorruptFileError, match=f"{broken} is truncated or not a valid gzip file"):
        fm.load_fashion_mnist()


@needs_system_copy
def test_damaged_cache_file_is_skipped_with_a_warning(isolated, monkeypatch):
    cache = _copy_dataset(fm.cache_dir())
    _copy_dataset(isolated / "system")
    raw = gzip.decompress((cache / "train-labels-idx1-ubyte.gz").read_bytes())
    damaged = bytearray(raw)
    damaged[100] ^= 0xFF  # same size, one flipped byte
    (cache / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(damaged)))
    with pytest.warns(UserWarning, match="train-labels-idx1-ubyte.gz has the right size but the wrong SHA-256"):
        data = fm.load_fashion_mnist()
    assert np.bincount(data["train_labels"]).tolist() == [6000] * 10


def test_nothing_anywhere_lists_every_place_tried(isolated):
    with pytest.raises(fm.DatasetNotFoundError) as info:
        fm.load_fashion_mnist()
    message = str(info.value)
    assert f"{fm.cache_dir()}: no train-images-idx3-ubyte(.gz)" in message
    assert f"{isolated / 'system'}: no train-images-idx3-ubyte(.gz)" in message
    assert "download http://127.0.0.1:9/train-images-idx3-ubyte.gz" in message
    assert "apt-get install dataset-fashion-mnist" in message and "D2LX_DATA_DIR" in message


class _Server:
    """An HTTP server on 127.0.0.1 serving a folder, standing in for the official mirror."""

    def __init__(self, folder: Path):
        handler_class = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
        handler = lambda *a, **k: handler_class(*a, directory=str(folder), **k)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@needs_system_copy
def test_download_verifies_and_writes_atomically(isolated, monkeypatch):
    served = _copy_dataset(isolated / "served")
    server = _Server(served)
    monkeypatch.setattr(fm, "BASE_URL", server.url)
    try:
        data = fm.load_fashion_mnist()
    finally:
        server.close()
    assert data["test_images"].shape == (10000, 28, 28)
    cached = sorted(os.listdir(fm.cache_dir()))
    assert cached == sorted(f"{name}.gz" for name in fm.FILES)  # no *.part left behind


@needs_system_copy
def test_corrupt_download_is_never_kept(isolated, monkeypatch):
    served = _copy_dataset(isolated / "served")
    (served / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 100))
    server = _Server(served)
    monkeypatch.setattr(fm, "BASE_URL", server.url)
    try:
        with pytest.raises(fm.DatasetNotFoundError, match="t10k-images-idx3-ubyte.gz holds 104 bytes of IDX data"):
            fm.load_fashion_mnist()
    finally:
        server.close()
    assert "t10k-images-idx3-ubyte.gz" not in os.listdir(fm.cache_dir())
    assert not [f for f in os.listdir(fm.cache_dir()) if f.endswith(".part")]


# --- issue 19: data folders, table-driven, on every backend ----------------------------------------
def _make_file(path: Path) -> Path:
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize(
    ("where", "make", "error", "words"),
    [
        ("root", lambda p: p / "missing", FileNotFoundError, ["root must be an existing folder", "does not exist"]),
        ("root", lambda p: _make_file(p / "a-file"), NotADirectoryError, ["root must be a folder", "is a file"]),
        ("root", lambda p: 3, TypeError, ["root must be a folder", "got 3 (int)"]),
        ("root", lambda p: "", ValueError, ["root must be a folder", "empty path"]),
        (
            "env",
            lambda p: p / "missing",
            FileNotFoundError,
            ["D2LX_DATA_DIR must be an existing", "unset D2LX_DATA_DIR"],
        ),
        ("env", lambda p: _make_file(p / "a-file"), NotADirectoryError, ["D2LX_DATA_DIR must be a folder", "file"]),
    ],
    ids=["root-missing", "root-is-a-file", "root-not-a-path", "root-empty", "env-missing", "env-is-a-file"],
)
def test_data_folder_mistakes_name_root_or_the_variable(backend, isolated, monkeypatch, where, make, error, words):
    folder = make(isolated)
    kwargs = {"root": folder} if where == "root" else {}
    if where == "env":
        monkeypatch.setenv("D2LX_DATA_DIR", str(folder))
    with pytest.raises(error) as info:
        backend.FashionMNIST(batch_size=8, **kwargs)
    assert type(info.value) is error
    for word in words:
        assert word in str(info.value)
    if isinstance(folder, Path):
        assert str(folder) in str(info.value) or not str(folder)


@needs_system_copy
@pytest.mark.parametrize("where", ["root", "env"])
def test_a_complete_chosen_folder_is_used_quietly(backend, isolated, monkeypatch, where):
    folder = _link_dataset(isolated / "mine")
    if where == "env":
        monkeypatch.setenv("D2LX_DATA_DIR", str(folder))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = backend.FashionMNIST(batch_size=8, **({"root": str(folder)} if where == "root" else {}))
    assert len(data.train) == 60000 and len(data.val) == 10000
    assert data.root == (str(folder) if where == "root" else None)


@needs_system_copy
@pytest.mark.parametrize("where", ["root", "env"])
def test_an_incomplete_chosen_folder_says_in_one_line_where_each_file_came_from(backend, isolated, monkeypatch, where):
    folder = _link_dataset(isolated / "partial", ["train-labels-idx1-ubyte"])
    system = _link_dataset(isolated / "system")
    if where == "env":
        monkeypatch.setenv("D2LX_DATA_DIR", str(folder))
    with pytest.warns(UserWarning) as record:
        data = backend.FashionMNIST(batch_size=8, **({"root": folder} if where == "root" else {}))
    assert len(data.train) == 60000
    lines = [str(w.message) for w in record if "Fashion-MNIST files" in str(w.message)]
    label = "root" if where == "root" else "D2LX_DATA_DIR"
    assert lines == [
        f"{label} {folder} holds 1 of the 4 Fashion-MNIST files; read train-labels from {folder}; "
        f"train-images, t10k-images, t10k-labels from {system}"
    ]
    assert sorted(os.listdir(folder)) == ["train-labels-idx1-ubyte.gz"]  # nothing downloaded: a copy was found


@needs_system_copy
def test_a_file_found_nowhere_is_downloaded_into_the_chosen_folder(isolated, monkeypatch):
    folder = _link_dataset(isolated / "partial", [n for n in fm.FILES if n != "t10k-labels-idx1-ubyte"])
    server = _Server(_copy_dataset(isolated / "served"))
    monkeypatch.setattr(fm, "BASE_URL", server.url)
    try:
        with pytest.warns(UserWarning, match=f"from {folder}; t10k-labels downloaded into {folder}$"):
            fm.load_fashion_mnist(folder)
    finally:
        server.close()
    assert (folder / "t10k-labels-idx1-ubyte.gz").is_file()


@needs_system_copy
@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["022", "002"])
def test_a_downloaded_file_gets_the_mode_the_umask_gives(isolated, monkeypatch, umask):
    server = _Server(_copy_dataset(isolated / "served"))
    monkeypatch.setattr(fm, "BASE_URL", server.url)
    previous = os.umask(umask)
    try:
        path = fm.download_file("t10k-labels-idx1-ubyte", isolated / "shared")
    finally:
        os.umask(previous)
        server.close()
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_a_download_folder_that_cannot_be_written_gets_hints_for_that_cause(backend, isolated, monkeypatch):
    def refuse(folder, name):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))

    monkeypatch.setattr(fm.hub, "open_temporary", refuse)
    folder = isolated / "read-only"
    folder.mkdir()
    with pytest.raises(fm.DatasetNotFoundError) as info:
        backend.FashionMNIST(batch_size=8, root=folder)
    message = str(info.value)
    assert f"could not write train-images-idx3-ubyte.gz into {folder}" in message
    assert "you may not write there" in message and f"make {folder} writable" in message
    assert "connect to the internet" not in message  # the network is not what failed


# --- the resident form: float32 once where the backend scales once and the images fit the budget -------------
BUDGET = "D2LX_FLOAT32_IMAGES_MIB"


def test_the_float32_budget_is_512_mib_unless_the_variable_says_otherwise(monkeypatch):
    from d2lx import datamodule

    monkeypatch.delenv(BUDGET, raising=False)
    assert datamodule.float32_images_budget_mib() == 512.0
    for text, budget in ((" 100.5 ", 100.5), ("0", 0.0), ("4096", 4096.0)):
        monkeypatch.setenv(BUDGET, text)
        assert datamodule.float32_images_budget_mib() == budget
    for bad in ("lots", "-1", "nan", "inf", "512MiB"):
        monkeypatch.setenv(BUDGET, bad)
        with pytest.raises(ValueError) as info:
            datamodule.float32_images_budget_mib()
        assert str(info.value) == (
            f"{BUDGET} must be a number of MiB >= 0 (the most memory Fashion-MNIST's images may take held as "
            f"float32; 0: keep them uint8, scaled per batch), got {bad!r}"
        )
    assert round(datamodule.float32_images_mib(70000, (28, 28)), 2) == 209.35  # the book's sets at 28x28
    assert round(datamodule.float32_images_mib(70000, (96, 96)), 1) == 2460.9


def _held(data) -> tuple[str, tuple]:
    """The dtype's name and the shape of the training images ``data`` holds."""
    from d2lx.plotting import to_numpy

    images = getattr(data.train, "tensors", data.train)[0]  # TensorFlow's data.train is the pair itself
    return to_numpy(images[:1]).dtype.name, tuple(images.shape)


def test_the_resident_form_is_chosen_by_size_where_the_backend_scales_once(backend, monkeypatch):
    """MXNet holds the images as float32 once when both sets fit the budget (209.35 MiB at 28x28), and uint8
    otherwise; the other backends scale each batch at every size. The batches are the same bits either way."""
    from helpers import backend_name

    from d2lx.plotting import to_numpy

    scales_once = backend_name(backend) == "mxnet"
    monkeypatch.delenv(BUDGET, raising=False)
    default = backend.FashionMNIST(batch_size=500)
    assert default.float32_images is scales_once
    assert _held(default)[0] == ("float32" if scales_once else "uint8")
    if scales_once:
        assert _held(default)[1] == (60000, 1, 28, 28)
    first = to_numpy(next(iter(default.val_dataloader()))[0])
    for budget, float32 in (("209", False), ("210", scales_once), ("0", False)):  # just below and above 209.35
        monkeypatch.setenv(BUDGET, budget)
        data = backend.FashionMNIST(batch_size=500)
        assert data.float32_images is float32 and _held(data)[0] == ("float32" if float32 else "uint8"), budget
        np.testing.assert_array_equal(to_numpy(next(iter(data.val_dataloader()))[0]), first)
    monkeypatch.delenv(BUDGET)
    chapter8 = backend.FashionMNIST(batch_size=500, resize=(96, 96))  # 2461 MiB as float32: above the budget
    assert chapter8.float32_images is False and _held(chapter8)[0] == "uint8"


def test_a_bad_float32_budget_names_the_variable(backend, monkeypatch):
    monkeypatch.setenv(BUDGET, "half")
    with pytest.raises(ValueError, match=f"^{BUDGET} must be a number of MiB >= 0 .*, got 'half'$"):
        backend.FashionMNIST(batch_size=8)
