"""The sequence data sets of chapters 9 and 10, written once: ``TimeMachine``, ``MTFraEng`` and the 2.0 edition's
loaders (``seq_data_iter_random``, ``SeqDataLoader``, ``load_data_time_machine``, ``build_array_nmt``,
``load_data_nmt``).

Everything here builds numpy arrays of token indices; a backend's ``DataModule`` only turns them into its
tensors (``_from_numpy``, in its integer type ``_index_dtype``) and batches them by index, as for the
synthetic data and Fashion-MNIST. The text itself (the ``Vocab``, reading and tokenizing) is in
``d2lx/text.py``.

Each backend's ``TimeMachine`` is ``on_data_module(TimeMachineBase, DataModule)``: a class whose only
base is the backend's ``DataModule``, as in the book. The book's language-model section redefines
``d2l.TimeMachine.__init__`` in a cell that calls ``super(d2l.TimeMachine, self).__init__()``; that
call must reach ``DataModule.__init__``, which a mixin base class with its own ``__init__`` would
intercept.

Bad input stops with one sentence before any tensor is made: a ``num_steps`` the corpus cannot fill,
``num_train + num_val`` beyond the sequences or sentence pairs there are, a corpus too short for one
batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from d2lx import checks
from d2lx.datamodule import DataModuleBase
from d2lx.text import (
    Vocab,
    _describe,
    count_pairs,
    first_pairs,
    flat_tokens,
    letters_only,
    load_corpus_time_machine,
    preprocess_nmt,
    read_data_nmt,
    read_time_machine_text,
    sentence_pairs,
    tokenize_nmt,
    truncate_pad,
)
from d2lx.utils import numpy_rng

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"


# --- language-model sequences ------------------------------------------------------
def corpus_array(corpus, name: str = "corpus") -> np.ndarray:
    """``corpus`` (a list, array or tensor of token indices) as a 1-D int64 numpy array, or a clear error."""
    from d2lx.plotting import to_numpy

    try:
        array = np.asarray(corpus if isinstance(corpus, (list, tuple)) else to_numpy(corpus))
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise TypeError(f"{name} must be a list of token indices (ints), got {_describe(corpus)}")
    return array.astype(np.int64, copy=False)


def language_model_windows(corpus, num_steps: int, needed: int) -> np.ndarray:
    """Every run of ``num_steps + 1`` consecutive tokens of ``corpus``, one per row (a read-only view).

    Row ``i`` starts at token ``i``; its first ``num_steps`` tokens are an input and its last ``num_steps``
    the targets. ``needed`` rows (``num_train + num_val``) must exist.
    """
    array = corpus_array(corpus)
    available = array.size - num_steps
    if available < 1:
        raise ValueError(
            f"num_steps must be less than the corpus length ({array.size} tokens): a sequence and its "
            f"targets take num_steps + 1 tokens, got num_steps={num_steps}"
        )
    if needed > available:
        raise ValueError(
            f"num_train + num_val must be at most {available}, the number of sequences of num_steps + 1 = "
            f"{num_steps + 1} tokens in the corpus of {array.size} tokens, got {needed}"
        )
    return np.lib.stride_tricks.sliding_window_view(array, num_steps + 1)


class TimeMachineBase(DataModuleBase):
    """*The Time Machine* by character: ``TimeMachine(batch_size, num_steps, num_train=10000, num_val=5000)``.

    ``X[i]`` holds ``num_steps`` tokens starting at token ``i`` of ``corpus`` and ``Y[i]`` the same shifted by one;
    the first ``num_train`` rows train and the next ``num_val`` validate. ``vocab`` maps the 26 letters,
    the space and ``'<unk>'`` (28 tokens). The file comes through the hub (``DATA_HUB['time_machine']``),
    from ``root``, else ``$D2LX_DATA_DIR``, else ``../data``.

    The methods below become those of each backend's ``TimeMachine`` (``on_data_module``): they call
    their base by name, not with ``super()``.
    """

    def __init__(self, batch_size: int, num_steps: int, num_train: int = 10000, num_val: int = 5000):
        DataModuleBase.__init__(self)
        self.save_hyperparameters()
        self.corpus, self.vocab = self.build(self._download())
        windows = language_model_windows(self.corpus, num_steps, num_train + num_val)
        self.X = self._from_numpy(np.ascontiguousarray(windows[:, :-1], dtype=self._index_dtype))
        self.Y = self._from_numpy(np.ascontiguousarray(windows[:, 1:], dtype=self._index_dtype))

    def _download(self) -> str:
        return read_time_machine_text(self.root)

    def _preprocess(self, text: str) -> str:
        return letters_only(text)

    def _tokenize(self, text: str) -> list[str]:
        return list(text)

    def build(self, raw_text: str, vocab: Vocab | None = None) -> tuple[list[int], Vocab]:
        """``(corpus, vocab)``: the indices of the characters of ``raw_text`` once preprocessed, and the
        vocabulary (``vocab`` if given: characters it lacks become ``'<unk>'``)."""
        if not isinstance(raw_text, str):
            raise TypeError(f"raw_text must be a str, got {_describe(raw_text)}")
        tokens = self._tokenize(self._preprocess(raw_text))
        if vocab is None:
            vocab = Vocab(tokens)
        return vocab[tokens], vocab

    def get_dataloader(self, train: bool):
        rows = slice(0, self.num_train) if train else slice(self.num_train, self.num_train + self.num_val)
        return self.get_tensorloader([self.X, self.Y], train, rows)


# --- translation pairs -------------------------------------------------------------
def nmt_arrays(src: list[list[str]], tgt: list[list[str]], num_steps: int, src_vocab: Vocab | None = None,
               tgt_vocab: Vocab | None = None) -> tuple[tuple[np.ndarray, ...], Vocab, Vocab]:  # fmt: skip
    """``((src, dec_input, src_valid_len, label), src_vocab, tgt_vocab)`` as int64 numpy arrays.

    Each sentence (its tokens end in ``'<eos>'``) is cut to ``num_steps`` tokens or padded with ``'<pad>'``;
    a target also starts with ``'<bos>'``, so the decoder's input is ``'<bos>'`` and the first
    ``num_steps - 1`` target tokens and its label is the target itself. ``src_valid_len`` counts a
    source's tokens other than ``'<pad>'``. A vocabulary not given is built from the sentences, keeping
    tokens seen at least twice (and always ``'<pad>'``, ``'<bos>'``, ``'<eos>'``).
    """
    src_rows = [truncate_pad(s, num_steps, PAD) for s in src]
    tgt_rows = [[BOS] + truncate_pad(t, num_steps, PAD) for t in tgt]
    if src_vocab is None:
        src_vocab = Vocab(src_rows, min_freq=2, reserved_tokens=[PAD, BOS, EOS])
    if tgt_vocab is None:
        tgt_vocab = Vocab(tgt_rows, min_freq=2, reserved_tokens=[PAD, BOS, EOS])
    source = np.array([src_vocab[row] for row in src_rows], dtype=np.int64).reshape(-1, num_steps)
    target = np.array([tgt_vocab[row] for row in tgt_rows], dtype=np.int64).reshape(-1, num_steps + 1)
    src_valid_len = (source != src_vocab[PAD]).sum(axis=1)
    return (source, target[:, :-1], src_valid_len, target[:, 1:]), src_vocab, tgt_vocab


class MTFraEngBase(DataModuleBase):
    """English-French sentence pairs: ``MTFraEng(batch_size, num_steps=9, num_train=512, num_val=128)``.

    ``arrays`` is ``(src, dec_input, src_valid_len, label)`` over the first ``num_train + num_val`` pairs of
    ``fra-eng.zip`` (``DATA_HUB['fra-eng']``); the first ``num_train`` rows train, the other ``num_val``
    validate. ``src_vocab`` and ``tgt_vocab`` keep the words seen at least twice. ``build(src_sentences,
    tgt_sentences)`` encodes new sentences with these vocabularies.

    Unlike d2l 1.0.3, which reads one pair more than asked (``i > max_examples``), the validation set
    has exactly ``num_val`` pairs.
    """

    def __init__(self, batch_size: int, num_steps: int = 9, num_train: int = 512, num_val: int = 128):
        DataModuleBase.__init__(self)
        self.save_hyperparameters()
        raw_text = self._download()
        wanted = num_train + num_val
        available = count_pairs(raw_text, wanted)
        if available < wanted:
            raise ValueError(
                f"num_train + num_val must be at most {available}, the number of sentence pairs in the "
                f"data, got {num_train} + {num_val} = {wanted}"
            )
        self.arrays, self.src_vocab, self.tgt_vocab = self._build_arrays(raw_text)

    def _download(self) -> str:
        return read_data_nmt(self.root)

    def _preprocess(self, text: str) -> str:
        return preprocess_nmt(text)

    def _tokenize(self, text: str, max_examples: int | None = None) -> tuple[list[list[str]], list[list[str]]]:
        return sentence_pairs(text, max_examples)

    def _build_arrays(self, raw_text: str, src_vocab: Vocab | None = None, tgt_vocab: Vocab | None = None):
        wanted = self.num_train + self.num_val
        src, tgt = self._tokenize(self._preprocess(first_pairs(raw_text, wanted)), wanted)
        return self._encode(src, tgt, src_vocab, tgt_vocab)

    def _encode(self, src, tgt, src_vocab, tgt_vocab):
        arrays, src_vocab, tgt_vocab = nmt_arrays(src, tgt, self.num_steps, src_vocab, tgt_vocab)
        tensors = tuple(self._from_numpy(np.ascontiguousarray(a, dtype=self._index_dtype)) for a in arrays)
        return tensors, src_vocab, tgt_vocab

    def get_dataloader(self, train: bool):
        rows = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader(self.arrays, train, rows)

    def build(self, src_sentences: Sequence[str], tgt_sentences: Sequence[str]) -> tuple:
        """``(src, dec_input, src_valid_len, label)`` of new sentence pairs, preprocessed as the data set was and
        encoded with its vocabularies (unknown words become ``'<unk>'``)."""
        for name, sentences in (("src_sentences", src_sentences), ("tgt_sentences", tgt_sentences)):
            if isinstance(sentences, str) or not isinstance(sentences, (list, tuple)):
                raise TypeError(f"{name} must be a list of sentences (str), got {_describe(sentences)}")
            for i, sentence in enumerate(sentences):
                if not isinstance(sentence, str) or "\t" in sentence or "\n" in sentence:
                    raise TypeError(f"{name} must be a list of one-line sentences (str), got {sentence!r} at {i}")
        if len(src_sentences) != len(tgt_sentences):
            raise ValueError(
                f"src_sentences and tgt_sentences must pair up, got {len(src_sentences)} and {len(tgt_sentences)}"
            )
        raw_text = "\n".join(f"{s}\t{t}" for s, t in zip(src_sentences, tgt_sentences))
        src, tgt = self._tokenize(self._preprocess(raw_text))
        arrays, _, _ = self._encode(src, tgt, self.src_vocab, self.tgt_vocab)
        return arrays


# --- the 2.0 edition's loaders -------------------------------------------------------
def _check_corpus_length(corpus: np.ndarray, batch_size: int, num_steps: int, needed: int) -> None:
    if corpus.size < needed:
        raise ValueError(
            f"corpus must hold at least {needed} tokens for one batch of batch_size={batch_size} sequences of "
            f"num_steps={num_steps} tokens (and their targets, from any starting offset), got {corpus.size}"
        )


def random_batches(corpus, batch_size: int, num_steps: int):
    """The 2.0 edition's random sampling, as numpy ``(X, Y)`` pairs: after dropping a random ``0..num_steps-1``
    first tokens, the corpus is cut into pieces of ``num_steps`` tokens, shuffled, and served ``batch_size``
    at a time (``Y`` is ``X`` one token later). Drawn from d2lx's seeded generator."""
    array = corpus_array(corpus)
    batch_size = checks.positive_int("batch_size", batch_size)
    num_steps = checks.positive_int("num_steps", num_steps)
    _check_corpus_length(array, batch_size, num_steps, (batch_size + 1) * num_steps)
    return _random_batches(array, batch_size, num_steps)


