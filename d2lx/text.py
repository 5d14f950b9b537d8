"""Text for chapters 9 and 10 (2.0 edition: 8 and 9), written once for every backend.

Turning text into token indices and scoring a translation never touch a framework, so they are
plain Python here: the ``Vocab``, the two data sets' readers and tokenizers (*The Time Machine* and
the English-French pairs), ``bleu``, the histogram of sequence lengths, the 2.0 edition's
functions that return lists (``read_time_machine``, ``tokenize``, ``load_corpus_time_machine``,
``read_data_nmt``, ``preprocess_nmt``, ``tokenize_nmt``, ``truncate_pad``) and the numpy
reference of ``sequence_mask`` that each backend's masking is tested against.

The data modules that hand out framework tensors (``TimeMachine``, ``MTFraEng``) are in
``d2lx/sequence_data.py``.

Where d2l 1.0.3 goes wrong and d2lx does not:

* ``Vocab.to_tokens([i])`` indexes a list with a list (``TypeError``); here a list of any length
  gives a list of tokens, an int (or a 0-d array or tensor) gives one token, a 2-D tensor a list
  of lists.
* ``Vocab("some text")`` counts characters and ``Vocab([1, 2])`` makes numbers tokens, silently;
  here anything but a list of str tokens (or a list of such lists) is refused, naming where.
* ``bleu(..., k=0)`` returns the brevity penalty alone as if it were a score; here ``k`` must be
  a positive int.
* ``tokenize(lines, 'chars')`` prints an error and returns None; here it raises.
* Asking the English-French reader for ``n`` examples returns ``n + 1`` (``i > max_examples``);
  here it returns ``n``.
"""

from __future__ import annotations

import collections
import math
import numbers
import re
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from d2lx import checks
from d2lx.hub import download

TIME_MACHINE = "time_machine"  # the DATA_HUB names of the two files
FRA_ENG = "fra-eng"
FRA_ENG_MEMBER = "fra-eng/fra.txt"  # the pairs inside fra-eng.zip
UNK = "<unk>"


# --- the vocabulary ------------------------------------------------------------------
def _not_tokens(name: str, got: Any, where: str = "") -> TypeError:
    at = f" at {where}" if where else ""
    return TypeError(
        f"{name} must be a list of str tokens or a list of such lists (one per line), got {_describe(got)}{at}"
    )


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def flat_tokens(tokens: Any, name: str = "tokens") -> list[str]:
    """``tokens`` (a list of str, or a list of lists of str) as one flat list, or a ``TypeError`` saying where.

    A str is refused: ``Vocab("the time")`` would silently count characters. Tuples count as lists.
    """
    if not isinstance(tokens, (list, tuple)):
        raise _not_tokens(name, tokens)
    nested = any(isinstance(t, (list, tuple)) for t in tokens)
    flat: list[str] = []
    for i, item in enumerate(tokens):
        if not nested:
            if not isinstance(item, str):
                raise _not_tokens(name, item, f"{name}[{i}]")
            flat.append(item)
            continue
        if not isinstance(item, (list, tuple)):
            raise _not_tokens(name, item, f"{name}[{i}], where the other items are lists")
        for j, token in enumerate(item):
            if not isinstance(token, str):
                raise _not_tokens(name, token, f"{name}[{i}][{j}]")
        flat.extend(item)
    return flat


