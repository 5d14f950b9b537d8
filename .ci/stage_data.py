"""Stage the book's data files where the tests and notebooks read them, through d2lx's own ``data import``.

CI has no internet. The book's files it needs (``timemachine.txt``, ``fra-eng.zip``,
``airfoil_self_noise.dat``, ``ptb.zip`` and the two Kaggle house-price CSVs) lie, byte for byte
the book's, in ``../shared/data/d2l-hub/`` beside the clone (read-only; its ``MANIFEST.tsv`` says
where each was recovered from). This script runs ``python -m d2lx data import`` on that folder, the
command a teacher runs on a USB stick, so the staging path is the user's path: each file is taken
only if its SHA-1 is the hub's, and copied under a temporary name, then renamed. A file already
there and verified is kept. Whatever is still missing afterwards (a machine without ``../shared``)
is downloaded from the book's URLs (or ``$D2LX_DATA_URL``) with ``python -m d2lx data download``.

    python3 .ci/stage_data.py [FOLDER] [--shared DIR]   # defaults: notebooks/data, ../shared/data/d2l-hub

``notebooks/data`` is the book's ``../data`` as seen from ``notebooks/<backend>/``, so the notebooks
find the files with the book's own code; the tests read the same folder (or ``$D2LX_DATA_DIR``).

CI's ``python3`` has no d2lx installed and maybe not numpy, which ``d2lx/__init__.py`` imports:
the script loads ``d2lx.data_cli`` (standard library and ``d2lx.hub`` only) from this clone without
running that ``__init__``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "d2l-hub"
# the hub keys the tests and notebooks read today
STAGED = ("kaggle_house_train", "kaggle_house_test", "time_machine", "fra-eng", "airfoil", "ptb")


def load_data_cli() -> types.ModuleType:
    """This clone's ``d2lx.data_cli``, imported under a bare ``d2lx`` package (its ``__init__`` not run)."""
    if "d2lx" not in sys.modules:
        package = types.ModuleType("d2lx")
        package.__path__ = [str(ROOT / "d2lx")]
        sys.modules["d2lx"] = package
    return importlib.import_module("d2lx.data_cli")


def stage(folder: Path, shared: Path) -> int:
    cli = load_data_cli()
    status = 0
    if shared.is_dir():
        print(f"stage_data: python -m d2lx data import {shared} --folder {folder}")
        status = cli.main(["import", str(shared), "--folder", str(folder)])
    missing = [key for key in STAGED if cli.state(folder, key)[0] != cli.VERIFIED]
    if missing and status == 0:
        print(f"stage_data: not in {shared}: {', '.join(missing)}")
        print(f"stage_data: python -m d2lx data download {' '.join(missing)} --folder {folder}")
        status = cli.main(["download", *missing, "--folder", str(folder)])
    return status


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "notebooks" / "data")
    parser.add_argument("--shared", type=Path, default=SHARED, help="a folder of the book's files to import")
    args = parser.parse_args()
    sys.exit(stage(args.folder, args.shared))
