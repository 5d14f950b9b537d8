"""Chapters 9-10's text and data, written once in the core: ``Vocab``, ``bleu``, the readers and tokenizers,
``TimeMachine`` and ``MTFraEng`` on every backend, the 2.0 edition's sequence loaders, the masking reference.

The data are the book's real files, ``timemachine.txt`` and ``fra-eng.zip``, staged by
``python3 .ci/stage_data.py`` into ``notebooks/data`` (or read from ``$D2LX_DATA_DIR``); the hub's URLs
point nowhere during the tests, so nothing is downloaded. Without the files the data tests fail, saying
how to stage them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import backend_name, staged_data

from d2lx import hub, text
from d2lx.plotting import to_numpy
from d2lx.text import Vocab, bleu, sequence_mask_numpy

INDEX_DTYPE = {"torch": np.int64, "mxnet": np.int32, "jax": np.int32, "tensorflow": np.int32}
FILES = {"time_machine": "timemachine.txt", "fra-eng": "fra-eng.zip"}  # DATA_HUB name -> file


@pytest.fixture
def staged(monkeypatch) -> Path:
    """The folder holding both files with the right SHA-1, as ``D2LX_DATA_DIR``; the hub cannot download."""
    files = {name: hub.DATA_HUB[key][1] for key, name in FILES.items()}
    folder = staged_data(monkeypatch, files, "timemachine.txt and fra-eng.zip")
    for key, name in FILES.items():  # never the internet, whatever happens
        monkeypatch.setitem(hub.DATA_HUB, key, ("http://127.0.0.1:9/" + name, hub.DATA_HUB[key][1]))
    return folder


def _array(x) -> np.ndarray:
    return np.asarray(to_numpy(x))


# --- Vocab ---------------------------------------------------------------------------
def test_vocab_indexes_sorted_tokens_with_unk_and_counts_frequencies():
    vocab = Vocab(["b", "a", "c", "a", "b", "a"])
    assert vocab.idx_to_token == ["<unk>", "a", "b", "c"] and len(vocab) == 4
    assert vocab.token_to_idx == {"<unk>": 0, "a": 1, "b": 2, "c": 3}
    assert vocab.token_freqs == [("a", 3), ("b", 2), ("c", 1)]
    assert vocab["b"] == 2 and vocab["zebra"] == vocab.unk == 0  # an unknown token maps to '<unk>'
    assert vocab[["a", ["c", "?"]]] == [1, [3, 0]]


def test_vocab_min_freq_and_reserved_tokens():
    lines = [["x", "y", "y"], ["z", "y", "x"]]  # a list of token lists is flattened
    vocab = Vocab(lines, min_freq=2, reserved_tokens=["<pad>", "<bos>"])
    assert vocab.idx_to_token == ["<bos>", "<pad>", "<unk>", "x", "y"]  # z (seen once) is left out
    assert vocab["z"] == vocab.unk == 2 and vocab["<pad>"] == 1
    assert vocab.token_freqs == [("y", 3), ("x", 2), ("z", 1)]
    assert Vocab().idx_to_token == ["<unk>"] and Vocab().token_freqs == []


def test_to_tokens_takes_an_int_a_one_element_list_a_list_and_arrays():
    vocab = Vocab(list("hello"))  # ['<unk>', 'e', 'h', 'l', 'o']
    assert vocab.to_tokens(2) == "h"
    assert vocab.to_tokens([2]) == ["h"]  # d2l 1.0.3: TypeError (a list indexed by a list)
    assert vocab.to_tokens((2,)) == ["h"]
    assert vocab.to_tokens([2, 1, 3, 3, 4]) == list("hello")
    assert vocab.to_tokens(np.array([4, 0])) == ["o", "<unk>"]
    assert vocab.to_tokens(np.array(3)) == "l" and vocab.to_tokens(np.int32(1)) == "e"
    assert vocab.to_tokens(np.array([[2, 1], [3, 4]])) == [["h", "e"], ["l", "o"]]
    assert vocab.to_tokens(np.array([2.0, 4.0])) == ["h", "o"]  # whole numbers held as floats
    assert vocab.to_tokens([]) == [] and vocab.to_tokens([[2], [1, 3]]) == [["h"], ["e", "l"]]


@pytest.mark.parametrize(
    ("indices", "error", "message"),
    [
        ([5], IndexError, "indices must be in [0, 5) for this vocabulary, got 5"),
        (-1, IndexError, "indices must be in [0, 5) for this vocabulary, got -1"),
        (["h"], TypeError, "indices must be ints (an int, a list, an array or a tensor of them), got 'h' (str)"),
        (
            np.array([1.5]),
            TypeError,
            "indices must be ints (an int, a list, an array or a tensor of them), got array([1.5]) (ndarray)",
        ),
        (True, TypeError, "indices must be ints (an int, a list, an array or a tensor of them), got True (bool)"),
    ],
)
def test_to_tokens_refuses_what_is_not_an_index(indices, error, message):
    with pytest.raises(error, match=re.escape(message)):
        Vocab(list("hello")).to_tokens(indices)


NOT_TOKENS = "tokens must be a list of str tokens or a list of such lists (one per line), got "


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ("the time", NOT_TOKENS + "'the time' (str)"),
        ([1, 2], NOT_TOKENS + "1 (int) at tokens[0]"),
        ([["a"], "b"], NOT_TOKENS + "'b' (str) at "
                       "tokens[1], where the other items are lists"),
        ([["a", 3]], NOT_TOKENS + "3 (int) at "
                     "tokens[0][1]"),
        (None, NOT_TOKENS + "None (NoneType)"),
    ],
)  # fmt: skip
def test_vocab_refuses_what_is_not_a_token_list(tokens, message):
    with pytest.raises(TypeError, match=re.escape(message) + "$"):
        Vocab(tokens)


def test_vocab_checks_min_freq_and_reserved_tokens():
    with pytest.raises(ValueError, match=re.escape("min_freq must be a non-negative int, got -1")):
        Vocab(["a"], min_freq=-1)
    message = "reserved_tokens must be a list of str tokens or a list of such lists (one per line), got '<pad>' (str)"
    with pytest.raises(TypeError, match=re.escape(message)):
        Vocab(["a"], reserved_tokens="<pad>")


# --- bleu --------------------------------------------------------------------------
def test_bleu_on_hand_worked_cases():
    assert bleu("il a froid .", "il a froid .", k=2) == 1.0
    # a prediction of 2 tokens against 4: every n-gram matches, brevity penalty exp(1 - 4/2)
    assert bleu("a b", "a b c d", k=2) == pytest.approx(math.exp(-1))
    # 3 of 4 unigrams and 1 of 3 bigrams match: sqrt(3/4) * (1/3) ** (1/4)
    assert bleu("a b c d", "a b e d", k=2) == pytest.approx(0.75**0.5 * (1 / 3) ** 0.25)
    assert bleu("a b c d", "a b e d", k=2) == pytest.approx(0.6580370064762462)
    # a label token matches once: 'a a a' finds one 'a' in 'a b' (1/3), no brevity penalty (3 >= 2)
    assert bleu("a a a", "a b", k=1) == pytest.approx((1 / 3) ** 0.5)
    # n-grams longer than the prediction are left out: k=4 on two tokens is k=2
    assert bleu("a b", "a b", k=4) == 1.0
    assert bleu("x y", "a b", k=2) == 0.0


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("a", "a", 0), ValueError, "k must be a positive int, got 0"),
        (("a", "a", -2), ValueError, "k must be a positive int, got -2"),
        (("a", "a", 1.5), TypeError, "k must be a positive int, got 1.5"),
        ((["a"], "a", 2), TypeError, "pred_seq must be a str of space-separated tokens, got ['a'] (list)"),
        (("a", None, 2), TypeError, "label_seq must be a str of space-separated tokens, got None (NoneType)"),
    ],
)
def test_bleu_refuses_bad_arguments(args, error, message):
    with pytest.raises(error, match=re.escape(message) + "$"):
        bleu(*args)


# --- the masking reference, the book's checks --------------------------------------
def test_sequence_mask_numpy_sets_positions_past_each_length():
    X = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    assert sequence_mask_numpy(X, np.array([1, 2])).tolist() == [[1, 0, 0], [4, 5, 0]]
    assert sequence_mask_numpy(X, [0, 5], value=-1).tolist() == [[-1, -1, -1], [4, 5, 6]]
    assert X.tolist() == [[1, 2, 3], [4, 5, 6]]  # a copy: the input is kept
    Y = sequence_mask_numpy(np.ones((2, 3, 4)), np.array([1, 2]), value=-1e6)
    assert (Y[0, 1:] == -1e6).all() and (Y[0, 0] == 1).all() and (Y[1, :2] == 1).all() and (Y[1, 2] == -1e6).all()
    with pytest.raises(
        ValueError, match=re.escape("valid_len must hold one length per row of X, shape (2,), got (3,)")
    ):
        sequence_mask_numpy(X, [1, 2, 3])
    with pytest.raises(
        ValueError, match=re.escape("X must have a batch axis and a time axis (n, T, ...), got shape (3,)")
    ):
        sequence_mask_numpy(np.ones(3), [1])


def test_check_len_and_check_shape(backend):
    from d2lx.rnn import check_len, check_shape

    X = backend.zeros((2, 3))
    check_shape(X, (2, 3))
    check_len([X, X], 2)
    with pytest.raises(AssertionError, match=re.escape("tensor's shape (2, 3) != expected shape (3, 2)")):
        check_shape(X, (3, 2))
    with pytest.raises(AssertionError, match=re.escape("list's length 2 != expected length 3")):
        check_len([X, X], 3)
    assert backend.check_shape is check_shape and backend.check_len is check_len


# --- tokenizing -------------------------------------------------------------------
def test_the_2_0_tokenizers_and_truncate_pad():
    assert text.tokenize(["the time", "a b"]) == [["the", "time"], ["a", "b"]]
    assert text.tokenize(["ab", ""], "char") == [["a", "b"], []]
    with pytest.raises(ValueError, match=re.escape("token must be 'word' or 'char', got 'chars'")):
        text.tokenize(["ab"], "chars")  # the book prints an error and returns None
    with pytest.raises(TypeError, match=re.escape("lines must be a list of str (one per line), got 'ab' (str)")):
        text.tokenize("ab")
    assert text.count_corpus([["a", "b"], ["a"]]) == {"a": 2, "b": 1}
    assert text.truncate_pad([1, 2, 3], 5, 0) == [1, 2, 3, 0, 0] and text.truncate_pad([1, 2, 3], 2, 0) == [1, 2]
    with pytest.raises(ValueError, match=re.escape("num_steps must be a positive int, got 0")):
        text.truncate_pad([1], 0, 0)


def _by_character(raw: str) -> str:
    """The book's ``preprocess_nmt``, one character at a time (the reference)."""
    raw = raw.replace("\u202f", " ").replace("\xa0", " ")
    lowered = raw.lower()
    return "".join(" " + c if i > 0 and c in ",.!?" and raw[i - 1] != " " else c for i, c in enumerate(lowered))


