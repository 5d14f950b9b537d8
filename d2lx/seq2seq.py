"""The padding mask (the 2.0 edition's section 9.7) and the encoder-decoder (the 1.0 edition's 10.6-10.7),
written once: ``sequence_mask``, the masked losses, ``predict_step``'s greedy loop, the checks.

Each backend's ``seq2seq.py`` hands these functions its tensor operations (``MaskOps``: ``arange``,
``reshape``, ``where``, ``mean``...) and its per-token cross-entropy; the arithmetic (which positions a
length keeps, the checks of ``valid_len``, the mean over time of the masked per-token losses) is here,
and ``d2lx.text.sequence_mask_numpy`` is its numpy reference.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from d2lx import checks


class MaskOps(NamedTuple):
    """The tensor operations of one backend that ``sequence_mask`` and ``masked_mean`` need."""

    lengths: Callable[[Any, Any], Any]  # (valid_len, X) -> valid_len as a tensor beside X
    concrete: Callable[[Any], np.ndarray | None]  # valid_len's values as numpy, None while traced
    arange: Callable[[int, Any], Any]  # (T, lengths) -> 0..T-1 in lengths' dtype, on its device
    reshape: Callable[[Any, tuple], Any]
    where: Callable[[Any, Any, Any], Any]  # (keep, X, value) -> X where keep, else value
    ones_like: Callable[[Any], Any]
    mean: Callable[[Any, int], Any]  # (X, axis)


def check_mask_arguments(X_shape: tuple, lengths_shape: tuple, lengths: np.ndarray | None) -> int:
    """The number of time steps of ``X`` (shape ``X_shape``: ``(n, T, ...)``), after checking that
    ``valid_len`` holds one non-negative length per row (``lengths``: its values, None when unknown, as
    under ``jax.jit``). The same messages on every backend and in the numpy reference."""
    X_shape, lengths_shape = tuple(int(d) for d in X_shape), tuple(int(d) for d in lengths_shape)
    if len(X_shape) < 2:
        raise ValueError(f"X must have a batch axis and a time axis (n, T, ...), got shape {X_shape}")
    if lengths_shape != (X_shape[0],):
        raise ValueError(f"valid_len must hold one length per row of X, shape ({X_shape[0]},), got {lengths_shape}")
    if lengths is not None and (np.asarray(lengths) < 0).any():
        raise ValueError(f"valid_len must hold non-negative lengths, got {np.asarray(lengths).tolist()}")
    return X_shape[1]


def sequence_mask(ops: MaskOps, X, valid_len, value=0):
    """``X`` (n, T, ...) with ``value`` at every position ``t >= valid_len[i]`` of row ``i``; a new tensor
    (the 2.0 edition's PyTorch version writes into ``X`` and returns it)."""
    lengths = ops.lengths(valid_len, X)
    steps = check_mask_arguments(tuple(X.shape), tuple(lengths.shape), ops.concrete(lengths))
    keep = ops.arange(steps, lengths)[None, :] < lengths[:, None]
    keep = ops.reshape(keep, (int(X.shape[0]), steps) + (1,) * (len(X.shape) - 2))
    return ops.where(keep, X, value)


def masked_mean(ops: MaskOps, per_token, valid_len):
    """The masked loss of ``MaskedSoftmaxCELoss``: ``per_token`` (n, T), each token's loss, times the mask of
    ``valid_len`` (1 up to the length, 0 past it), averaged over time: one loss per sequence, shape (n,)."""
    weights = sequence_mask(ops, ops.ones_like(per_token), valid_len)
    return ops.mean(per_token * weights, 1)


# --- the 1.0 edition's sections 10.6-10.7: the encoder-decoder's framework-free parts ------------------
# Each backend's ``seq2seq.py`` defines ``Encoder``, ``Decoder``, ``EncoderDecoder`` and ``Seq2Seq`` on its
# framework's base classes; what they compute the same way everywhere is here, given the backend's
# ``ops`` module (the book's ``d2l.reshape``, ``d2l.argmax``, ``d2l.concat``...).

BATCH_FIELDS = "(src, tgt, src_valid_len, label)"


def check_predict_arguments(batch: Any, num_steps: Any) -> tuple:
    """``batch`` as its four parts, after checking ``predict_step``'s arguments: ``batch`` is what
    ``MTFraEng.build`` returns, ``num_steps`` a positive int. The same messages on every backend."""
    checks.positive_int("num_steps", num_steps)
    if not isinstance(batch, (tuple, list)) or len(batch) != 4:
        what = f"a {type(batch).__name__} of {len(batch)}" if isinstance(batch, (tuple, list)) else type(batch).__name__
        raise ValueError(f"batch must hold {BATCH_FIELDS}, as data.build(...) returns, got {what}")
    src, tgt = batch[0], batch[1]
    if len(src.shape) != 2 or len(tgt.shape) != 2 or int(src.shape[0]) != int(tgt.shape[0]):
        raise ValueError(
            f"batch's src and tgt must be (batch_size, num_steps) token indices with the same batch_size, got "
            f"shapes {tuple(int(d) for d in src.shape)} and {tuple(int(d) for d in tgt.shape)}"
        )
    return tuple(batch)


def missing_attention_weights(decoder: Any) -> ValueError:
    """The error for ``save_attention_weights=True`` with a decoder that has no attention (this chapter's)."""
    return ValueError(
        f"save_attention_weights=True needs a decoder with attention weights (the attention decoders of "
        f"chapter 11), got {type(decoder).__name__}"
    )


def attention_weights_of(decoder: Any) -> Any:
    """``decoder.attention_weights``, or a clear error for a decoder without attention."""
    if not hasattr(decoder, "attention_weights"):
        raise missing_attention_weights(decoder)
    return decoder.attention_weights


def greedy_decode(ops: Any, bos: Any, dec_state: Any, num_steps: int, step: Callable[[Any, Any], tuple]):
    """``predict_step``'s loop, written once: from the first target token of each row (``bos``, shape
    (batch_size,), the ``'<bos>'`` of ``data.build``), feed the decoder its own most likely token
    ``num_steps`` times. ``step(tokens, state)`` runs the decoder on (batch_size, 1) tokens and returns
    ``(scores (batch_size, 1, vocab_size), new state)``. Returns the (batch_size, num_steps) predicted
    tokens; like the book it does not stop at ``'<eos>'`` (every row runs ``num_steps``): the caller cuts
    each row at its first ``'<eos>'`` (see ``translations``)."""
    outputs = [ops.expand_dims(bos, 1)]
    for _ in range(num_steps):
        Y, dec_state = step(outputs[-1], dec_state)
        outputs.append(ops.astype(ops.argmax(Y, 2), outputs[0].dtype))
    return ops.concat(outputs[1:], 1)


def padding_masked_loss(ops: Any, l: Any, Y: Any, tgt_pad: int):
    """The book's ``Seq2Seq.loss`` arithmetic: the per-token losses ``l`` (flat, one per label) averaged over
    the labels ``Y`` that are not ``tgt_pad``; padding adds nothing and counts for nothing."""
    mask = ops.astype(ops.reshape(Y, (-1,)) != tgt_pad, ops.float32)  # (-1,): a graph refuses a bare -1
    return ops.reduce_sum(l * mask) / ops.reduce_sum(mask)


def seq2seq_loss_numpy(Y_hat: np.ndarray, Y: np.ndarray, tgt_pad: int) -> float:
    """The reference masked loss: softmax cross-entropy of the scores ``Y_hat`` (n, T, vocab) against the
    labels ``Y`` (n, T), averaged over the positions whose label is not ``tgt_pad``."""
    scores = np.asarray(Y_hat, np.float64).reshape(-1, Y_hat.shape[-1])
    labels = np.asarray(Y).reshape(-1)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    l = -log_probs[np.arange(labels.size), labels]
    keep = labels != tgt_pad
    return float(l[keep].sum() / keep.sum())


def check_rnn_sizes(model: Any, vocab_size, embed_size, num_hiddens, num_layers, dropout) -> None:
    """The sizes of the book's ``Seq2SeqEncoder`` and ``Seq2SeqDecoder``, by the rules of ``d2lx.checks``
    (a positive int each, ``dropout`` a probability): the same messages on every backend."""
    values = dict(vocab_size=vocab_size, embed_size=embed_size, num_hiddens=num_hiddens, num_layers=num_layers)
    checks.hyperparameters({**values, "dropout": dropout}, model)


def checked_tokens(model: Any, X: Any) -> Any:
    """``X``, after checking that it is a (batch_size, num_steps) batch of token indices: a batch of another
    rank would otherwise fail inside the framework's embedding or recurrent layer."""
    shape = tuple(int(d) for d in X.shape)
    if len(shape) != 2:
        raise ValueError(
            f"{type(model).__name__} needs token indices of shape (batch_size, num_steps), got shape {shape}"
        )
    return X


def gru_arguments(gru: type, num_inputs: int, num_hiddens: int, num_layers: int, dropout: float) -> dict:
    """The keyword arguments of the backend's ``GRU`` class ``gru``: ``num_hiddens``, ``num_layers`` and
    ``dropout``, and ``num_inputs`` where it takes one (the PyTorch book's GRU does, the others' do not).
    By name, so that no size lands in another's place."""
    arguments = {"num_hiddens": num_hiddens, "num_layers": num_layers, "dropout": dropout}
    fields = getattr(gru, "__dataclass_fields__", None)  # a Flax module's constructor arguments
    names = set(fields) if fields is not None else set(inspect.signature(gru).parameters)
    return {"num_inputs": num_inputs, **arguments} if "num_inputs" in names else arguments


# --- the classes of the frameworks whose models hold their parameters (PyTorch, MXNet, TensorFlow) ---------
class EncoderBase:
    """Mixed in before a backend's layer class: the base encoder of the encoder-decoder architecture,
    ``forward(X, *args)`` giving what the decoder's ``init_state`` reads (``args``: e.g. valid lengths)."""

    def forward(self, X, *args):
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, X, *args)")