def _random_batches(array: np.ndarray, batch_size: int, num_steps: int):
    rng = numpy_rng()
    array = array[int(rng.integers(0, num_steps)) :]
    pieces = (array.size - 1) // num_steps
    starts = rng.permutation(pieces) * num_steps
    steps = np.arange(num_steps)
    for first in range(0, (pieces // batch_size) * batch_size, batch_size):
        index = starts[first : first + batch_size, None] + steps
        yield array[index], array[index + 1]


def sequential_batches(corpus, batch_size: int, num_steps: int):
    """The 2.0 edition's sequential partitioning, as numpy ``(X, Y)`` pairs: after dropping a random
    ``0..num_steps`` first tokens, the corpus is laid out in ``batch_size`` rows and served ``num_steps``
    columns at a time, so row ``i`` of one batch continues row ``i`` of the batch before."""
    array = corpus_array(corpus)
    batch_size = checks.positive_int("batch_size", batch_size)
    num_steps = checks.positive_int("num_steps", num_steps)
    _check_corpus_length(array, batch_size, num_steps, (batch_size + 1) * num_steps + 1)
    return _sequential_batches(array, batch_size, num_steps)


def _sequential_batches(array: np.ndarray, batch_size: int, num_steps: int):
    offset = int(numpy_rng().integers(0, num_steps + 1))
    length = (array.size - offset - 1) // batch_size * batch_size
    Xs = array[offset : offset + length].reshape(batch_size, -1)
    Ys = array[offset + 1 : offset + 1 + length].reshape(batch_size, -1)
    for first in range(0, Xs.shape[1] // num_steps * num_steps, num_steps):
        yield Xs[:, first : first + num_steps], Ys[:, first : first + num_steps]


def nmt_examples(num_examples: int) -> tuple[list[list[str]], list[list[str]]]:
    """The 2.0 edition's ``(source, target)``: the words of the first ``num_examples`` pairs (an error if fewer)."""
    num_examples = checks.positive_int("num_examples", num_examples)
    raw_text = read_data_nmt()
    available = count_pairs(raw_text, num_examples)
    if available < num_examples:
        raise ValueError(
            f"num_examples must be at most {available}, the number of sentence pairs in the data, got {num_examples}"
        )
    return tokenize_nmt(preprocess_nmt(first_pairs(raw_text, num_examples)), num_examples)


def make_sequence_functions(DataModule: type, load_array: Callable) -> tuple:
    """The 2.0 edition's sequence loaders for a backend: ``seq_data_iter_random``, ``seq_data_iter_sequential``,
    ``SeqDataLoader``, ``load_data_time_machine``, ``build_array_nmt`` and ``load_data_nmt``.

    They hand out the backend's tensors (its ``DataModule._from_numpy``, in its ``_index_dtype``);
    ``load_array`` is the backend's 2.0 ``load_array``.
    """
    module = DataModule()

    def tensor(array: np.ndarray):
        return module._from_numpy(np.ascontiguousarray(array, dtype=module._index_dtype))

    def as_tensors(batches):
        for X, Y in batches:
            yield tensor(X), tensor(Y)

    def seq_data_iter_random(corpus, batch_size: int, num_steps: int):
        """Minibatches ``(X, Y)`` of random pieces of ``corpus`` (``Y`` is ``X`` one token later)."""
        return as_tensors(random_batches(corpus, batch_size, num_steps))

    def seq_data_iter_sequential(corpus, batch_size: int, num_steps: int):
        """Minibatches ``(X, Y)`` whose rows continue from one batch to the next."""
        return as_tensors(sequential_batches(corpus, batch_size, num_steps))

    class SeqDataLoader:
        """An iterable over *The Time Machine*'s characters: a fresh pass of minibatches per ``iter``."""

        def __init__(self, batch_size: int, num_steps: int, use_random_iter: bool, max_tokens: int):
            self.data_iter_fn = seq_data_iter_random if use_random_iter else seq_data_iter_sequential
            self.corpus, self.vocab = load_corpus_time_machine(max_tokens)
            self.batch_size = checks.positive_int("batch_size", batch_size)
            self.num_steps = checks.positive_int("num_steps", num_steps)
            self.data_iter_fn(self.corpus, self.batch_size, self.num_steps)  # checks the corpus is long enough

        def __iter__(self):
            return self.data_iter_fn(self.corpus, self.batch_size, self.num_steps)

    SeqDataLoader.__qualname__ = "SeqDataLoader"

    def load_data_time_machine(batch_size: int, num_steps: int, use_random_iter: bool = False,
                               max_tokens: int = 10000):  # fmt: skip
        """``(data_iter, vocab)`` over the first ``max_tokens`` characters of *The Time Machine*."""
        data_iter = SeqDataLoader(batch_size, num_steps, use_random_iter, max_tokens)
        return data_iter, data_iter.vocab

    def build_array_nmt(lines, vocab: Vocab, num_steps: int):
        """``(array, valid_len)``: each line's indices and ``'<eos>'``, cut or padded to ``num_steps``."""
        if not isinstance(vocab, Vocab):
            raise TypeError(f"vocab must be a Vocab, got {_describe(vocab)}")
        num_steps = checks.positive_int("num_steps", num_steps)
        if not isinstance(lines, (list, tuple)) or not all(isinstance(line, (list, tuple)) for line in lines):
            raise TypeError(f"lines must be a list of token lists (one per sentence), got {_describe(lines)}")
        flat_tokens(lines, "lines")
        rows = [truncate_pad(vocab[list(line)] + [vocab[EOS]], num_steps, vocab[PAD]) for line in lines]
        array = np.array(rows, dtype=np.int64).reshape(-1, num_steps)
        return tensor(array), tensor((array != vocab[PAD]).sum(axis=1))

    def load_data_nmt(batch_size: int, num_steps: int, num_examples: int = 600):
        """``(data_iter, src_vocab, tgt_vocab)``: shuffled minibatches ``(X, X_valid_len, Y, Y_valid_len)`` of the
        first ``num_examples`` English-French pairs."""
        source, target = nmt_examples(num_examples)
        src_vocab = Vocab(source, min_freq=2, reserved_tokens=[PAD, BOS, EOS])
        tgt_vocab = Vocab(target, min_freq=2, reserved_tokens=[PAD, BOS, EOS])
        src_array, src_valid_len = build_array_nmt(source, src_vocab, num_steps)
        tgt_array, tgt_valid_len = build_array_nmt(target, tgt_vocab, num_steps)
        data_iter = load_array((src_array, src_valid_len, tgt_array, tgt_valid_len), batch_size)
        return data_iter, src_vocab, tgt_vocab

    return (seq_data_iter_random, seq_data_iter_sequential, SeqDataLoader, load_data_time_machine,
            build_array_nmt, load_data_nmt)  # fmt: skip
