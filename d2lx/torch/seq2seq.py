"""Sequence to sequence on PyTorch: the 2.0 edition's padding mask (section 9.7: ``sequence_mask``,
``MaskedSoftmaxCELoss``) and the 1.0 edition's encoder-decoder (sections 10.6-10.7: ``Encoder``, ``Decoder``,
``EncoderDecoder``, ``init_seq2seq``, ``Seq2SeqEncoder``, ``Seq2Seq``).

The arithmetic and the loops are the core's (``d2lx.seq2seq``); this file gives them PyTorch's operations.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

from d2lx import seq2seq
from d2lx.torch import cnn, ops, rnn
from d2lx.torch.module import Classifier

_OPS = seq2seq.MaskOps(
    lengths=lambda valid_len, X: torch.as_tensor(valid_len, device=X.device),
    concrete=lambda lengths: lengths.detach().cpu().numpy(),
    arange=lambda steps, lengths: torch.arange(steps, dtype=lengths.dtype, device=lengths.device),
    reshape=torch.reshape,
    where=lambda keep, X, value: torch.where(keep, X, torch.as_tensor(value, dtype=X.dtype, device=X.device)),
    ones_like=torch.ones_like,
    mean=lambda X, axis: X.mean(dim=axis),
)


def sequence_mask(X, valid_len, value=0):
    """``X`` (n, T, ...) with ``value`` at every step past each row's ``valid_len``: a new tensor, where the
    book's version writes into ``X`` (and so into a tensor autograd may still need)."""
    return seq2seq.sequence_mask(_OPS, X, valid_len, value)


class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
    """The softmax cross-entropy with padding masked: ``loss(pred, label, valid_len)``, ``pred`` (n, T, vocab),
    ``label`` (n, T); one loss per sequence, the mean over time of the tokens' losses, those past
    ``valid_len`` counted as 0 (as the book's)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reduction = "none"

    def forward(self, pred, label, valid_len):
        per_token = super().forward(pred.permute(0, 2, 1), label)
        return seq2seq.masked_mean(_OPS, per_token, valid_len)


# --- the 1.0 edition's sections 10.6-10.7 --------------------------------------------------------------
class Encoder(nn.Module):
    """The base encoder of the encoder-decoder architecture: ``forward(X, *args)`` gives what the decoder's
    ``init_state`` reads (``args``: e.g. the valid lengths of ``X``)."""

    def __init__(self):
        super().__init__()

    def forward(self, X, *args):
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, X, *args)")


class Decoder(nn.Module):
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
        src, tgt, src_valid_len = (torch.as_tensor(a).to(device) for a in (src, tgt, src_valid_len))
        attention_weights = []

        def step(tokens, state):
            Y, state = self.decoder(tokens, state)
            if save_attention_weights:
                attention_weights.append(seq2seq.attention_weights_of(self.decoder))
            return Y, state

        with torch.no_grad():
            enc_all_outputs = self.encoder(src, src_valid_len)
            dec_state = self.decoder.init_state(enc_all_outputs, src_valid_len)
            return seq2seq.greedy_decode(ops, tgt[:, 0], dec_state, num_steps, step), attention_weights


def init_seq2seq(module: nn.Module) -> None:
    """Xavier-uniform weights for ``nn.Linear`` and ``nn.GRU`` layers (biases as they were), as the book;
    for ``module.apply(init_seq2seq)``. A lazy ``nn.LazyLinear`` (the book's decoder's output layer) is
    initialised as soon as it knows its input size, before its first pass computes anything; the book's
    type check passes it by, so its decoder's output layer kept PyTorch's default draw."""
    if isinstance(module, LazyModuleMixin) and module.has_uninitialized_params():
        cnn._when_shaped(module, init_seq2seq)  # as init_cnn waits for a lazy layer
        return
    if type(module) is nn.Linear:
        nn.init.xavier_uniform_(module.weight)
    if type(module) is nn.GRU:
        for name in module._flat_weights_names:
            if "weight" in name:
                nn.init.xavier_uniform_(module._parameters[name])


class Seq2SeqEncoder(Encoder):
    """The RNN encoder: token embeddings into a ``num_layers``-layer GRU. ``forward(X)`` takes (batch_size,
    num_steps) token indices and returns ``(outputs, state)``: every step's top-layer hidden state (num_steps,
    batch_size, num_hiddens) and every layer's last one (num_layers, batch_size, num_hiddens)."""

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
        super().__init__()
        seq2seq.check_rnn_sizes(self, vocab_size, embed_size, num_hiddens, num_layers, dropout)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = rnn.GRU(**seq2seq.gru_arguments(rnn.GRU, embed_size, num_hiddens, num_layers, dropout))
        self.apply(init_seq2seq)

    def forward(self, X, *args):
        embs = self.embedding(seq2seq.checked_tokens(self, X).t().type(torch.int64))
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
        return torch.optim.Adam(self.parameters(), lr=self.lr)
