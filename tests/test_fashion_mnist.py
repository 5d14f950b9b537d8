"""The Fashion-MNIST reader: real data, search order, damaged files, atomic download."""

from __future__ import annotations

import gzip
import http.server
import os
import shutil
import threading
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