@pytest.mark.parametrize(
    "raw", ["Go.\tVa !", "Hi.\tSalut\u202f!", ".a", " .", "  .", "a?!", "x  ,", "?", "", "a.\n.b", ", ,", "Who?\tQui ?"]
)
def test_preprocess_nmt_spaces_punctuation_as_the_book_does(raw):
    assert text.preprocess_nmt(raw) == _by_character(raw)


def test_tokenize_nmt_reads_exactly_num_examples_pairs():
    raw = "Go.\tVa !\nno tab here\nHi.\tSalut !\nRun!\tCours !\n"
    source, target = text.tokenize_nmt(text.preprocess_nmt(raw), 2)  # d2l counts lines and reads one more
    assert source == [["go", "."], ["hi", "."]] and target == [["va", "!"], ["salut", "!"]]
    assert text.sentence_pairs("a  b\tc", 1) == ([["a", "b", "<eos>"]], [["c", "<eos>"]])
    assert text.first_pairs(raw, 2) == "Go.\tVa !\nno tab here\nHi.\tSalut !"
    assert text.first_pairs(raw, 9) == raw


def test_show_list_len_pair_hist_hatches_the_second_list():
    import matplotlib.pyplot as plt

    plt.close("all")
    patches = text.show_list_len_pair_hist(["source", "target"], "# tokens", "count", [[1], [1, 2]], [[1, 2, 3]])
    axes = plt.gca()
    assert axes.get_xlabel() == "# tokens" and axes.get_ylabel() == "count"
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["source", "target"]
    assert all(p.get_hatch() == "/" for p in patches[1].patches) and not any(p.get_hatch() for p in patches[0].patches)
    plt.close("all")