class DecoderBase:
    """Mixed in before a backend's layer class: the base decoder, ``init_state(enc_all_outputs, *args)`` turning
    the encoder's outputs into its state, ``forward(X, state)`` returning ``(outputs, new state)``."""

    def init_state(self, enc_all_outputs, *args):
        raise NotImplementedError(f"{type(self).__name__} must define init_state(self, enc_all_outputs, *args)")

    def forward(self, X, state):
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, X, state)")


class EncoderDecoderSteps:
    """Mixed in before a backend's ``Classifier``: an encoder and a decoder trained as one classifier of the next
    target token. ``forward(enc_X, dec_X, *args)`` returns the decoder's scores only (teacher forcing);
    ``predict_step`` decodes greedily. The backend gives its ``ops`` module (``_ops``), how a batch reaches
    ``device`` (``_placed``), the context prediction runs in (``_predicting``: no gradients), and the
    arguments that set a layer's mode (``_mode``: ``training=`` on Keras, none elsewhere)."""

    _ops: Any

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def _placed(self, array, device):
        return array

    def _predicting(self):
        return contextlib.nullcontext()

    def _mode(self, training: bool) -> dict:
        return {}

    def forward(self, enc_X, dec_X, *args):
        mode = self._mode(bool(getattr(self, "training", False)))
        enc_all_outputs = self.encoder(enc_X, *args, **mode)
        dec_state = self.decoder.init_state(enc_all_outputs, *args)
        return self.decoder(dec_X, dec_state, **mode)[0]

    def predict_step(self, batch, device, num_steps, save_attention_weights=False):
        """``(predictions, attention_weights)``: ``num_steps`` tokens per source sentence of ``batch`` (``(src,
        tgt, src_valid_len, label)``, as ``data.build`` gives), each the most likely after the ones before,
        starting from ``tgt[:, 0]`` (``'<bos>'``); the decoder's attention weights per step if asked."""
        src, tgt, src_valid_len, _ = check_predict_arguments(batch, num_steps)
        src, tgt, src_valid_len = (self._placed(a, device) for a in (src, tgt, src_valid_len))
        mode, attention_weights = self._mode(False), []

        def step(tokens, state):
            Y, state = self.decoder(tokens, state, **mode)
            if save_attention_weights:
                attention_weights.append(attention_weights_of(self.decoder))
            return Y, state

        with self._predicting():
            enc_all_outputs = self.encoder(src, src_valid_len, **mode)
            dec_state = self.decoder.init_state(enc_all_outputs, src_valid_len)
            return greedy_decode(self._ops, tgt[:, 0], dec_state, num_steps, step), attention_weights