class Vocab:
    """Vocabulary for text: ``Vocab(tokens=[], min_freq=0, reserved_tokens=[])``, as in the book's 1.0 edition.

    Tokens are indexed in sorted order, with ``'<unk>'`` and the ``reserved_tokens`` among them;
    tokens seen fewer than ``min_freq`` times are left out and map to ``'<unk>'``, as every token
    the vocabulary has not seen does. ``token_freqs`` lists ``(token, count)`` from the most
    frequent down (ties in order of first appearance). ``vocab[token]`` is an index, ``vocab[list]``
    a list of them; ``to_tokens`` goes back.
    """

    def __init__(self, tokens: Sequence = [], min_freq: int = 0, reserved_tokens: Sequence[str] = []):  # noqa: B006
        flat = flat_tokens(tokens)
        min_freq = checks.non_negative_int("min_freq", min_freq)
        reserved = flat_tokens(reserved_tokens, "reserved_tokens")
        counts = collections.Counter(flat)
        self.token_freqs: list[tuple[str, int]] = sorted(counts.items(), key=lambda pair: pair[1], reverse=True)
        kept = {token for token, count in self.token_freqs if count >= min_freq}
        self.idx_to_token: list[str] = sorted(kept | set(reserved) | {UNK})
        self.token_to_idx: dict[str, int] = {token: i for i, token in enumerate(self.idx_to_token)}

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        """The index of a token (``unk`` for one not in the vocabulary), or a list of indices for a list."""
        if isinstance(tokens, (list, tuple)):
            return [self[token] for token in tokens]
        return self.token_to_idx.get(tokens, self.unk)

    def to_tokens(self, indices):
        """The token of an index, or the tokens of a list, array or tensor of them (nested as the input is).

        One element in a list gives a list of one token (d2l 1.0.3 fails there); an int or a 0-d
        array or tensor gives the token itself.
        """
        if isinstance(indices, (list, tuple)):  # item by item: the lists may differ in length
            return [self.to_tokens(index) for index in indices]
        if isinstance(indices, numbers.Integral) and not isinstance(indices, bool):
            return self._token(int(indices))
        from d2lx.plotting import to_numpy

        try:
            array = np.asarray(to_numpy(indices))
        except (TypeError, ValueError):
            array = np.asarray(None)
        if array.dtype.kind == "f" and np.isfinite(array).all() and (array == np.round(array)).all():
            array = array.astype(np.int64)  # whole numbers held as floats (MXNet's default dtype)
        if array.dtype.kind not in "iu":
            raise TypeError(
                f"indices must be ints (an int, a list, an array or a tensor of them), got {_describe(indices)}"
            )
        return self._token(int(array)) if array.ndim == 0 else [self.to_tokens(row) for row in array]

    def _token(self, index: int) -> str:
        if not 0 <= index < len(self.idx_to_token):
            raise IndexError(f"indices must be in [0, {len(self.idx_to_token)}) for this vocabulary, got {index}")
        return self.idx_to_token[index]

    @property
    def unk(self) -> int:
        """The index of ``'<unk>'``."""
        return self.token_to_idx[UNK]

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens)"


# --- The Time Machine ---------------------------------------------------------------
def read_time_machine_text(folder=None) -> str:
    """The whole text of *The Time Machine*, through the hub (``DATA_HUB['time_machine']``, checked by SHA-1)."""
    with open(download(TIME_MACHINE, folder), encoding="utf-8") as f:
        return f.read()


_NOT_LETTERS = re.compile("[^A-Za-z]+")


def letters_only(text: str) -> str:
    """Each run of characters other than the 26 letters as one space, in lower case (the book's preprocessing)."""
    return _NOT_LETTERS.sub(" ", text).lower()


def read_time_machine() -> list[str]:
    """The 2.0 edition's reader: one string per line of the book, letters and spaces only, lower case, stripped."""
    lines = read_time_machine_text().split("\n")
    if lines[-1] == "":  # the line break that ends the file starts no line (as with ``readlines``)
        lines.pop()
    return [letters_only(line).strip() for line in lines]


def tokenize(lines: Sequence[str], token: str = "word") -> list[list[str]]:
    """The 2.0 edition's tokenizer: each line as its words (``token='word'``) or its characters (``'char'``)."""
    if token not in ("word", "char"):
        raise ValueError(f"token must be 'word' or 'char', got {token!r}")
    if isinstance(lines, str) or not isinstance(lines, (list, tuple)):
        raise TypeError(f"lines must be a list of str (one per line), got {_describe(lines)}")
    for i, line in enumerate(lines):
        if not isinstance(line, str):
            raise TypeError(f"lines must be a list of str (one per line), got {_describe(line)} at lines[{i}]")
    return [line.split() if token == "word" else list(line) for line in lines]