# --- The Time Machine ------------------------------------------------------------------
def test_time_machine_gives_the_books_corpus_vocab_and_shifted_targets(backend, staged):
    data = backend.TimeMachine(batch_size=2, num_steps=10)
    assert data.vocab is not None and (len(data.corpus), len(data.vocab)) == (173428, 28)
    raw = data._download()
    assert raw[:60] == "The Time Machine, by H. G. Wells [1898]\n\n\n\n\nI\n\n\nThe Time Tra"
    tokens = data._tokenize(data._preprocess(raw))
    assert ",".join(tokens[:30]) == "t,h,e, ,t,i,m,e, ,m,a,c,h,i,n,e, ,b,y, ,h, ,g, ,w,e,l,l,s, "
    indices = data.vocab[tokens[:10]]
    assert indices == [21, 9, 6, 0, 21, 10, 14, 6, 0, 14]  # the book's printed indices
    assert data.vocab.to_tokens(indices) == list("the time m")
    assert data.vocab.unk == 1 and data.vocab[list("it!")] == [10, 21, 1]  # an unknown character is '<unk>'
    assert data.build("It has, é!", data.vocab)[0] == data.vocab[list("it has ")]  # preprocessed first
    assert Vocab(data._preprocess(raw).split()).token_freqs[:3] == [("the", 2261), ("i", 1267), ("and", 1245)]
    X, Y = _array(data.X), _array(data.Y)
    assert X.shape == Y.shape == (173418, 10) and X.dtype == Y.dtype == INDEX_DTYPE[backend_name(backend)]
    corpus = np.array(data.corpus)
    assert (X[:, 0] == corpus[:-10]).all() and (X[-1] == corpus[-11:-1]).all() and (Y[-1] == corpus[-10:]).all()
    assert (Y[:, :-1] == X[:, 1:]).all() and (Y[:, -1] == corpus[10:]).all()  # Y is X shifted by one token
    train, val = data.train_dataloader(), data.val_dataloader()
    assert (len(train), len(val)) == (5000, 2500)
    Xb, Yb = (_array(t) for t in next(iter(train)))
    assert Xb.shape == Yb.shape == (2, 10) and (Yb[:, :-1] == Xb[:, 1:]).all()
    Xv, _ = (_array(t) for t in next(iter(val)))
    assert (Xv == X[10000:10002]).all()  # validation starts after the num_train training sequences


