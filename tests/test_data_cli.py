"""The whole hub against d2l 1.0.3's list, and ``python -m d2lx data``: list, download (from a server on
127.0.0.1), import, verify, the classroom mirror, and the staging script CI runs."""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from test_hub import _Server

from d2lx import data_cli, hub
from d2lx.__main__ import main as d2lx_main

ROOT = Path(__file__).resolve().parent.parent
D2L_HUB = json.loads((Path(__file__).parent / "data" / "d2l_1_0_3_hub.json").read_text())
SHARED = ROOT.parent / "shared" / "data" / "d2l-hub"
STAGE_DATA = ROOT / ".ci" / "stage_data.py"

HOUSE = b"Id,SalePrice\n1,208500\n2,181500\n" * 1000
TEXT = b"The Time Traveller (for so it will be convenient to speak of him)\n" * 100
HOUSE_SHA1, TEXT_SHA1 = hashlib.sha1(HOUSE).hexdigest(), hashlib.sha1(TEXT).hexdigest()
OTHER_SHA1 = hashlib.sha1(b"another version").hexdigest()
BROKEN = HOUSE + TEXT  # served cut short


# --- the hub against d2l 1.0.3 ----------------------------------------------------------------------------
def _d2l_entries() -> dict[str, tuple[str, str]]:
    entries = {key: (e["url"], e["sha1"]) for key, e in D2L_HUB["library"].items()}
    entries |= {key: (e["pytorch"]["url"], e["pytorch"]["sha1"]) for key, e in D2L_HUB["chapters"].items()}
    entries |= {key: (e["url"], e["sha1"]) for key, e in D2L_HUB["edition_2_0"].items()}
    return entries


def test_every_key_of_d2l_1_0_3_is_in_the_hub_with_its_url_and_sha1():
    expected = _d2l_entries()
    assert len(D2L_HUB["library"]) == 18 and len(expected) == 23
    assert sorted(hub.DATA_HUB) == sorted(expected)  # no key missing, none invented
    for key, (url, sha1) in expected.items():
        assert hub.DATA_HUB[key] == (url, sha1), key
    for item in D2L_HUB["by_url"]:  # files the book downloads by URL have a key too, with the same hash
        key = hub.key_of_url(item["url"])
        assert key is not None and hub.DATA_HUB[key][1] == item["sha1"], item["url"]


def test_each_entry_unpacks_as_the_book_does_and_has_its_chapter():
    for key, entry in hub.DATA_HUB.items():
        url, sha1_hash = entry  # d2l's download: url, sha1_hash = DATA_HUB[name]
        assert isinstance(url, str) and len(sha1_hash) == 40
        info = hub.HUB_INFO[key]
        assert 5 <= info.chapter <= 21 and (info.size is None or info.size > 0)
    assert sorted(data_cli.keys_of_chapter(9)) == ["time_machine"]
    assert sorted(data_cli.keys_of_chapter(10)) == ["fra-eng"]
    assert sorted(data_cli.keys_of_chapter(12)) == ["airfoil"]


def test_the_hub_table_refuses_a_row_it_cannot_read():
    from d2lx import hub_registry

    header = "key  sha1  chapter  bytes  file"
    row = f"ptb  {'0' * 40}  15  -  ptb.zip"
    data_hub, info = hub_registry._read_table(f"{header}\n{row}\nwiki  {'1' * 40}  15  12  https://example.org/w.zip")
    assert data_hub == {"ptb": (hub.DATA_URL + "ptb.zip", "0" * 40), "wiki": ("https://example.org/w.zip", "1" * 40)}
    assert info == {"ptb": hub.HubInfo(15, None), "wiki": hub.HubInfo(15, 12)}
    with pytest.raises(ValueError) as err:
        hub_registry._read_table(f"{header}\nptb  {'0' * 40}  15  ptb.zip")
    assert str(err.value) == (
        f"the hub table's row 'ptb  {'0' * 40}  15  ptb.zip' has 4 columns; "
        "each key has one row of ['key', 'sha1', 'chapter', 'bytes', 'file']"
    )
    with pytest.raises(ValueError, match="has a second row for its key; each key has one row of"):
        hub_registry._read_table(f"{header}\n{row}\n{row}")
    with pytest.raises(ValueError, match=r"columns must be \['key', 'sha1', 'chapter', 'bytes', 'file'\], got"):
        hub_registry._read_table(f"key  file  sha1  chapter  bytes\n{row}")


