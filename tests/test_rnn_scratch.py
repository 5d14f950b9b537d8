"""The RNN from scratch (1.0 edition, section 9.5): ``RNNScratch`` and ``RNNLMScratch`` on every backend.

The weights come from d2lx's seeded stream (the ``backend`` fixture seeds it), drawn in the order
``W_xh``, ``W_hh``, ``W_hq`` on every backend, so each test computes the same numbers in numpy
(``d2lx.rnn.rnn_numpy``, ``rnnlm_numpy``) and compares. The training test reads the book's real
*The Time Machine*, staged as tests/test_text.py says.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from adapters import adapter
from helpers import exactly

from d2lx.plotting import to_numpy
from d2lx.rnn import check_len, check_shape, rnn_numpy, rnnlm_numpy
from d2lx.text import Vocab
from d2lx.utils import seeded_normal


def _seeded_weights(seed: int, num_inputs: int, num_hiddens: int, sigma: float, vocab_size: int | None = None):
    """The weights a model made after ``set_seed(seed)`` starts from, as numpy (biases start at zero)."""
    from d2lx.utils import set_seed

    set_seed(seed)
    weights = {
        "W_xh": seeded_normal((num_inputs, num_hiddens), sigma),
        "W_hh": seeded_normal((num_hiddens, num_hiddens), sigma),
        "b_h": np.zeros(num_hiddens, np.float32),
    }
    if vocab_size is not None:
        weights["W_hq"] = seeded_normal((num_hiddens, vocab_size), sigma)
        weights["b_q"] = np.zeros(vocab_size, np.float32)
    return weights


def _float(backend, array: np.ndarray):
    return backend.tensor(np.asarray(array, np.float32))


def test_one_step_and_a_given_state_match_numpy_at_batch_size_three(backend):
    weights = _seeded_weights(4, num_inputs=5, num_hiddens=4, sigma=0.5)
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(3, 3, 5)).astype(np.float32)  # (num_steps, batch_size, num_inputs)
    H0 = rng.normal(size=(3, 4)).astype(np.float32)
    backend.set_seed(4)
    rnn = backend.RNNScratch(num_inputs=5, num_hiddens=4, sigma=0.5)
    step = adapter(backend).call_scratch
    # one step from a given state: tanh(X W_xh + H W_hh + b_h), for each of the three examples
    outputs, state = step(rnn, _float(backend, inputs[:1]), _float(backend, H0))
    expected = np.tanh(inputs[0] @ weights["W_xh"] + H0 @ weights["W_hh"] + weights["b_h"])
    np.testing.assert_allclose(to_numpy(state), expected, atol=1e-5)
    check_len(outputs, 1)
    # three steps, from zeros and from the state given alone or as the book's one-element tuple
    want_outputs, want_state = rnn_numpy(inputs, **weights)
    for given in (None, _float(backend, np.zeros((3, 4))), (_float(backend, np.zeros((3, 4))),)):
        backend.set_seed(4)
        rnn = backend.RNNScratch(num_inputs=5, num_hiddens=4, sigma=0.5)
        outputs, state = step(rnn, _float(backend, inputs), given)
        check_len(outputs, 3)
        for got, want in zip(outputs, want_outputs):
            np.testing.assert_allclose(to_numpy(got), want, atol=1e-5)
        np.testing.assert_allclose(to_numpy(state), want_state, atol=1e-5)


def test_shapes_as_the_book_checks_them(backend):
    batch_size, num_inputs, num_hiddens, num_steps = 2, 16, 32, 10
    rnn = backend.RNNScratch(num_inputs, num_hiddens)
    outputs, state = adapter(backend).call_scratch(rnn, backend.ones((num_steps, batch_size, num_inputs)))
    check_len(outputs, num_steps)
    check_shape(outputs[0], (batch_size, num_hiddens))
    check_shape(state, (batch_size, num_hiddens))
    model = backend.RNNLMScratch(backend.RNNScratch(num_inputs, num_hiddens), num_inputs)
    X = backend.tensor(np.ones((batch_size, num_steps), np.int32))
    check_shape(adapter(backend).call_scratch(model, X), (batch_size, num_steps, num_inputs))


def test_language_model_scores_match_numpy(backend):
    weights = _seeded_weights(2, num_inputs=6, num_hiddens=5, sigma=0.7, vocab_size=6)
    X = np.array([[0, 1, 2, 3], [5, 4, 3, 2], [1, 1, 0, 5]], np.int32)
    backend.set_seed(2)
    model = backend.RNNLMScratch(backend.RNNScratch(num_inputs=6, num_hiddens=5, sigma=0.7), vocab_size=6)
    scores = adapter(backend).call_scratch(model, backend.tensor(X))
    np.testing.assert_allclose(to_numpy(scores), rnnlm_numpy(X, 6, **weights), atol=1e-5)


def _greedy_numpy(prefix: str, num_preds: int, vocab: Vocab, weights: dict) -> str:
    """Greedy decoding by hand: run the prefix through the RNN, then feed back each most likely token."""
    eye = np.eye(len(vocab), dtype=np.float32)
    H = np.zeros((1, weights["W_hh"].shape[0]), np.float32)
    tokens = [vocab[c] for c in prefix]
    for index in tokens[:-1]:  # warm-up: the scores after these are not used
        H = np.tanh(eye[[index]] @ weights["W_xh"] + H @ weights["W_hh"] + weights["b_h"])
    for _ in range(num_preds):
        H = np.tanh(eye[[tokens[-1]]] @ weights["W_xh"] + H @ weights["W_hh"] + weights["b_h"])
        tokens.append(int(np.argmax(H @ weights["W_hq"] + weights["b_q"])))
    return "".join(vocab.idx_to_token[i] for i in tokens)


def test_predict_continues_the_prefix_greedily(backend):
    vocab = Vocab(list("the time machine"))  # an unknown character of the prefix ('?') is '<unk>'
    weights = _seeded_weights(7, len(vocab), 8, 1.0, len(vocab))
    backend.set_seed(7)
    model = backend.RNNLMScratch(backend.RNNScratch(len(vocab), 8, sigma=1.0), vocab_size=len(vocab))
    got = adapter(backend).predict(model, "the ?", 12, vocab)
    assert got == _greedy_numpy("the ?", 12, vocab, weights)
    assert got.startswith("the <unk>") and len(vocab.to_tokens(vocab[list(got.replace("<unk>", "?"))])) == 5 + 12
    backend.set_seed(7)  # the same weights again (on JAX, ``predict``'s parameters are drawn anew)
    model = backend.RNNLMScratch(backend.RNNScratch(len(vocab), 8, sigma=1.0), vocab_size=len(vocab))
    assert adapter(backend).predict(model, "m", 1, vocab) == _greedy_numpy("m", 1, vocab, weights)


@pytest.mark.parametrize(
    "prefix, num_preds, error, message",
    [
        ("it", 0, ValueError, "num_preds must be a positive int, got 0"),
        ("it", -3, ValueError, "num_preds must be a positive int, got -3"),
        ("it", 2.0, TypeError, "num_preds must be a positive int, got 2.0"),
        ("", 2, ValueError, "prefix must be a non-empty string (or list of tokens), got '' (str)"),
    ],
)
def test_predict_rejects_bad_arguments(backend, prefix, num_preds, error, message):
    vocab = Vocab(list("it has"))
    model = backend.RNNLMScratch(backend.RNNScratch(len(vocab), 4), vocab_size=len(vocab))
    with pytest.raises(error, match=re.escape(message) + "$"):
        adapter(backend).predict(model, prefix, num_preds, vocab)


def test_wrong_state_or_inputs_get_clear_errors(backend):
    rnn = backend.RNNScratch(num_inputs=3, num_hiddens=4)
    call = adapter(backend).call_scratch
    inputs = backend.ones((2, 5, 3))
    with pytest.raises(ValueError, match=exactly(
        "RNNScratch's state must have shape (batch_size, num_hiddens) = (5, 4) for inputs of shape (2, 5, 3), "
        "got (1, 4)"
    )):  # fmt: skip
        call(rnn, inputs, backend.ones((1, 4)))
    with pytest.raises(ValueError, match=exactly(
        "RNNScratch(num_inputs=3) needs inputs of shape (num_steps, batch_size, 3), got shape (2, 5, 7)"
    )):  # fmt: skip
        call(rnn, backend.ones((2, 5, 7)))


def test_training_on_the_time_machine_lowers_perplexity(backend, time_machine):
    data = backend.TimeMachine(batch_size=256, num_steps=16, num_train=2048, num_val=512)
    rnn = backend.RNNScratch(num_inputs=len(data.vocab), num_hiddens=32)
    model = backend.RNNLMScratch(rnn, vocab_size=len(data.vocab), lr=1)
    trainer = backend.Trainer(max_epochs=3)
    trainer.fit(model, data)
    val_ppl = [p.y for p in model.board.data["val_ppl"]]
    assert len(val_ppl) == 3 and len(model.board.data["train_ppl"]) == 6
    # untrained, the 28 tokens are about equally likely (perplexity 28); measured after three epochs (lr=1 as in
    # the book, no clipping): 18.51 to 18.55 for seeds 0-2, the same on every backend
    assert val_ppl[0] > val_ppl[1] > val_ppl[2] and val_ppl[-1] < 19.5
    text = adapter(backend).predict(model, "it has", 5, data.vocab, trainer)
    assert text.startswith("it has") and len(text) == 11