def test_time_machine_refuses_what_the_corpus_cannot_give(backend, staged):
    message = (
        "num_steps must be less than the corpus length (173428 tokens): a sequence and its targets take "
        "num_steps + 1 tokens, got num_steps=173428"
    )
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        backend.TimeMachine(batch_size=2, num_steps=173428)
    message = (
        "num_train + num_val must be at most 3428, the number of sequences of num_steps + 1 = 170001 tokens in "
        "the corpus of 173428 tokens, got 15000"
    )
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        backend.TimeMachine(batch_size=2, num_steps=170000)
    with pytest.raises(ValueError, match=re.escape("num_train + num_val must be at most 173418, the number of")):
        backend.TimeMachine(batch_size=2, num_steps=10, num_train=173000, num_val=1000)
    with pytest.raises(ValueError, match=re.escape("num_steps must be a positive int, got 0") + "$"):
        backend.TimeMachine(batch_size=2, num_steps=0)
    with pytest.raises(TypeError, match=re.escape("num_steps must be a positive int, got 2.5") + "$"):
        backend.TimeMachine(batch_size=2, num_steps=2.5)


def test_the_books_language_model_cell_can_redefine_init(backend, staged, monkeypatch):
    """Section 9.3 redefines ``d2l.TimeMachine.__init__`` and calls ``super(d2l.TimeMachine, self).__init__()``."""
    assert backend.TimeMachine.__mro__[1] is backend.DataModule

    def __init__(self, batch_size, num_steps, num_train=10000, num_val=5000):
        super(backend.TimeMachine, self).__init__()
        self.save_hyperparameters()
        corpus, self.vocab = self.build(self._download())
        array = backend.tensor([corpus[i : i + num_steps + 1] for i in range(0, 300)])
        self.X, self.Y = array[:, :-1], array[:, 1:]

    monkeypatch.setattr(backend.TimeMachine, "__init__", __init__)
    data = backend.TimeMachine(batch_size=2, num_steps=10, num_train=100, num_val=50)
    assert len(data.train_dataloader()) == 50 and len(data.val_dataloader()) == 25
    X, Y = (_array(t) for t in next(iter(data.val_dataloader())))
    assert X.shape == (2, 10) and (Y[:, :-1] == X[:, 1:]).all()