class Seq2SeqSteps:
    """Mixed in before a backend's ``EncoderDecoder``: the RNN encoder-decoder's constructor, its validation
    (the loss only, as the book's) and its loss, which leaves out the padding (``tgt_pad``): the book's
    library class stores ``tgt_pad`` and never uses it, the masking loss being a cell of its text."""

    def __init__(self, encoder, decoder, tgt_pad, lr):
        super().__init__(encoder, decoder)
        self.save_hyperparameters()

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        self.plot("loss", self.loss(Y_hat, batch[-1]), train=False)

    def loss(self, Y_hat, Y):
        """The cross-entropy averaged over the labels that are not ``tgt_pad``."""
        l = super().loss(Y_hat, Y, averaged=False)
        return padding_masked_loss(self._ops, l, Y, self.tgt_pad)


class Seq2SeqEncoderSteps:
    """Mixed in before a backend's ``Encoder``: the RNN encoder's constructor, token embeddings (the backend's
    ``_embedding`` layer) into a ``num_layers``-layer GRU (its ``_gru``), then ``_initialise``. Called on
    (batch_size, num_steps) token indices, the encoder returns ``(outputs, state)``: every step's top-layer
    hidden state (num_steps, batch_size, num_hiddens) and every layer's last one (num_layers, batch_size,
    num_hiddens)."""

    _embedding: Callable[[int, int], Any]
    _gru: type

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
        super().__init__()
        check_rnn_sizes(self, vocab_size, embed_size, num_hiddens, num_layers, dropout)
        self.embedding = self._embedding(vocab_size, embed_size)
        self.rnn = self._gru(**gru_arguments(self._gru, embed_size, num_hiddens, num_layers, dropout))
        self._initialise()

    def _initialise(self) -> None:
        """Nothing to do where the framework's own initializers are the book's (Keras's)."""
