"""Chapter 9's framework-free parts (1.0 edition): the book's two shape checks, and what the scratch RNN
of section 9.5 does the same on every framework: its parameters, its recurrence and its language model's output
layer, written once with the backend's ``ops`` module (``RNNScratchSteps``, ``LanguageModelSteps``), its state,
``predict``'s loop, numpy references.

``check_len`` and ``check_shape`` read only ``len`` and ``.shape``, which every framework's tensors
have (a ``torch.Size``, a ``TensorShape`` and a tuple all compare as tuples once their sizes are ints),
so they are written once. They raise ``AssertionError`` as the book's ``assert`` does, but also under
``python -O``, which strips asserts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from d2lx import checks
from d2lx.models import ScratchParameters
from d2lx.plotting import to_numpy


def check_len(a: Any, n: int) -> None:
    """Raise ``AssertionError`` unless ``len(a) == n`` (the book's shape check for lists)."""
    if len(a) != n:
        raise AssertionError(f"list's length {len(a)} != expected length {n}")


def check_shape(a: Any, shape: Iterable) -> None:
    """Raise ``AssertionError`` unless the tensor ``a`` has shape ``shape`` (any framework's tensor)."""
    have = tuple(None if d is None else int(d) for d in a.shape)
    want = tuple(shape)
    if have != want:
        raise AssertionError(f"tensor's shape {have} != expected shape {want}")


# --- section 9.5: the RNN from scratch, its framework-free parts ------------------------------------
def hidden_state(model: Any, inputs: Any, state: Any) -> Any:
    """The state ``RNNScratch.forward`` starts from: None (the caller makes zeros), or the given one.

    ``inputs`` must have shape (num_steps, batch_size, num_inputs). ``state`` is None, a tensor of shape
    (batch_size, num_hiddens), or a one-element tuple or list holding one (the book's ``(H,)``). The
    book unpacks ``state, = state``, which takes a tensor apart along its batch axis: that works only
    for a batch of one, which its ``predict`` uses. Here a tensor is taken whole, for any batch size.
    """
    name = type(model).__name__
    shape = tuple(int(d) for d in inputs.shape)
    if len(shape) != 3 or shape[2] != model.num_inputs:
        raise ValueError(
            f"{name}(num_inputs={model.num_inputs}) needs inputs of shape (num_steps, batch_size, "
            f"{model.num_inputs}), got shape {shape}"
        )
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        if len(state) != 1:
            raise ValueError(
                f"{name}'s state must be one tensor of shape (batch_size, num_hiddens) (or a tuple holding "
                f"only it), got a {type(state).__name__} of {len(state)}"
            )
        (state,) = state
    want = (shape[1], model.num_hiddens)
    have = tuple(int(d) for d in getattr(state, "shape", ()))
    if have != want:
        raise ValueError(
            f"{name}'s state must have shape (batch_size, num_hiddens) = {want} for inputs of shape {shape}, "
            f"got {have if hasattr(state, 'shape') else type(state).__name__}"
        )
    return state


class RNNScratchSteps(ScratchParameters):
    """``RNNScratch``, ``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)``, written once (see
    ``d2lx.models.ScratchParameters`` for what the backend gives). On JAX the model is a Flax dataclass whose
    ``setup`` draws the weights, and only ``forward`` is used."""

    # the time steps of the (num_steps, batch_size, num_inputs) inputs: a tensor iterates over its first axis,
    # but not inside a TensorFlow graph, where the TensorFlow backend unstacks it
    _time_steps: Callable[[Any], Iterable] = staticmethod(iter)

    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W_xh = self._normal((num_inputs, num_hiddens), sigma)
        self.W_hh = self._normal((num_hiddens, num_hiddens), sigma)
        self.b_h = self._zeros(num_hiddens)

    def forward(self, inputs, state=None):
        """``(outputs, state)`` for ``inputs`` of shape (num_steps, batch_size, num_inputs): a list of the
        hidden states (batch_size, num_hiddens), one per step, and the last; ``state`` starts it (zeros)."""
        ops = self._ops
        state = hidden_state(self, inputs, state)
        if state is None:  # zeros (batch_size, num_hiddens) on the device and in the dtype of the first step's
            # product: one small product, where stacking a zero row per example cost up to 1.5 ms a forward pass
            state = ops.zeros_like(ops.matmul(inputs[0], self.W_xh))
        outputs = []
        for X in self._time_steps(inputs):
            state = ops.tanh(ops.matmul(X, self.W_xh) + ops.matmul(state, self.W_hh) + self.b_h)
            outputs.append(state)
        return outputs, state


def output_scores(ops: Any, rnn_outputs: Iterable, W_hq: Any, b_q: Any) -> Any:
    """The scratch language model's output layer, in the backend's ``ops``: ``H W_hq + b_q`` for each step's
    hidden state ``H`` (batch_size, num_hiddens), stacked into the scores (batch_size, num_steps, vocab_size).
    ``LanguageModelSteps.output_layer`` calls it, and JAX's ``RNNLMScratch``, whose Flax model lists no mixin."""
    return ops.stack([ops.matmul(H, W_hq) + b_q for H in rnn_outputs], 1)


class LanguageModelSteps(ScratchParameters):
    """Mixed in before a backend's ``Classifier``: what ``RNNLMScratch`` does the same on the frameworks whose
    models hold their parameters (torch, MXNet, TensorFlow): the book's constructor, the output layer (``W_hq``,
    ``b_q`` on every step's hidden state), the forward pass over the backend's ``one_hot``. Training and
    validation plot the perplexity ``exp(loss)`` (as ``ppl``), not the loss, as the book does."""

    def __init__(self, rnn, vocab_size, lr=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.init_params()

    def init_params(self):
        self.W_hq = self._normal((self.rnn.num_hiddens, self.vocab_size), self.rnn.sigma)
        self.b_q = self._zeros(self.vocab_size)

    def output_layer(self, rnn_outputs):
        """The scores (batch_size, num_steps, vocab_size) for the list of hidden states, one per step."""
        return output_scores(self._ops, rnn_outputs, self.W_hq, self.b_q)

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("ppl", self._ops.exp(l), train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("ppl", self._ops.exp(l), train=False)

    def forward(self, X, state=None):
        """The scores (batch_size, num_steps, vocab_size) for token indices ``X`` (batch_size, num_steps)."""
        rnn_outputs, _ = self.rnn(self.one_hot(X), state)
        return self.output_layer(rnn_outputs)

    def _predict_greedily(self, prefix, num_preds, vocab, token: Callable[[int], Any]) -> str:
        """``predict``'s text, for the backend's ``predict``, which picks the device (and enters its framework's
        no-gradient or device scope): ``token(index)`` is the (1, 1) tensor of one token index on that device.
        Each step feeds it through ``rnn`` from the state so far, and the output layer where scores are wanted
        (``predict_greedily``)."""

        def step(index, state, scores):
            rnn_outputs, state = self.rnn(self.one_hot(token(index)), state)
            return (self.output_layer(rnn_outputs) if scores else None), state

        return predict_greedily(prefix, num_preds, vocab, step)


def prompt_indices(prefix: Any, num_preds: Any, vocab: Any) -> list[int]:
    """The indices of ``prefix``'s tokens (a string's characters); one the vocabulary lacks is ``'<unk>'``'s.

    Checks ``predict``'s arguments first: ``prefix`` must hold a token, ``num_preds`` be a positive int.
    """
    checks.positive_int("num_preds", num_preds)
    if not isinstance(prefix, (str, list, tuple)) or not len(prefix):
        raise ValueError(f"prefix must be a non-empty string (or list of tokens), got {checks._describe(prefix)}")
    return [vocab[token] for token in prefix]


def predict_greedily(prefix: Any, num_preds: int, vocab: Any, step: Callable[[int, Any, bool], tuple]) -> str:
    """``predict``'s loop, written once: warm the state up on ``prefix``, then append ``num_preds`` tokens, each
    the most likely after the one before. ``step(index, state, scores)`` feeds one token to the model and
    returns ``(next-token scores or None, new state)``; it computes the scores only when ``scores`` is True.
    """
    indices = prompt_indices(prefix, num_preds, vocab)
    outputs, state = [indices[0]], None
    for i in range(len(indices) + num_preds - 1):
        warming_up = i < len(indices) - 1
        Y, state = step(outputs[-1], state, not warming_up)
        outputs.append(indices[i + 1] if warming_up else int(np.argmax(to_numpy(Y))))
    return "".join(vocab.idx_to_token[i] for i in outputs)


def rnn_numpy(inputs: np.ndarray, W_xh, W_hh, b_h, state: np.ndarray | None = None):
    """The reference ``RNNScratch``: ``(outputs, state)``, each ``H = tanh(X W_xh + H W_hh + b_h)``."""
    H = np.zeros((inputs.shape[1], W_hh.shape[0]), inputs.dtype) if state is None else state
    outputs = []
    for X in inputs:
        H = np.tanh(X @ W_xh + H @ W_hh + b_h)
        outputs.append(H)
    return outputs, H


def rnnlm_numpy(X: np.ndarray, vocab_size: int, W_xh, W_hh, b_h, W_hq, b_q) -> np.ndarray:
    """The reference ``RNNLMScratch``: the scores (batch_size, num_steps, vocab_size) for token indices ``X``."""
    embs = np.eye(vocab_size, dtype=np.float32)[np.asarray(X).T]
    outputs, _ = rnn_numpy(embs, W_xh, W_hh, b_h)
    return np.stack([H @ W_hq + b_q for H in outputs], 1)


class StackedForward:
    """Mixed in before a backend's ``Module``: ``StackedRNNScratch``'s ``forward`` (section 10.3), the same on
    every framework but for ``_stack`` (the framework's ``stack``). Layer ``i`` runs on the outputs of layer
    ``i - 1``, stacked into one tensor (num_steps, batch_size, num_hiddens); ``Hs`` holds one state per layer."""

    _stack: Callable[[Any], Any]

    def forward(self, inputs, Hs=None):
        if Hs is None:
            Hs = [None] * self.num_layers
        elif not isinstance(Hs, (tuple, list)) or len(Hs) != self.num_layers:
            raise ValueError(
                f"{type(self).__name__}'s states Hs must be a list of num_layers={self.num_layers} states (or None), "
                f"got {_what(Hs)}"
            )
        Hs, outputs = list(Hs), inputs
        for i in range(self.num_layers):
            outputs, Hs[i] = self.rnns[i](outputs, Hs[i])
            outputs = type(self)._stack(outputs)
        return outputs, Hs


# --- sections 9.6 and 10.1-10.3: the concise RNNs (the frameworks' layers), their framework-free parts ---
# Every backend's ``RNN``, ``GRU`` and ``LSTM`` takes inputs (num_steps, batch_size, num_inputs), time first
# as in the book, and keeps its state as (num_layers, batch_size, num_hiddens): torch's and MXNet's layers
# do, and the JAX and TensorFlow ones are written to (the book's TensorFlow GRU returns a list per layer).
# An LSTM's state is the pair (H, C), each of that shape.
def check_inputs(model: Any, inputs: Any) -> tuple[int, ...]:
    """The shape of ``inputs`` if it is (num_steps, batch_size, num_inputs), else a ValueError naming the model:
    a framework's own error would come from deep inside its kernels (or, on TensorFlow before d2lx
    transposed, not at all, see ``GRU``).

    num_inputs is ``model.num_inputs`` where the constructor takes it (the PyTorch book's); elsewhere (MXNet,
    TensorFlow, JAX, as in the book) the layer learns it from its first batch, and ``model.seen_num_inputs()``
    gives it from then on (None before).
    """
    shape = tuple(int(d) for d in inputs.shape)
    given = getattr(model, "num_inputs", None)
    want = given if given is not None else model.seen_num_inputs()
    if len(shape) != 3 or (want is not None and shape[2] != want):
        name = type(model).__name__
        who = f"{name}(num_inputs={given})" if given is not None else name
        size = "num_inputs" if want is None else want
        learned = "" if given is not None or want is None else " (the size of its first batch's inputs)"
        raise ValueError(f"{who} needs inputs of shape (num_steps, batch_size, {size}){learned}, got shape {shape}")
    return shape


def layered_state(model: Any, inputs: Any, state: Any, parts: tuple[str, ...] = ()) -> Any:
    """The state a concise RNN starts from, checked: None (zeros), or a tensor of shape (num_layers, batch_size,
    num_hiddens); for an LSTM (``parts=("H", "C")``) a tuple of two such tensors.

    ``num_layers`` is ``model.num_layers`` (1 for ``RNN``). Returns ``state`` unchanged.
    """
    name = type(model).__name__
    shape = check_inputs(model, inputs)
    if state is None:
        return None
    want = (getattr(model, "num_layers", 1), shape[1], model.num_hiddens)
    form = f"a tensor of shape (num_layers, batch_size, num_hiddens) = {want}"
    if parts:
        each = f"each of shape (num_layers, batch_size, num_hiddens) = {want}"
        form = f"a tuple ({', '.join(parts)}) of two tensors, {each}"
        if not isinstance(state, (tuple, list)) or len(state) != len(parts):
            raise ValueError(f"{name}'s state must be {form}, got {_what(state)}")
        tensors = state
    else:
        tensors = (state,)
    for tensor in tensors:
        if not hasattr(tensor, "shape") or tuple(int(d) for d in tensor.shape) != want:
            raise ValueError(f"{name}'s state must be {form} for inputs of shape {shape}, got {_what(tensor)}")
    return state


def _what(value: Any) -> str:
    if hasattr(value, "shape"):
        return f"shape {tuple(int(d) for d in value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__


# The gates of each cell, in the order the reference names them. ``n`` is the GRU's candidate state (the book's
# H tilde), ``g`` the LSTM's candidate memory (C tilde).
GRU_GATES = ("r", "z", "n")
LSTM_GATES = ("i", "f", "g", "o")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def gru_numpy(inputs: np.ndarray, layers: list[dict], state: np.ndarray | None = None):
    """The reference concise ``GRU``: ``(outputs, state)``, outputs (num_steps, batch_size, num_hiddens), state
    (num_layers, batch_size, num_hiddens). Each layer's inputs are the outputs of the layer below.

    ``layers[l]`` holds ``W_x<gate>`` (inputs x hiddens), ``W_h<gate>`` (hiddens x hiddens), ``b_x<gate>`` and
    ``b_h<gate>`` for the gates r (reset), z (update) and n (candidate). The frameworks (cuDNN's form, which
    torch, MXNet, Keras and Flax share) reset after the recurrent product, ``n = tanh(X W_xn + b_xn +
    R * (H W_hn + b_hn))``, where the book's equation multiplies first, ``(R * H) W_hh``; the two agree only
    when R is all ones, so the reference computes what the layers compute.
    """
    return _layered(inputs, layers, state, _gru_step)


def lstm_numpy(inputs: np.ndarray, layers: list[dict], state: tuple | None = None):
    """The reference concise ``LSTM``: ``(outputs, (H, C))``, each of H and C (num_layers, batch_size,
    num_hiddens), with the gates i (input), f (forget), g (candidate memory) and o (output) as in the book:
    ``C = F * C + I * tanh(...)``, ``H = O * tanh(C)``. ``layers`` as in ``gru_numpy``."""
    return _layered(inputs, layers, state, _lstm_step)


def _gate(layer: dict, gate: str, X: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return X @ layer[f"W_x{gate}"] + layer[f"b_x{gate}"], H @ layer[f"W_h{gate}"] + layer[f"b_h{gate}"]


def _gru_step(layer: dict, X: np.ndarray, carry: tuple) -> tuple:
    (H,) = carry
    R = _sigmoid(sum(_gate(layer, "r", X, H)))
    Z = _sigmoid(sum(_gate(layer, "z", X, H)))
    x_n, h_n = _gate(layer, "n", X, H)
    return (Z * H + (1 - Z) * np.tanh(x_n + R * h_n),)


def _lstm_step(layer: dict, X: np.ndarray, carry: tuple) -> tuple:
    H, C = carry
    I, F, O = (_sigmoid(sum(_gate(layer, gate, X, H))) for gate in "ifo")
    C = F * C + I * np.tanh(sum(_gate(layer, "g", X, H)))
    return O * np.tanh(C), C


def _layered(inputs: np.ndarray, layers: list[dict], state: Any, step: Callable) -> tuple:
    lstm = step is _lstm_step
    num_hiddens = layers[0]["W_hr" if not lstm else "W_hi"].shape[0]
    zeros = np.zeros((len(layers), inputs.shape[1], num_hiddens), inputs.dtype)
    if state is None:
        state = (zeros, zeros) if lstm else zeros
    parts = tuple(state) if lstm else (state,)
    outputs, finals = inputs, []
    for l, layer in enumerate(layers):
        carry, steps = tuple(part[l] for part in parts), []
        for X in outputs:
            carry = step(layer, X, carry)
            steps.append(carry[0])
        outputs = np.stack(steps)
        finals.append(carry)
    stacked = tuple(np.stack([carry[i] for carry in finals]) for i in range(len(parts)))
    return outputs, (stacked if lstm else stacked[0])