@pytest.mark.skipif(not (SHARED / "MANIFEST.tsv").is_file(), reason="the shared folder of the book's files")
def test_recorded_sizes_and_hashes_match_the_shared_folders_manifest():
    lines = (SHARED / "MANIFEST.tsv").read_text().splitlines()[1:]
    assert len(lines) == 6
    for line in lines:
        key, name, sha1, size = line.split("\t")[:4]
        key = key.removesuffix("(chapter-only)")
        assert data_cli.file_name(key) == name and hub.DATA_HUB[key][1] == sha1
        assert hub.HUB_INFO[key].size == int(size)


# --- a small hub on a server on 127.0.0.1 --------------------------------------------------------------------
@pytest.fixture
def server():
    running = _Server(
        {"/house.csv": HOUSE, "/text.txt": TEXT, "/wrong.csv": b"not the file", "/broken.csv": BROKEN},
        cut_short=("/broken.csv",),
    )
    yield running
    running.close()


@pytest.fixture
def small_hub(server, monkeypatch):
    """A hub of four entries served on 127.0.0.1 (``broken`` breaks off half-way, ``wrong`` has other bytes)."""
    entries = {
        "house": (server.url + "house.csv", HOUSE_SHA1),
        "text": (server.url + "text.txt", TEXT_SHA1),
        "wrong": (server.url + "wrong.csv", OTHER_SHA1),
        "broken": (server.url + "broken.csv", hashlib.sha1(BROKEN).hexdigest()),
    }
    infos = {"house": hub.HubInfo(5, len(HOUSE)), "text": hub.HubInfo(9, None), "wrong": hub.HubInfo(9, 12)}
    monkeypatch.setattr(hub, "DATA_HUB", entries)  # "broken" has no HUB_INFO, as an entry a book cell adds
    monkeypatch.setattr(hub, "HUB_INFO", infos)
    monkeypatch.setattr(hub, "DOWNLOAD_TIMEOUT", 5.0)
    monkeypatch.delenv("D2LX_DATA_URL", raising=False)
    monkeypatch.delenv("D2LX_DATA_DIR", raising=False)
    return server


def _run(capsys, *argv: str) -> tuple[int, list[str], list[str]]:
    status = data_cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err.splitlines()


def test_list_gives_file_size_chapter_and_state(small_hub, tmp_path, capsys):
    (tmp_path / "house.csv").write_bytes(HOUSE)
    (tmp_path / "text.txt").write_bytes(b"damaged")
    status, out, err = _run(capsys, "list", "--folder", str(tmp_path))
    assert status == 0 and err == []
    assert out == [
        f"data folder: {tmp_path}",
        "key     file         size  chapter  state",
        "house   house.csv   31 kB        5  verified",
        "text    text.txt        ?        9  wrong hash",
        "wrong   wrong.csv    12 B        9  missing",
        "broken  broken.csv      ?        ?  missing",
        "1 verified, 1 with the wrong hash, 2 missing",
        f"`python -m d2lx data verify --folder {tmp_path}` says how to fix the files with the wrong hash",
    ]


