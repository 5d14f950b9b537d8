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
class Encoder(nn.Block):
    """The base encoder of the encoder-decoder architecture: ``forward(X, *args)`` gives what the decoder's
    ``init_state`` reads (``args``: e.g. the valid lengths of ``X``)."""

    def __init__(self):
        super().__init__()

    def forward(self, X, *args):
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, X, *args)")


class Decoder(nn.Block):
    """The base decoder: ``init_state(enc_all_outputs, *args)`` turns the encoder's outputs into the decoder's
    state, ``forward(X, state)`` returns ``(outputs, new state)``."""

    def __init__(self):
        super().__init__()

    def init_state(self, enc_all_outputs, *args):
        raise NotImplementedError(f"{type(self).__name__} must define init_state(self, enc_all_outputs, *args)")

    def forward(self, X, state):
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, X, state)")


class EncoderDecoder(Classifier):
    """An encoder and a decoder trained as one classifier of the next target token: ``forward(enc_X, dec_X,
    *args)`` returns the decoder's scores only (teacher forcing); ``predict_step`` decodes greedily."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, enc_X, dec_X, *args):
        enc_all_outputs = self.encoder(enc_X, *args)
        dec_state = self.decoder.init_state(enc_all_outputs, *args)
        return self.decoder(dec_X, dec_state)[0]

    def predict_step(self, batch, device, num_steps, save_attention_weights=False):
        """``(predictions, attention_weights)``: ``num_steps`` tokens per source sentence of ``batch`` (``(src,
        tgt, src_valid_len, label)``, as ``data.build`` gives), each the most likely after the ones before,
        starting from ``tgt[:, 0]`` (``'<bos>'``); the decoder's attention weights per step if asked."""
        src, tgt, src_valid_len, _ = seq2seq.check_predict_arguments(batch, num_steps)
        src, tgt, src_valid_len = (ops.to(a, device) for a in (src, tgt, src_valid_len))
        attention_weights = []

        def step(tokens, state):
            Y, state = self.decoder(tokens, state)
            if save_attention_weights:
                attention_weights.append(seq2seq.attention_weights_of(self.decoder))
            return Y, state

        with autograd.predict_mode():
            enc_all_outputs = self.encoder(src, src_valid_len)
            dec_state = self.decoder.init_state(enc_all_outputs, src_valid_len)
            return seq2seq.greedy_decode(ops, tgt[:, 0], dec_state, num_steps, step), attention_weights


def init_seq2seq(block: nn.Block) -> None:
    """Xavier-uniform weights for ``nn.Dense`` layers and Gluon's recurrent layers (biases as they were), as
    the PyTorch book's ``init_seq2seq``; for ``block.apply(init_seq2seq)`` (the MXNet book initialises the
    whole model, embeddings too, with ``initialize(init.Xavier())``). A weight whose shape is not known
    yet is drawn once it is."""
    if isinstance(block, (nn.Dense, gluon_rnn.GRU, gluon_rnn.LSTM, gluon_rnn.RNN)):
        for name, param in block._reg_params.items():
            if name.endswith("weight"):
                param.initialize(init.Xavier(), force_reinit=True)


class Seq2SeqEncoder(Encoder):
    """The RNN encoder: token embeddings into a ``num_layers``-layer GRU. ``forward(X)`` takes (batch_size,
    num_steps) token indices and returns ``(outputs, state)``: every step's top-layer hidden state (num_steps,
    batch_size, num_hiddens) and every layer's last one (num_layers, batch_size, num_hiddens)."""

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
        super().__init__()
        seq2seq.check_rnn_sizes(self, vocab_size, embed_size, num_hiddens, num_layers, dropout)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = rnn.GRU(**seq2seq.gru_arguments(rnn.GRU, embed_size, num_hiddens, num_layers, dropout))
        self.initialize(init.Xavier(), force_reinit=True)  # also what the GRU may have initialised itself

    def forward(self, X, *args):
        embs = self.embedding(seq2seq.checked_tokens(self, X).T)
        return self.rnn(embs)


class Seq2Seq(EncoderDecoder):
    """The RNN encoder-decoder for sequence-to-sequence learning, trained with Adam at ``lr``. Its loss
    leaves out the padding (``tgt_pad``), which the book's library class stores and never uses."""

    def __init__(self, encoder, decoder, tgt_pad, lr):
        super().__init__(encoder, decoder)
        self.save_hyperparameters()

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        self.plot("loss", self.loss(Y_hat, batch[-1]), train=False)

    def loss(self, Y_hat, Y):
        """The cross-entropy averaged over the labels that are not ``tgt_pad``."""
        l = super().loss(Y_hat, Y, averaged=False)
        return seq2seq.padding_masked_loss(ops, l, Y, self.tgt_pad)

    def configure_optimizers(self):
        return gluon.Trainer(self.parameters(), "adam", {"learning_rate": self.lr})