def count_corpus(tokens: Sequence) -> collections.Counter:
    """How often each token occurs in a list of tokens or a list of token lists (the 2.0 edition's helper)."""
    return collections.Counter(flat_tokens(tokens))


def load_corpus_time_machine(max_tokens: int = -1) -> tuple[list[int], Vocab]:
    """``(corpus, vocab)`` of *The Time Machine* by character: the indices of every character of every line
    (the first ``max_tokens`` if it is positive), and their ``Vocab``."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, numbers.Integral):
        raise TypeError(f"max_tokens must be an int (at most that many tokens; 0 or less: all), got {max_tokens!r}")
    tokens = tokenize(read_time_machine(), "char")
    vocab = Vocab(tokens)
    corpus = [vocab[token] for line in tokens for token in line]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab


# --- the English-French pairs ----------------------------------------------------
def read_data_nmt(folder=None) -> str:
    """The tab-separated English-French pairs, one per line, read from ``fra-eng.zip`` (``DATA_HUB['fra-eng']``).

    The book extracts the archive and opens ``fra-eng/fra.txt``; reading the member straight from the
    verified archive gives the same text and writes nothing next to it.
    """
    with zipfile.ZipFile(download(FRA_ENG, folder)) as archive:
        return archive.read(FRA_ENG_MEMBER).decode("utf-8")


_PUNCTUATION = ",.!?"


def preprocess_nmt(text: str) -> str:
    """Lower case, non-breaking spaces as spaces, and a space before ``, . ! ?`` where there is none.

    The book does this one character at a time in Python; here a space goes before every mark and is
    taken out again where the mark had one already, and at the very start: the same text, in a fifth
    of the time (1 s against 5 on the whole 12 MB file, here; the data modules preprocess only the
    lines they read, see ``first_pairs``).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {_describe(text)}")
    text = text.replace("\u202f", " ").replace("\xa0", " ").lower()
    first = text[:1]
    for mark in _PUNCTUATION:
        text = text.replace(mark, " " + mark).replace("  " + mark, " " + mark)
    return text[1:] if first in tuple(_PUNCTUATION) else text  # no space before a mark that starts the text


def first_pairs(text: str, count: int) -> str:
    """The start of ``text`` up to the end of its ``count``-th line holding one tab (all of it if it has fewer).

    Preprocessing keeps tabs and line breaks, so preprocessing this part alone gives the first ``count``
    pairs of the preprocessed whole, without lower-casing the other 12 MB.
    """
    return text[: _scan_pairs(text, count)[0]]


def count_pairs(text: str, limit: int) -> int:
    """How many lines of ``text`` hold one tab (a sentence pair), counting up to ``limit`` at most."""
    return _scan_pairs(text, limit)[1]


def _scan_pairs(text: str, count: int) -> tuple[int, int]:
    """``(end, found)``: where the ``count``-th pair line ends and how many were found (the end of ``text``
    and fewer, where it holds fewer)."""
    found = 0
    for end, line in _line_ends(text):
        found += line.count("\t") == 1
        if found == count:
            return end, found
    return len(text), found


def _line_ends(text: str):
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        yield end, text[start:end]
        start = end + 1


