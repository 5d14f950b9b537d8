"""The data hub: verified, atomic downloads from a server on 127.0.0.1, and archives that cannot escape."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from d2lx import hub

GOOD = b"Id,SalePrice\n1,208500\n2,181500\n" * 1000
GOOD_SHA1 = hashlib.sha1(GOOD).hexdigest()
WRONG_SHA1 = "0" * 40


class _Server:
    """Serves ``files`` (path -> bytes) on 127.0.0.1 and records every request.

    A path in ``cut_short`` announces its full length but sends only half and
    closes the connection, like a transfer that breaks off.
    """

    def __init__(self, files: dict[str, bytes], cut_short: tuple[str, ...] = ()):
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path in cut_short else body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    running = _Server({"/house.csv": GOOD, "/broken.csv": GOOD}, cut_short=("/broken.csv",))
    yield running
    running.close()


@pytest.fixture(autouse=True)
def _short_timeout(monkeypatch):
    monkeypatch.setattr(hub, "DOWNLOAD_TIMEOUT", 5.0)


def test_good_file_is_verified_cached_and_not_fetched_again(server, tmp_path):
    folder = tmp_path / "data"
    path = hub.download(server.url + "house.csv", folder, sha1_hash=GOOD_SHA1)
    assert path == str(folder / "house.csv") and Path(path).read_bytes() == GOOD
    assert os.listdir(folder) == ["house.csv"]  # no temporary file left behind
    assert hub.download(server.url + "house.csv", str(folder), GOOD_SHA1) == path
    assert server.requests == ["/house.csv"]  # the second call did not touch the network


def test_wrong_hash_raises_naming_url_and_both_hashes_and_keeps_nothing(server, tmp_path):
    url = server.url + "house.csv"
    with pytest.raises(hub.ChecksumError) as info:
        hub.download(url, tmp_path, sha1_hash=WRONG_SHA1)
    message = str(info.value)
    assert url in message and f"SHA-1 {GOOD_SHA1}, expected {WRONG_SHA1}" in message
    assert os.listdir(tmp_path) == []


def test_transfer_cut_short_raises_and_caches_nothing(server, tmp_path):
    url = server.url + "broken.csv"
    with pytest.raises(hub.DownloadError, match="could not download " + url):
        hub.download(url, tmp_path)  # even without a hash to check
    assert os.listdir(tmp_path) == []


def test_damaged_cached_file_is_replaced_not_returned(server, tmp_path):
    (tmp_path / "house.csv").write_bytes(GOOD[:-10])
    path = hub.download(server.url + "house.csv", tmp_path, GOOD_SHA1)
    assert Path(path).read_bytes() == GOOD and server.requests == ["/house.csv"]


def test_offline_with_nothing_usable_says_which_file_to_place_where(tmp_path):
    stopped = _Server({})
    url = stopped.url + "house.csv"
    stopped.close()
    (tmp_path / "house.csv").write_bytes(b"damaged")
    with pytest.raises(hub.DownloadError) as info:
        hub.download(url, tmp_path, GOOD_SHA1)
    message = str(info.value)
    assert f"could not download {url}" in message and f"{tmp_path} holds no usable copy of house.csv" in message
    assert f"place the file house.csv (SHA-1 {GOOD_SHA1}) in {tmp_path} by hand" in message
    assert "damaged or another version" in message
    assert (tmp_path / "house.csv").read_bytes() == b"damaged"  # the user's file is reported, not deleted


def test_the_2_0_form_goes_through_data_hub(server, tmp_path, monkeypatch):
    monkeypatch.setitem(hub.DATA_HUB, "house", (server.url + "house.csv", GOOD_SHA1))
    path = hub.download("house", cache_dir=str(tmp_path))
    assert Path(path).read_bytes() == GOOD
    assert hub.download("house", str(tmp_path)) == path and len(server.requests) == 1
    # a URL the hub knows is checked against the hub's hash
    monkeypatch.setitem(hub.DATA_HUB, "house", (server.url + "house.csv", WRONG_SHA1))
    with pytest.raises(hub.ChecksumError):
        hub.download(server.url + "house.csv", tmp_path / "other")


def test_default_folder_is_d2lx_data_dir_then_the_books(server, tmp_path, monkeypatch):
    monkeypatch.setenv("D2LX_DATA_DIR", str(tmp_path / "env"))
    assert hub.download(server.url + "house.csv", sha1_hash=GOOD_SHA1) == str(tmp_path / "env" / "house.csv")
    monkeypatch.delenv("D2LX_DATA_DIR")
    monkeypatch.chdir(tmp_path / "env")
    assert hub.default_data_dir() == os.path.join("..", "data")


def test_download_all_fetches_every_registered_file(server, tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "DATA_HUB", {"a": (server.url + "house.csv", GOOD_SHA1)})
    assert hub.download_all(tmp_path) == [str(tmp_path / "house.csv")]


@pytest.mark.parametrize(
    ("url_or_name", "sha1_hash", "error", "message"),
    [
        ("no_such_name", None, ValueError, "url_or_name must be a URL or a name registered in DATA_HUB, got 'no_such"),
        (3, None, TypeError, "url_or_name must be a URL or a DATA_HUB name"),
        ("http://127.0.0.1:9/x.csv", "abc", ValueError, "sha1_hash must be 40 hexadecimal digits or None, got 'abc'"),
        ("http://127.0.0.1:9/", None, ValueError, "url must end in a file name"),
    ],
)
def test_bad_arguments_name_themselves(url_or_name, sha1_hash, error, message, tmp_path):
    with pytest.raises(error, match=message):
        hub.download(url_or_name, tmp_path, sha1_hash)
    assert os.listdir(tmp_path) == []


def test_folder_and_cache_dir_together_is_an_error(tmp_path):
    with pytest.raises(TypeError, match="folder or cache_dir"):
        hub.download("kaggle_house_train", tmp_path, cache_dir=tmp_path)


# --- extract ------------------------------------------------------------------------
def _tar(path: Path, members: list[tuple[str, bytes | str]]) -> Path:
    """A tar archive; a ``str`` payload makes the member a symlink to it."""
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in members:
            info = tarfile.TarInfo(name)
            if isinstance(payload, str):
                info.type, info.linkname = tarfile.SYMTYPE, payload
                archive.addfile(info)
            else:
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
    return path


def _zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name), b"x")
    return path


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_extract_tar_and_zip_into_the_folder(tmp_path):
    tar = _tar(tmp_path / "a.tar.gz", [("a/one.txt", b"1"), ("a/two.txt", b"22"), ("a/link", "one.txt")])
    assert hub.extract(tar, tmp_path / "out") == str(tmp_path / "out")
    assert (tmp_path / "out" / "a" / "two.txt").read_bytes() == b"22"
    assert (tmp_path / "out" / "a" / "link").read_bytes() == b"1"
    archive = _zip(tmp_path / "b.zip", ["b/one.txt"])
    hub.extract(archive)  # next to the archive, as in the book
    assert (tmp_path / "b" / "one.txt").read_bytes() == b"x"


@pytest.mark.parametrize(
    "members",
    [
        [("ok.txt", b"ok"), ("../escaped.txt", b"bad")],
        [("ok.txt", b"ok"), ("a/../../escaped.txt", b"bad")],
        [("ok.txt", b"ok"), ("/tmp/d2lx-absolute-escaped.txt", b"bad")],
        [("ok.txt", b"ok"), ("up", ".."), ("up/escaped.txt", b"bad")],
        [("ok.txt", b"ok"), ("abs", "/"), ("abs/escaped.txt", b"bad")],
        [("ok.txt", b"ok"), ("here", "."), ("there", "here/.."), ("there/escaped.txt", b"bad")],
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "link-up", "link-absolute", "link-chain"],
)
def test_extract_tar_refuses_members_outside_the_folder(tmp_path, members):
    archive = _tar(tmp_path / "evil.tar.gz", members)
    target = tmp_path / "sandbox" / "out"
    before = _tree(tmp_path)
    with pytest.raises(hub.UnsafeArchiveError, match=f"refusing to extract {archive} into {target}"):
        hub.extract(archive, target)
    assert _tree(tmp_path) == sorted(before + ["sandbox", "sandbox/out"])  # nothing written anywhere
    assert not Path("/tmp/d2lx-absolute-escaped.txt").exists()


def test_extract_tar_does_not_follow_a_link_already_in_the_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "out"
    target.mkdir()
    (target / "data").symlink_to(outside)  # left there by something else
    archive = _tar(tmp_path / "a.tar.gz", [("ok.txt", b"ok"), ("data/escaped.txt", b"bad")])
    with pytest.raises(hub.UnsafeArchiveError, match="'data/escaped.txt' would reach outside it through a link"):
        hub.extract(archive, target)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("name", ["../escaped.txt", "a/../../escaped.txt", "/tmp/d2lx-zip-escaped.txt"])
def test_extract_zip_refuses_members_outside_the_folder(tmp_path, name):
    archive = _zip(tmp_path / "evil.zip", ["ok.txt", name])
    target = tmp_path / "sandbox" / "out"
    with pytest.raises(hub.UnsafeArchiveError, match=repr(name)):
        hub.extract(archive, target)
    assert _tree(tmp_path) == ["evil.zip", "sandbox", "sandbox/out"]
    assert not Path("/tmp/d2lx-zip-escaped.txt").exists()


def test_extract_rejects_what_is_not_an_archive(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="filename must be a zip or tar archive"):
        hub.extract(tmp_path / "x.csv")
    with pytest.raises(FileNotFoundError, match="filename must be an existing archive"):
        hub.extract(tmp_path / "missing.zip")


def test_download_extract_returns_the_data_folder(tmp_path, monkeypatch):
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr("pack/data.txt", b"hello")
    served = _Server({"/pack.zip": payload.getvalue()})
    try:
        sha1 = hashlib.sha1(payload.getvalue()).hexdigest()
        monkeypatch.setitem(hub.DATA_HUB, "pack", (served.url + "pack.zip", sha1))
        monkeypatch.setenv("D2LX_DATA_DIR", str(tmp_path))
        assert hub.download_extract("pack") == str(tmp_path / "pack")
        assert hub.download_extract("pack", "pack") == str(tmp_path / "pack")
    finally:
        served.close()
    assert (tmp_path / "pack" / "data.txt").read_bytes() == b"hello"


# --- issue 19: data folders and archives, table-driven ----------------------------------------------
def _a_file(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path / "a-file"


@pytest.mark.parametrize(
    ("make_folder", "sha1_hash", "error", "words"),
    [
        (_a_file, GOOD_SHA1, NotADirectoryError, ["folder must be a folder", "a-file", "a file"]),
        (lambda p: _a_file(p) / "sub", GOOD_SHA1, NotADirectoryError, ["folder must be a folder", "which is a file"]),
        (lambda p: p / "new", "g" * 40, ValueError, ["sha1_hash", "40 hexadecimal digits", "'gggg"]),
        (lambda p: p / "new", "0123456789abcdef0123456789 abcdef0123456", ValueError, ["sha1_hash", "hexadecimal"]),
        (lambda p: 3, GOOD_SHA1, TypeError, ["folder must be a folder", "got 3"]),
    ],
    ids=["folder-is-a-file", "folder-inside-a-file", "sha1-not-hex", "sha1-with-space", "folder-not-a-path"],
)
def test_data_folder_mistakes_are_clear_errors_before_any_network_traffic(
    server, tmp_path, make_folder, sha1_hash, error, words
):
    folder = make_folder(tmp_path)
    with pytest.raises(error) as info:
        hub.download(server.url + "house.csv", folder, sha1_hash)
    assert type(info.value) is error
    for word in words:
        assert word in str(info.value)
    assert server.requests == []  # refused before the download started
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], ids=["022", "002", "077"])
def test_downloaded_file_gets_the_mode_the_umask_gives(server, tmp_path, umask):
    previous = os.umask(umask)
    try:
        path = hub.download(server.url + "house.csv", tmp_path / "data", GOOD_SHA1)
    finally:
        os.umask(previous)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def _refuse_to_create(code: int):
    def open_temporary(folder, name):
        raise OSError(code, os.strerror(code), str(folder / f".{name}.x.part"))

    return open_temporary


@pytest.mark.parametrize(
    ("code", "words", "absent"),
    [
        (13, ["PermissionError", "you may not write there", "chmod u+w", "pass another folder", "D2LX_DATA_DIR"], []),
        (30, ["it is on a read-only file system", "pass another folder"], ["chmod"]),
        (28, ["the disk (or your quota) is full", "free some space"], ["chmod"]),
    ],
    ids=["no-permission", "read-only-fs", "disk-full"],
)
def test_a_folder_that_cannot_be_written_gets_hints_for_that_cause(server, tmp_path, monkeypatch, code, words, absent):
    monkeypatch.setattr(hub, "open_temporary", _refuse_to_create(code))
    with pytest.raises(hub.FolderNotWritableError) as info:
        hub.download(server.url + "house.csv", tmp_path, GOOD_SHA1)
    message = str(info.value)
    assert f"could not write house.csv into {tmp_path}" in message and "Nothing was downloaded" in message
    for word in words:
        assert word in message
    for word in absent + ["could not download", "To work offline"]:  # the network is not the problem
        assert word not in message
    assert server.requests == [] and os.listdir(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_really_read_only_folder_gets_the_permission_hints(server, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(hub.FolderNotWritableError, match="you may not write there"):
            hub.download(server.url + "house.csv", folder, GOOD_SHA1)
    finally:
        folder.chmod(0o755)


def _archive(kind: str, path: Path, names: list[str]) -> Path:
    if kind == "zip":
        return _zip(path.with_suffix(".zip"), names)
    return _tar(path.with_suffix(".tar.gz"), [(name, b"x") for name in names])


@pytest.mark.parametrize("kind", ["zip", "tar"])
@pytest.mark.parametrize(
    ("members", "link", "words"),
    [
        (["ok.txt", "../evil.txt"], None, ["'../evil.txt'", "would be written outside it", "nothing was extracted"]),
        (["ok.txt", "/tmp/d2lx-issue19-evil.txt"], None, ["would be written outside it"]),
        (["pre/evil.txt"], ("pre", "outside"), ["'pre/evil.txt'", "through a link already on disk"]),
        (["ok.txt", "pre/sub/evil.txt"], ("pre", "outside"), ["'pre/sub/evil.txt'", "link already on disk"]),
        (["evil.txt"], ("evil.txt", "outside/victim.txt"), ["'evil.txt'", "through a link already on disk"]),
    ],
    ids=["dotdot", "absolute", "link-on-disk", "link-on-disk-deeper", "file-link-on-disk"],
)
def test_archives_that_would_write_outside_are_refused_alike(tmp_path, kind, members, link, words):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_bytes(b"keep")
    target = tmp_path / "out"
    target.mkdir()
    if link is not None:
        (target / link[0]).symlink_to(tmp_path / link[1])  # left there by something else
    archive = _archive(kind, tmp_path / "evil", members)
    with pytest.raises(hub.UnsafeArchiveError) as info:
        hub.extract(archive, target)
    message = str(info.value)
    assert message.startswith(f"refusing to extract {archive} into {target}: member ")
    for word in words:
        assert word in message
    assert _tree(outside) == ["victim.txt"] and (outside / "victim.txt").read_bytes() == b"keep"
    assert not Path("/tmp/d2lx-issue19-evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    if kind == "zip":  # a zip is checked whole before anything is written
        assert _tree(target) == ([link[0]] if link else [])