# --- English-French ---------------------------------------------------------------
_MT: dict[str, object] = {}


def _mt(backend):
    """``MTFraEng(batch_size=3)``, made once per backend (reading and encoding the pairs takes a while)."""
    name = backend_name(backend)
    if name not in _MT:
        _MT[name] = backend.MTFraEng(batch_size=3)
    return _MT[name]


def test_mt_fra_eng_arrays_on_the_real_pairs(backend, staged):
    data = _mt(backend)
    src, dec_input, src_valid_len, label = (_array(a) for a in data.arrays)
    assert src.shape == dec_input.shape == label.shape == (640, 9) and src_valid_len.shape == (640,)
    assert {a.dtype for a in (src, dec_input, src_valid_len, label)} == {np.dtype(INDEX_DTYPE[backend_name(backend)])}
    assert (len(data.src_vocab), len(data.tgt_vocab)) == (195, 213)
    src_vocab, tgt_vocab = data.src_vocab, data.tgt_vocab
    assert src_vocab.to_tokens(src[0]) == ["go", ".", "<eos>"] + ["<pad>"] * 6
    assert tgt_vocab.to_tokens(dec_input[0]) == ["<bos>", "va", "!", "<eos>"] + ["<pad>"] * 5
    assert tgt_vocab.to_tokens(label[0]) == ["va", "!", "<eos>"] + ["<pad>"] * 6
    assert (src_valid_len == (src != src_vocab["<pad>"]).sum(axis=1)).all() and src_valid_len[0] == 3
    assert (dec_input[:, 0] == tgt_vocab["<bos>"]).all() and (dec_input[:, 1:] == label[:, :-1]).all()
    train, val = data.train_dataloader(), data.val_dataloader()
    assert (len(train), len(val)) == (171, 43)  # 512 and 128 pairs (d2l 1.0.3 validates on 129) in batches of 3
    batch = [_array(t) for t in next(iter(train))]
    assert [b.shape for b in batch] == [(3, 9), (3, 9), (3,), (3, 9)]


def test_mt_fra_eng_builds_new_pairs_as_the_book_prints(backend, staged):
    data = _mt(backend)
    src, tgt, src_valid_len, label = data.build(["hi ."], ["salut ."])
    assert data.src_vocab.to_tokens(src[0]) == ["hi", ".", "<eos>"] + ["<pad>"] * 6  # a tensor, as in the book
    assert data.tgt_vocab.to_tokens(tgt[0]) == ["<bos>", "salut", ".", "<eos>"] + ["<pad>"] * 5
    assert data.tgt_vocab.to_tokens(tgt[0, 1]) == "salut" and data.tgt_vocab.to_tokens(tgt[:, :2]) == [
        ["<bos>", "salut"]
    ]
    assert _array(src_valid_len).tolist() == [3]
    # preprocessed as the data set was; a word the vocabulary lacks is '<unk>'
    src, *_ = data.build(["Hi, Zyxwv!", "go ."], ["Salut.", "va !"])
    assert data.src_vocab.to_tokens(_array(src)[0])[:5] == ["hi", ",", "<unk>", "!", "<eos>"]
    with pytest.raises(ValueError, match=re.escape("src_sentences and tgt_sentences must pair up, got 1 and 2")):
        data.build(["hi ."], ["salut .", "va !"])