def test_the_data_folder_is_folder_then_d2lx_data_dir_then_the_books(small_hub, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("D2LX_DATA_DIR", str(tmp_path / "env"))
    assert _run(capsys, "list")[1][0] == f"data folder: {tmp_path / 'env'}"
    assert _run(capsys, "list", "--folder", str(tmp_path))[1][0] == f"data folder: {tmp_path}"
    monkeypatch.delenv("D2LX_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert _run(capsys, "list")[1][0] == f"data folder: {os.path.join('..', 'data')}"
    (tmp_path / "a-file").write_text("x")
    status, out, err = _run(capsys, "verify", "--folder", str(tmp_path / "a-file"))
    assert status == 2 and out == []
    assert err == [
        f"error: --folder must be a folder (or a path where one can be made), got '{tmp_path}/a-file': a file"
    ]


def test_d2lx_main_wires_the_data_command(small_hub, tmp_path, capsys):
    assert d2lx_main(["data", "verify", "--folder", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"no hub file is in {tmp_path} yet: `python -m d2lx data download KEY` or `... import DIR` puts them there"
    ]


def test_download_with_progress_verifies_and_skips_what_is_there(small_hub, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(hub, "PROGRESS_MIN_BYTES", 0)  # a bar for these small files too
    folder = tmp_path / "data"
    status, out, err = _run(capsys, "download", "house", "text", "--folder", str(folder))
    assert status == 0
    assert out == [
        f"Downloading {folder / 'house.csv'} from {small_hub.url}house.csv...",
        f"house: downloaded {folder / 'house.csv'}, verified",
        f"Downloading {folder / 'text.txt'} from {small_hub.url}text.txt...",
        f"text: downloaded {folder / 'text.txt'}, verified",
    ]
    bars = "\n".join(err)  # tqdm's bars, cleared when done
    assert "house.csv:   0%|          | 0.00/31.0k" in bars and "text.txt:   0%|          | 0.00/6.60k" in bars
    assert sorted(os.listdir(folder)) == ["house.csv", "text.txt"] and (folder / "house.csv").read_bytes() == HOUSE
    status, out, _ = _run(capsys, "download", "--chapter", "5", "--folder", str(folder))
    assert status == 0 and out == [f"house: {folder / 'house.csv'} is already there, verified"]
    assert small_hub.requests == ["/house.csv", "/text.txt"]


def test_download_a_wrong_file_keeps_nothing_and_says_how_to_fix_it(small_hub, tmp_path, capsys):
    status, out, err = _run(capsys, "download", "wrong", "--folder", str(tmp_path))
    actual = hashlib.sha1(b"not the file").hexdigest()
    assert status == 1
    assert out == [
        f"Downloading {tmp_path / 'wrong.csv'} from {small_hub.url}wrong.csv...",
        "1 of 1 files could not be downloaded: wrong",
    ]
    assert err == [
        f"error: the file wrong.csv downloaded from {small_hub.url}wrong.csv for DATA_HUB['wrong'] has SHA-1 "
        f"{actual}, expected {OTHER_SHA1}; it was not kept (the server may hold a different version of it, or the "
        f"transfer was damaged). To fix it, run `python -m d2lx data download wrong --folder {tmp_path}` again, or "
        f"place the right file with `python -m d2lx data import DIR --folder {tmp_path}` from a folder that holds it."
    ]
    assert os.listdir(tmp_path) == []


def test_an_interrupted_download_leaves_nothing_under_the_real_name(small_hub, tmp_path, capsys):
    status, out, err = _run(capsys, "download", "broken", "house", "--folder", str(tmp_path))
    assert status == 1 and out[-1] == "1 of 2 files could not be downloaded: broken"
    assert err[0].startswith(f"error: could not download {small_hub.url}broken.csv for DATA_HUB['broken'] (")
    assert os.listdir(tmp_path) == ["house.csv"]  # no broken.csv, no temporary file


def test_offline_the_error_says_which_file_to_place_where_or_what_to_import(tmp_path, capsys, monkeypatch):
    stopped = _Server({})
    url = stopped.url + "house.csv"
    stopped.close()
    monkeypatch.setattr(hub, "DATA_HUB", {"house": (url, HOUSE_SHA1)})
    status, _, err = _run(capsys, "download", "house", "--folder", str(tmp_path))
    assert status == 1 and len(err) == 1
    assert err[0].startswith(f"error: could not download {url} for DATA_HUB['house'] (URLError: ")
    assert err[0].endswith(
        f") and {tmp_path} holds no usable copy of house.csv. To work offline, place the file house.csv "
        f"(SHA-1 {HOUSE_SHA1}) in {tmp_path} by hand, or run `python -m d2lx data import DIR --folder {tmp_path}` "
        "on a folder that holds it (or point D2LX_DATA_DIR at a folder that holds it)."
    )


def test_a_classroom_mirror_replaces_the_books_url_and_is_checked_by_the_same_sha1(
    small_hub, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(
        hub,
        "DATA_HUB",
        {"house": (hub.DATA_URL + "house.csv", HOUSE_SHA1), "wrong": (hub.DATA_URL + "wrong.csv", OTHER_SHA1)},
    )
    monkeypatch.setenv("D2LX_DATA_URL", small_hub.url.rstrip("/"))  # with or without the final /
    status, out, _ = _run(capsys, "download", "house", "--folder", str(tmp_path))
    assert status == 0 and out[0] == f"Downloading {tmp_path / 'house.csv'} from {small_hub.url}house.csv..."
    # the book's 1.0 call, by URL, goes to the mirror too
    assert hub.download(hub.DATA_URL + "house.csv", tmp_path / "b", HOUSE_SHA1) == str(tmp_path / "b" / "house.csv")
    with pytest.raises(hub.ChecksumError) as info:
        hub.download("wrong", tmp_path)
    assert "run `python -m d2lx data download wrong" in str(info.value)
    assert "again, with D2LX_DATA_URL unset if the mirror holds another version" in str(info.value)
    assert small_hub.requests == ["/house.csv", "/house.csv", "/wrong.csv"]
    monkeypatch.setenv("D2LX_DATA_URL", "192.168.0.1/data")
    with pytest.raises(ValueError, match="D2LX_DATA_URL must be a URL such as http://server:8000/d2l-data/, got '19"):
        hub.download("house", tmp_path / "c")


def test_import_takes_matching_files_under_their_hub_names_and_says_what_it_ignored(small_hub, tmp_path, capsys):
    stick = tmp_path / "stick"
    (stick / "sub").mkdir(parents=True)
    (stick / "copy of house.csv").write_bytes(HOUSE)  # a match under another name
    (stick / "sub" / "text.txt").write_bytes(TEXT)  # a match in a subfolder
    (stick / "wrong.csv").write_bytes(b"an old version")  # named as a hub file, another hash
    (stick / "notes.md").write_bytes(b"# notes")  # unrelated
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "text.txt").write_bytes(TEXT)  # already there
    status, out, err = _run(capsys, "import", str(stick), "--folder", str(folder))
    old, notes = hashlib.sha1(b"an old version").hexdigest(), hashlib.sha1(b"# notes").hexdigest()
    assert status == 0 and err == []
    assert out == [
        f"took     copy of house.csv -> {folder / 'house.csv'} (house)",
        f"ignored  notes.md: its SHA-1 {notes} is no hub file's",
        f"present  sub/text.txt: {folder / 'text.txt'} is already there, verified (text)",
        f"ignored  wrong.csv: named as DATA_HUB['wrong']'s file, but its SHA-1 is {old}, expected {OTHER_SHA1} "
        "(damaged or another version)",
        f"took 1 file into {folder}, 1 already there, ignored 2",
    ]
    assert sorted(os.listdir(folder)) == ["house.csv", "text.txt"] and (folder / "house.csv").read_bytes() == HOUSE
    assert sorted(os.listdir(stick)) == ["copy of house.csv", "notes.md", "sub", "wrong.csv"]  # copied, not moved


def test_import_replaces_a_copy_with_the_wrong_hash_and_reads_a_read_only_folder(small_hub, tmp_path, capsys):
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "house.csv").write_bytes(HOUSE)
    (stick / "house.csv").chmod(0o444)
    stick.chmod(0o555)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "house.csv").write_bytes(b"damaged")
    try:
        status, out, _ = _run(capsys, "import", str(stick), "--folder", str(tmp_path / "data"))
    finally:
        stick.chmod(0o755)
    assert status == 0
    assert (
        out[0]
        == f"took     house.csv -> {tmp_path / 'data' / 'house.csv'} (house) (replacing a copy with the wrong hash)"
    )
    assert (tmp_path / "data" / "house.csv").read_bytes() == HOUSE and os.listdir(tmp_path / "data") == ["house.csv"]


def test_import_of_a_missing_folder_is_an_error(small_hub, tmp_path, capsys):
    status, out, err = _run(capsys, "import", str(tmp_path / "nowhere"), "--folder", str(tmp_path))
    assert (status, out) == (2, [])
    assert err == [f"error: DIR must be a folder holding hub files, got '{tmp_path / 'nowhere'}'"]


def test_verify_names_each_file_and_how_to_fix_a_wrong_one(small_hub, tmp_path, capsys):
    (tmp_path / "house.csv").write_bytes(HOUSE)
    (tmp_path / "text.txt").write_bytes(b"damaged")
    status, out, _ = _run(capsys, "verify", "--folder", str(tmp_path))
    damaged = hashlib.sha1(b"damaged").hexdigest()
    assert status == 1
    assert out == [
        "verified    house.csv (house)",
        f"WRONG HASH  text.txt in {tmp_path} has SHA-1 {damaged}, expected {TEXT_SHA1} (DATA_HUB['text']): it is "
        f"damaged or another version. To fix it, run `python -m d2lx data download text --folder {tmp_path}` (it "
        f"replaces the file), or `python -m d2lx data import DIR --folder {tmp_path}` from a folder that holds the "
        "right one.",
        f"1 verified, 1 with the wrong hash in {tmp_path}",
    ]
    (tmp_path / "text.txt").unlink()
    assert _run(capsys, "verify", "--folder", str(tmp_path))[:2] == (
        0,
        ["verified    house.csv (house)", f"1 verified, 0 with the wrong hash in {tmp_path}"],
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["glove.6b.50"], "'glove.6b.50' is not a key of DATA_HUB (did you mean 'glove.6b.50d', 'glove.6b.100d', "),
        (["snli"], "'snli' is not a key of DATA_HUB (did you mean 'SNLI'? `python -m d2lx data list` shows all 23)"),
        (["xyz"], "'xyz' is not a key of DATA_HUB (no key is close to it; `python -m d2lx data list` shows all 23)"),
        (["--chapter", "3"], "no hub file is read by chapter 3; chapters with files: 5, 9, 10, 12, 14, 15, 16, 20, 21"),
        ([], "download takes KEY..., --chapter N or --all (one of them)"),
        (["ptb", "--all"], "download takes KEY..., --chapter N or --all (one of them)"),
    ],
    ids=["typo", "case", "nothing-close", "chapter-without-files", "nothing", "two-choices"],
)
def test_download_refuses_unknown_keys_before_downloading_anything(tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.setenv("D2LX_DATA_URL", "http://127.0.0.1:9/")  # never the internet, whatever happens
    status, out, err = _run(capsys, "download", *argv, "--folder", str(tmp_path))
    assert (status, out, len(err)) == (2, [], 1) and err[0].startswith(f"error: {message}")
    assert os.listdir(tmp_path) == []


def test_the_books_download_by_an_unknown_name_lists_close_matches(tmp_path):
    with pytest.raises(ValueError) as info:
        hub.download("timemachine", tmp_path)
    assert str(info.value) == (
        "url_or_name must be a URL or a name registered in DATA_HUB, got 'timemachine': 'timemachine' is not a key "
        "of DATA_HUB (did you mean 'time_machine'? `python -m d2lx data list` shows all 23); register one with "
        "DATA_HUB[name] = (url, sha1)"
    )


# --- the real files ---------------------------------------------------------------------------------------
STAGED = ("kaggle_house_train", "kaggle_house_test", "time_machine", "fra-eng", "airfoil", "ptb")


def test_the_staged_book_files_verify():
    """The files ``.ci/stage_data.py`` staged (CI always does) are the book's, byte for byte."""
    folder = Path(os.environ.get("D2LX_DATA_DIR") or ROOT / "notebooks" / "data")
    present = [key for key in STAGED if (folder / data_cli.file_name(key)).is_file()]
    if not present:
        pytest.skip(f"no staged file in {folder}: run `python3 .ci/stage_data.py`")
    assert [data_cli.state(folder, key)[0] for key in present] == ["verified"] * len(present)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared folder of the book's files (CI always has it)")
def test_stage_data_imports_the_shared_folder_with_a_python_without_numpy(tmp_path):
    folder = tmp_path / "notebooks-data"
    script = (
        "import runpy, sys; sys.modules['numpy'] = None; sys.modules.pop('d2lx', None); "  # numpy cannot be imported
        f"sys.argv = ['stage_data.py', {str(folder)!r}, '--shared', {str(SHARED)!r}]; "
        f"runpy.run_path({str(STAGE_DATA)!r}, run_name='__main__')"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("D2LX_DATA_URL", "PYTHONPATH")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"stage_data: python -m d2lx data import {SHARED} --folder {folder}"
    assert lines[-1] == f"took 6 files into {folder}, 0 already there, ignored 1"  # MANIFEST.tsv
    assert sorted(os.listdir(folder)) == sorted(data_cli.file_name(key) for key in STAGED)
    assert all(data_cli.state(folder, key)[0] == "verified" for key in STAGED)
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.splitlines()[-1].endswith(
        "0 files into " + str(folder) + ", 6 already there, ignored 1"
    )


def test_stage_data_downloads_what_the_shared_folder_lacks(tmp_path, monkeypatch, capsys):
    """Without ``../shared`` it downloads the book's files, here from a mirror on 127.0.0.1."""
    served = _Server({"/timemachine.txt": b"wrong bytes"})
    monkeypatch.setenv("D2LX_DATA_URL", served.url)
    monkeypatch.setattr(hub, "DOWNLOAD_TIMEOUT", 5.0)
    stage = runpy.run_path(str(STAGE_DATA))["stage"]
    try:
        status = stage(tmp_path / "data", tmp_path / "no-shared")
    finally:
        served.close()
    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out[:2] == [
        f"stage_data: not in {tmp_path / 'no-shared'}: {', '.join(STAGED)}",
        f"stage_data: python -m d2lx data download {' '.join(STAGED)} --folder {tmp_path / 'data'}",
    ]
    assert out[-1] == f"6 of 6 files could not be downloaded: {', '.join(STAGED)}"
    assert sorted(served.requests) == sorted(f"/{data_cli.file_name(key)}" for key in STAGED)
    assert not (tmp_path / "data").exists() or os.listdir(tmp_path / "data") == []
