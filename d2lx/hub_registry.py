"""The book's data files: every ``DATA_HUB`` key, with the chapter that reads it and, where known, its size.

``DATA_HUB`` keeps the book's shape, ``name -> (url, sha1)``, because the book unpacks it so
(``url, sha1_hash = DATA_HUB[name]``) and its cells add entries the same way. What d2lx knows
besides (the chapter, the size) lives beside it in ``HUB_INFO``, under the same keys.

The keys are those of d2l 1.0.3: its library files (``d2l/torch.py``, ``mxnet.py``, ``jax.py``,
``tensorflow.py``) and its chapters' own cells (``bert.base`` and ``bert.small``, fine-tuning BERT),
plus the 2.0 edition's ``time_machine`` and Kaggle house-price files, which the 1.0 edition reads by
URL with the same SHA-1. ``tests/data/d2l_1_0_3_hub.json`` holds d2l's list, read from its source,
and a test compares the two. Chapters are those of the 1.0 edition.

The BERT section registers other files per framework under the same two keys (MXNet:
``bert.base.zip``, ``bert.small.zip``); PyTorch's are listed here, as the MXNet cell registers its
own before reading them.
"""

from __future__ import annotations

from typing import NamedTuple

DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"


class HubInfo(NamedTuple):
    """What d2lx records about a hub file besides its URL and SHA-1."""

    chapter: int  # the 1.0 edition's chapter that reads the file
    size: int | None  # in bytes, where known (the files d2lx has seen); None otherwise


# One row per file. ``file`` is relative to DATA_URL unless it has a scheme (the hosts the book reads
# from directly); ``bytes`` is "-" where d2lx has not seen the file. A text table rather than Python
# tuples, so that each row stays one line and the columns line up (and the long URLs come last).
_TABLE = """\
key                 sha1                                      chapter  bytes    file
kaggle_house_train  585e9cc93e70b39160e7921475f9bcd7d31219ce  5        460676   kaggle_house_pred_train.csv
kaggle_house_test   fa19780a7b011d9b009e8bff8e99922a8ee2eb90  5        451405   kaggle_house_pred_test.csv
time_machine        090b5e7e70c295757f55df93cb0a180b9691891a  9        178979   timemachine.txt
fra-eng             94646ad1522d915e7b0f9296181140edcf86a4f5  10       3420152  fra-eng.zip
airfoil             76e5be1548fd8222e5074cf0faae75edff8cf93f  12       59984    airfoil_self_noise.dat
hotdog              fba480ffa8aa7e0febbb511d181409f899b9baa5  14       -        hotdog.zip
banana-detection    5de26c8fce5ccdea9f91267273464dc968d20d72  14       -        banana-detection.zip
voc2012             4e443f8a2eca6b1dac8a6c57641b67dd40621a49  14       -        VOCtrainval_11-May-2012.tar
cifar10_tiny        2068874e4b9a9f0fb07ebe0ad2b29754449ccacd  14       -        kaggle_cifar10_tiny.zip
dog_tiny            0cb91d09b814ecdc07b50f31f8dcad3e81d6a86d  14       -        kaggle_dog_tiny.zip
ptb                 319d85e578af0cdc590547f26231e4e31cdf1e42  15       1981551  ptb.zip
glove.6b.50d        0b8703943ccdb6eb788e6f091b8946e82231bc4d  15       -        glove.6B.50d.zip
glove.6b.100d       cd43bfb07e44e6f27cbcc7bc9ae3d80284fdaf5a  15       -        glove.6B.100d.zip
glove.42b.300d      b5116e234e9eb9076672cfeabf5469f3eec904fa  15       -        glove.42B.300d.zip
wiki.en             c1816da3821ae9f43899be655002f6c723e91b88  15       -        wiki.en.zip
wikitext-2          3c914d17d80b1459be871a5039ac23e752a53cbe  15       -        https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip
aclImdb             01ada507287d82875905620988597833ad4e0903  16       -        aclImdb_v1.tar.gz
SNLI                9fcde07509c7e87ec61c640c1b2753d9041758e4  16       -        https://nlp.stanford.edu/projects/snli/snli_1.0.zip
bert.base           225d66f04cae318b841a13d32af3acc165f253ac  16       -        bert.base.torch.zip
bert.small          c72329e68a732bef0452e4b96a1c341c8910f81f  16       -        bert.small.torch.zip
pokemon             c065c0e2593b8b161a2d7873e42418bf6a21106c  20       -        pokemon.zip
ml-100k             cd4dcac4241c8a4ad7badc7ca635da8a69dddb83  21       -        https://files.grouplens.org/datasets/movielens/ml-100k.zip
ctr                 e18327c48c8e8e5c23da714dd614e390d369843f  21       -        ctr.zip
"""
_COLUMNS = ["key", "sha1", "chapter", "bytes", "file"]


def _read_table(table: str) -> tuple[dict[str, tuple[str, str]], dict[str, HubInfo]]:
    """``DATA_HUB`` and ``HUB_INFO`` from the text table above."""
    header, *rows = table.splitlines()
    if header.split() != _COLUMNS:
        raise ValueError(f"the hub table's columns must be {_COLUMNS}, got {header.split()}")
    data_hub, hub_info = {}, {}
    for row in rows:
        cells = row.split()
        if len(cells) != len(_COLUMNS) or cells[0] in data_hub:
            problem = "a second row for its key" if len(cells) == len(_COLUMNS) else f"{len(cells)} columns"
            raise ValueError(f"the hub table's row {row!r} has {problem}; each key has one row of {_COLUMNS}")
        key, sha1, chapter, size, file = cells
        data_hub[key] = (file if "://" in file else DATA_URL + file, sha1)
        hub_info[key] = HubInfo(int(chapter), None if size == "-" else int(size))
    return data_hub, hub_info


# name -> (url, sha1): ``download(name)`` looks names up here; book cells add their own entries.
DATA_HUB: dict[str, tuple[str, str]]
HUB_INFO: dict[str, HubInfo]
DATA_HUB, HUB_INFO = _read_table(_TABLE)