def sentence_pairs(text: str, max_examples: int | None = None, *, drop_empty: bool = True, eos: bool = True):
    """``(src, tgt)``: the token lists of the first ``max_examples`` lines of ``text`` that hold one tab (all if None).

    With ``eos`` each list ends in ``'<eos>'`` (the 1.0 edition's ``MTFraEng._tokenize``); with ``drop_empty``
    the empty strings that double spaces leave are dropped (the 1.0 edition; the 2.0 edition keeps them).
    """
    if max_examples is not None:
        max_examples = checks.positive_int("max_examples", max_examples)
    src: list[list[str]] = []
    tgt: list[list[str]] = []
    for _, line in _line_ends(text):  # one at a time: the first few lines do not split 12 MB
        if max_examples is not None and len(src) >= max_examples:
            break
        parts = line.split("\t")
        if len(parts) != 2:
            continue
        for side, out in zip(parts, (src, tgt)):
            words = side.split(" ")
            if drop_empty:
                words = [w for w in words if w]
            out.append(words + ["<eos>"] if eos else words)
    return src, tgt


def tokenize_nmt(text: str, num_examples: int | None = None) -> tuple[list[list[str]], list[list[str]]]:
    """The 2.0 edition's tokenizer: ``(source, target)``, the words of the first ``num_examples`` pairs."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {_describe(text)}")
    return sentence_pairs(text, num_examples, drop_empty=False, eos=False)


def truncate_pad(line: Sequence, num_steps: int, padding_token) -> list:
    """``line`` cut to ``num_steps`` items, or filled up to ``num_steps`` with ``padding_token``."""
    num_steps = checks.positive_int("num_steps", num_steps)
    line = list(line)
    return line[:num_steps] + [padding_token] * (num_steps - len(line))


def show_list_len_pair_hist(legend, xlabel: str, ylabel: str, xlist, ylist):
    """Histogram of the lengths of the lists in ``xlist`` and in ``ylist`` side by side (the second hatched)."""
    from d2lx.plotting import _pyplot, set_figsize

    set_figsize()
    plt = _pyplot()
    _, _, patches = plt.hist([[len(x) for x in xlist], [len(y) for y in ylist]])
    plt.xlabel(xlabel)
    plt.ylabel(ylabel)
    for patch in patches[1].patches:
        patch.set_hatch("/")
    plt.legend(legend)
    return patches


# --- scoring -----------------------------------------------------------------------
def _ngrams(tokens: list[str], n: int) -> collections.Counter:
    return collections.Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu(pred_seq: str, label_seq: str, k: int) -> float:
    """BLEU of a predicted sentence against one label sentence (tokens separated by single spaces).

    ``exp(min(0, 1 - len_label / len_pred)) * prod_{n=1..k} p_n ** (1 / 2**n)``, where ``p_n`` is the
    share of the prediction's n-grams found in the label, each label n-gram matching at most as often
    as it occurs there. n-grams longer than the prediction are left out, as in the book.
    """
    for name, value in (("pred_seq", pred_seq), ("label_seq", label_seq)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str of space-separated tokens, got {_describe(value)}")
    k = checks.positive_int("k", k)
    pred, label = pred_seq.split(" "), label_seq.split(" ")
    score = math.exp(min(0.0, 1 - len(label) / len(pred)))
    for n in range(1, min(k, len(pred)) + 1):
        wanted = _ngrams(label, n)
        found = _ngrams(pred, n)
        matches = sum(min(count, wanted[gram]) for gram, count in found.items())
        score *= (matches / (len(pred) - n + 1)) ** (0.5**n)
    return score


# --- the masking reference ----------------------------------------------------------
def sequence_mask_numpy(X, valid_len, value=0) -> np.ndarray:
    """A copy of ``X`` (n, T, ...) with ``X[i, t, ...] = value`` wherever ``t >= valid_len[i]``: the numpy reference
    of ``sequence_mask`` (what each backend's version is tested against)."""
    from d2lx.plotting import to_numpy
    from d2lx.seq2seq import check_mask_arguments

    X = np.array(to_numpy(X))
    lengths = np.asarray(to_numpy(valid_len))
    check_mask_arguments(X.shape, lengths.shape, lengths)
    keep = np.arange(X.shape[1])[None, :] < lengths[:, None]
    X[~keep] = value
    return X
