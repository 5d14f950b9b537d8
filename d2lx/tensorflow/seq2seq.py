"""Sequence to sequence on TensorFlow: the 2.0 edition's padding mask (section 9.7: ``sequence_mask``,
``MaskedSoftmaxCELoss``) and the 1.0 edition's encoder-decoder (sections 10.6-10.7: ``Encoder``, ``Decoder``,
``EncoderDecoder``, ``init_seq2seq``, ``Seq2SeqEncoder``, ``Seq2Seq``).

The arithmetic and the loops are the core's (``d2lx.seq2seq``); this file gives them TensorFlow's
operations. Inside a ``tf.function`` ``valid_len``'s values are not known, and only its shape is checked.
"""

from __future__ import annotations

import tensorflow as tf

from d2lx import seq2seq
from d2lx.tensorflow import ops, rnn
from d2lx.tensorflow.module import Classifier
from d2lx.tensorflow.own_errors import KeepsOwnErrors


def _concrete(lengths):
    return lengths.numpy() if tf.executing_eagerly() else None


_OPS = seq2seq.MaskOps(
    lengths=lambda valid_len, X: tf.convert_to_tensor(valid_len),
    concrete=_concrete,
    arange=lambda steps, lengths: tf.range(steps, dtype=lengths.dtype),
    reshape=tf.reshape,
    where=lambda keep, X, value: tf.where(keep, X, tf.cast(value, X.dtype)),
    ones_like=tf.ones_like,
    mean=lambda X, axis: tf.reduce_mean(X, axis=axis),
)


def sequence_mask(X, valid_len, value=0):
    """``X`` (n, T, ...) with ``value`` at every step past each row's ``valid_len`` (a new tensor)."""
    return seq2seq.sequence_mask(_OPS, tf.convert_to_tensor(X), valid_len, value)


class MaskedSoftmaxCELoss(tf.keras.losses.Loss):
    """The softmax cross-entropy with padding masked, as the TensorFlow book builds it:
    ``MaskedSoftmaxCELoss(valid_len)(label, pred)``, ``label`` (n, T), ``pred`` (n, T, vocab) logits; one loss
    per sequence, the mean over time of the tokens' losses, those past ``valid_len`` counted as 0."""

    def __init__(self, valid_len):
        super().__init__(reduction=None)
        self.valid_len = valid_len

    def call(self, label, pred):
        per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(label, tf.int32), logits=pred)
        return seq2seq.masked_mean(_OPS, per_token, self.valid_len)


# --- the 1.0 edition's sections 10.6-10.7 --------------------------------------------------------------
class _BuiltByItsLayers(KeepsOwnErrors, tf.keras.layers.Layer):
    """A Keras layer whose sublayers build themselves at their first call: nothing to create up front (Keras
    3 would otherwise warn that the layer "does not have a build() method" at every first call)."""

    def build(self, input_shape=None):
        pass


class Encoder(_BuiltByItsLayers):
    """The base encoder of the encoder-decoder architecture: ``call(X, *args)`` gives what the decoder's
    ``init_state`` reads (``args``: e.g. the valid lengths of ``X``)."""

    def __init__(self):
        super().__init__()

    def call(self, X, *args):
        raise NotImplementedError(f"{type(self).__name__} must define call(self, X, *args)")


class Decoder(_BuiltByItsLayers):
    """The base decoder: ``init_state(enc_all_outputs, *args)`` turns the encoder's outputs into the decoder's
    state, ``call(X, state)`` returns ``(outputs, new state)``."""

    def __init__(self):
        super().__init__()

    def init_state(self, enc_all_outputs, *args):
        raise NotImplementedError(f"{type(self).__name__} must define init_state(self, enc_all_outputs, *args)")

    def call(self, X, state):
        raise NotImplementedError(f"{type(self).__name__} must define call(self, X, state)")


class EncoderDecoder(seq2seq.EncoderDecoderSteps, Classifier):
    """The base class of the encoder-decoder architecture (see ``d2lx.seq2seq.EncoderDecoderSteps``).

    The encoder and decoder run in the model's mode (``training``, which the trainer sets): the book passes
    them ``training=True`` always, so its validation dropped units too. ``predict_step``'s ``device`` is not
    used (TensorFlow places the computation itself), as in the book."""

    _ops = ops

    def _placed(self, array, device):
        return tf.convert_to_tensor(array)

    def _mode(self, training):
        return {"training": training}


def init_seq2seq(layer) -> None:
    """Xavier-uniform (Glorot) weights for the ``Dense`` layers and GRU cells in ``layer`` (biases as they
    were), as the PyTorch book's ``init_seq2seq``: Keras starts a GRU's recurrent weights orthogonal. A
    layer not built yet is given the initializer, and draws from it when it is built."""
    for sublayer in [layer, *layer._flatten_layers(include_self=False)]:
        if isinstance(sublayer, tf.keras.layers.Dense):
            names = ("kernel",)
        elif isinstance(sublayer, tf.keras.layers.GRUCell):
            names = ("kernel", "recurrent_kernel")
        else:
            continue
        for name in names:
            initializer = tf.keras.initializers.GlorotUniform()
            setattr(sublayer, f"{'recurrent' if name.startswith('recurrent') else 'kernel'}_initializer", initializer)
            if sublayer.built:
                weight = getattr(sublayer, name)
                weight.assign(initializer(weight.shape, weight.dtype))


class Seq2SeqEncoder(seq2seq.Seq2SeqEncoderSteps, Encoder):
    """The RNN encoder (see ``d2lx.seq2seq.Seq2SeqEncoderSteps``)."""

    _embedding, _gru = tf.keras.layers.Embedding, rnn.GRU

    def call(self, X, *args, training=None):
        embs = self.embedding(tf.transpose(seq2seq.checked_tokens(self, X)))
        return self.rnn(embs, training=training)


class Seq2Seq(seq2seq.Seq2SeqSteps, EncoderDecoder):
    """The RNN encoder-decoder for sequence-to-sequence learning, trained with Adam at ``lr``; its loss leaves
    out the padding (``tgt_pad``), see ``d2lx.seq2seq.Seq2SeqSteps``."""

    def configure_optimizers(self):
        return tf.keras.optimizers.Adam(learning_rate=float(self.lr))