def test_mt_fra_eng_refuses_more_pairs_than_there_are(backend, staged):
    message = (
        "num_train + num_val must be at most 167130, the number of sentence pairs in the data, "
        "got 167000 + 200 = 167200"
    )
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        backend.MTFraEng(batch_size=3, num_train=167000, num_val=200)
    with pytest.raises(ValueError, match=re.escape("num_steps must be a positive int, got 0") + "$"):
        backend.MTFraEng(batch_size=3, num_steps=0)
    with pytest.raises(ValueError, match=re.escape("num_train must be a positive int, got 0") + "$"):
        backend.MTFraEng(batch_size=3, num_train=0)


# --- the 2.0 edition --------------------------------------------------------------
def test_the_2_0_readers_give_the_books_numbers(staged):
    lines = text.read_time_machine()
    assert len(lines) == 3221 and lines[0] == "the time machine by h g wells"
    assert lines[10] == "twinkled and his usually pale face was flushed and animated the"
    corpus, vocab = text.load_corpus_time_machine()
    assert (len(corpus), len(vocab)) == (170580, 28)
    assert len(text.load_corpus_time_machine(1000)[0]) == 1000
    source, target = text.tokenize_nmt(text.preprocess_nmt(text.read_data_nmt()[:1000]), 6)
    assert source[:3] == [["go", "."], ["hi", "."], ["run", "!"]] and target[5] == ["ça", "alors", "!"]


def test_seq_data_iterators_shift_targets_and_keep_rows_going(backend):
    backend.set_seed(0)
    corpus = list(range(35))
    batches = [[_array(t) for t in pair] for pair in backend.seq_data_iter_sequential(corpus, 2, 5)]
    assert len(batches) in (2, 3) and all(X.shape == (2, 5) and (Y == X + 1).all() for X, Y in batches)
    assert all((b[0][:, 0] == a[0][:, -1] + 1).all() for a, b in zip(batches, batches[1:]))  # rows continue
    assert batches[0][0].dtype == INDEX_DTYPE[backend_name(backend)]
    batches = [[_array(t) for t in pair] for pair in backend.seq_data_iter_random(corpus, 2, 5)]
    assert len(batches) == 3 and all(X.shape == (2, 5) and (Y == X + 1).all() for X, Y in batches)
    starts = np.concatenate([X[:, 0] for X, _ in batches])
    assert len(set(starts % 5)) == 1 and len(set(starts)) == 6  # pieces from one offset, each once
    message = (
        "corpus must hold at least 15 tokens for one batch of batch_size=2 sequences of num_steps=5 tokens "
        "(and their targets, from any starting offset), got 10"
    )
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        backend.seq_data_iter_random(list(range(10)), 2, 5)
    with pytest.raises(TypeError, match=re.escape("corpus must be a list of token indices (ints), got 'abc' (str)")):
        backend.seq_data_iter_sequential("abc", 2, 5)


def test_load_data_time_machine_and_load_data_nmt(backend, staged):
    data_iter, vocab = backend.load_data_time_machine(batch_size=32, num_steps=35)
    assert len(vocab) == 28 and len(data_iter.corpus) == 10000
    for _ in range(2):  # a fresh pass each time
        batches = [[_array(t) for t in pair] for pair in data_iter]
        assert len(batches) == 8 and all(X.shape == Y.shape == (32, 35) for X, Y in batches)
    train_iter, src_vocab, tgt_vocab = backend.load_data_nmt(batch_size=2, num_steps=8)
    X, X_valid_len, Y, Y_valid_len = (_array(t) for t in next(iter(train_iter)))
    assert X.shape == Y.shape == (2, 8) and X_valid_len.shape == Y_valid_len.shape == (2,)
    assert (X_valid_len == (X != src_vocab["<pad>"]).sum(axis=1)).all()
    assert all(tgt_vocab.to_tokens(row[n - 1]) == "<eos>" for row, n in zip(Y, Y_valid_len) if n < 8)
    array, valid_len = backend.build_array_nmt([["go", "."], ["a"] * 9], src_vocab, 4)
    assert src_vocab.to_tokens(_array(array)[0]) == ["go", ".", "<eos>", "<pad>"] and _array(valid_len).tolist() == [
        3,
        4,
    ]
    with pytest.raises(
        ValueError, match=re.escape("num_examples must be at most 167130, the number of sentence pairs")
    ):
        backend.load_data_nmt(batch_size=2, num_steps=8, num_examples=200000)
