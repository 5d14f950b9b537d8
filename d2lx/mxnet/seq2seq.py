"""Sequence to sequence on MXNet: the 2.0 edition's padding mask (section 9.7: ``sequence_mask``,
``MaskedSoftmaxCELoss``) and the 1.0 edition's encoder-decoder (sections 10.6-10.7: ``Encoder``, ``Decoder``,
``EncoderDecoder``, ``init_seq2seq``, ``Seq2SeqEncoder``, ``Seq2Seq``).

The book's MXNet cells call ``npx.sequence_mask``; ``d2l.sequence_mask(X, valid_len, value=0)`` is the
PyTorch book's function, which every backend has. The arithmetic and the loops are the core's
(``d2lx.seq2seq``).
"""

from __future__ import annotations

from mxnet import autograd, gluon, init, np, npx
from mxnet.gluon import nn
from mxnet.gluon import rnn as gluon_rnn

from d2lx import seq2seq
from d2lx.mxnet import ops, rnn
from d2lx.mxnet.module import Classifier

_OPS = seq2seq.MaskOps(
    lengths=lambda valid_len, X: (
        valid_len.as_in_ctx(X.ctx) if isinstance(valid_len, np.ndarray) else np.array(valid_len, ctx=X.ctx)
    ),
    concrete=lambda lengths: lengths.asnumpy(),
    arange=lambda steps, lengths: np.arange(steps, dtype=lengths.dtype, ctx=lengths.ctx),
    reshape=np.reshape,
    where=lambda keep, X, value: np.where(keep, X, np.full(X.shape, value, dtype=X.dtype, ctx=X.ctx)),
    ones_like=np.ones_like,
    mean=lambda X, axis: X.mean(axis=axis),
)


def sequence_mask(X, valid_len, value=0):
    """``X`` (n, T, ...) with ``value`` at every step past each row's ``valid_len`` (a new array)."""
    return seq2seq.sequence_mask(_OPS, X, valid_len, value)


class MaskedSoftmaxCELoss(gluon.loss.SoftmaxCELoss):
    """The softmax cross-entropy with padding masked: ``loss(pred, label, valid_len)``, ``pred`` (n, T, vocab),
    ``label`` (n, T); one loss per sequence, the mean over time of the tokens' losses, those past
    ``valid_len`` counted as 0 (as the book's, which weights ``SoftmaxCELoss`` by the mask)."""

    def forward(self, pred, label, valid_len):
        per_token = -npx.pick(npx.log_softmax(pred, axis=-1), label, axis=-1)
        return seq2seq.masked_mean(_OPS, per_token, valid_len)


# --- the 1.0 edition's sections 10.6-10.7 --------------------------------------------------------------
class Encoder(seq2seq.EncoderBase, nn.Block):
    """The base encoder of the encoder-decoder architecture (see ``d2lx.seq2seq.EncoderBase``)."""


class Decoder(seq2seq.DecoderBase, nn.Block):
    """The base decoder of the encoder-decoder architecture (see ``d2lx.seq2seq.DecoderBase``)."""


class EncoderDecoder(seq2seq.EncoderDecoderSteps, Classifier):
    """The base class of the encoder-decoder architecture (see ``d2lx.seq2seq.EncoderDecoderSteps``)."""

    _ops = ops

    def _placed(self, array, device):
        return ops.to(array, device)

    def _predicting(self):
        return autograd.predict_mode()


def init_seq2seq(block: nn.Block) -> None:
    """Xavier-uniform weights for ``nn.Dense`` layers and Gluon's recurrent layers (biases as they were), as
    the PyTorch book's ``init_seq2seq``; for ``block.apply(init_seq2seq)`` (the MXNet book initialises the
    whole model, embeddings too, with ``initialize(init.Xavier())``). A weight whose shape is not known
    yet is drawn once it is."""
    if isinstance(block, (nn.Dense, gluon_rnn.GRU, gluon_rnn.LSTM, gluon_rnn.RNN)):
        for name, param in block._reg_params.items():
            if name.endswith("weight"):
                param.initialize(init.Xavier(), force_reinit=True)


class Seq2SeqEncoder(seq2seq.Seq2SeqEncoderSteps, Encoder):
    """The RNN encoder (see ``d2lx.seq2seq.Seq2SeqEncoderSteps``)."""

    _embedding, _gru = nn.Embedding, rnn.GRU

    def _initialise(self):
        self.initialize(init.Xavier())  # as the book: the GRU leaves its own initialisation to the model

    def forward(self, X, *args):
        embs = self.embedding(seq2seq.checked_tokens(self, X).T)
        return self.rnn(embs)


class Seq2Seq(seq2seq.Seq2SeqSteps, EncoderDecoder):
    """The RNN encoder-decoder for sequence-to-sequence learning, trained with Adam at ``lr``; its loss leaves
    out the padding (``tgt_pad``), see ``d2lx.seq2seq.Seq2SeqSteps``."""

    def configure_optimizers(self):
        return gluon.Trainer(self.parameters(), "adam", {"learning_rate": self.lr})
