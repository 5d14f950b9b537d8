"""What d2lx covers, and where the names it does not provide yet come from.

A learner who runs a later chapter's cell (``d2l.LeNet``) should hear which
chapter that name belongs to and what d2lx covers, not a bare
``AttributeError``. The table below is data: a test checks it against every
backend's exports, so a name moves out of it when a backend gains it.
"""

from __future__ import annotations

COVERED = (
    "the 1.0 edition's chapters 2-5 (preliminaries, linear regression, softmax regression, multilayer perceptrons)"
)

# chapter number -> title, for each edition of the book
CHAPTERS_1_0 = {
    3: "Linear Neural Networks for Regression",
    4: "Linear Neural Networks for Classification",
    5: "Multilayer Perceptrons",
    7: "Convolutional Neural Networks",
    8: "Modern Convolutional Neural Networks",
    9: "Recurrent Neural Networks",
    10: "Modern Recurrent Neural Networks",
    11: "Attention Mechanisms and Transformers",
    12: "Optimization Algorithms",
    13: "Computational Performance",
    14: "Computer Vision",
    15: "Natural Language Processing: Pretraining",
    16: "Natural Language Processing: Applications",
}
CHAPTERS_2_0 = {
    3: "Linear Neural Networks",
    6: "Convolutional Neural Networks",
    8: "Recurrent Neural Networks",
    9: "Modern Recurrent Neural Networks",
    11: "Optimization Algorithms",
    13: "Computer Vision",
}

_NOT_YET_1_0 = {
    7: "corr2d init_cnn LeNet",
    8: "vgg_block VGG nin_block NiN Inception GoogleNet Residual ResNet ResNeXtBlock DenseBlock DenseNet "
    "AnyNet RegNet32",
    9: "TimeMachine Vocab RNNScratch RNNLMScratch RNN RNNLM check_len check_shape",
    10: "GRU LSTM StackedRNNScratch MTFraEng Encoder Decoder EncoderDecoder Seq2SeqEncoder Seq2Seq bleu",
    11: "show_heatmaps masked_softmax AdditiveAttention DotProductAttention AttentionDecoder MultiHeadAttention "
    "PositionalEncoding PositionWiseFFN AddNorm TransformerEncoderBlock TransformerEncoder",
    12: "train_2d show_trace_2d get_data_ch11 train_concise_ch11",
    13: "split_batch resnet18 train_batch_ch13",
    14: "box_corner_to_center box_center_to_corner bbox_to_rect multibox_prior show_bboxes box_iou "
    "read_data_bananas BananasDataset load_data_bananas read_voc_images VOCSegDataset load_data_voc",
    15: "read_ptb load_data_ptb TokenEmbedding get_tokens_and_segments BERTEncoder BERTModel load_data_wiki",
    16: "read_imdb load_data_imdb predict_sentiment read_snli SNLIDataset load_data_snli",
}
_NOT_YET_2_0 = {
    6: "evaluate_accuracy_gpu train_ch6",
    8: "load_data_time_machine predict_ch8 grad_clipping train_epoch_ch8 train_ch8 RNNModel",
    9: "load_data_nmt sequence_mask MaskedSoftmaxCELoss train_seq2seq predict_seq2seq",
    11: "train_ch11",
    13: "train_ch13",
}


def _index() -> dict[str, str]:
    where: dict[str, str] = {}
    for chapters, table, edition in ((_NOT_YET_2_0, CHAPTERS_2_0, "2.0"), (_NOT_YET_1_0, CHAPTERS_1_0, "1.0")):
        for chapter, names in chapters.items():
            for name in names.split():
                where[name] = f"chapter {chapter} ({table[chapter]}) of the book's {edition} edition"
    return where


NOT_YET: dict[str, str] = _index()


def missing_name_error(module_name: str, name: str) -> AttributeError:
    """The error for ``d2l.<name>`` that this backend does not provide."""
    if name in NOT_YET:
        return AttributeError(
            f"{module_name} does not provide {name!r} yet: it belongs to {NOT_YET[name]}. d2lx covers {COVERED} so far."
        )
    return AttributeError(f"module {module_name!r} has no attribute {name!r}")
