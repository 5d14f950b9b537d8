"""The table of names: for each chapter of each edition, what d2lx provides and what it does not yet.

This table is the only list of the book's names in d2lx. Each backend builds its flat ``d2l``
namespace from it (``namespace``), the error for a name of a later chapter comes from it
(``missing_name_error``), and the tests read it to check every backend. Adding a chapter is one
edit here (move its names from ``not_yet`` to ``provides``) plus the code that defines them.

Where a name is looked up: a row's ``provides`` maps a *topic* (a file name such as ``"models"``
or ``"cnn"``) to names. For backend ``b`` the name is taken from ``d2lx.<b>.<topic>`` if that
module defines it, else from the core's ``d2lx.<topic>``: a name written once in the core needs no
copy in the backends, and a backend file that defines the name wins. The topic ``"@lazy"`` marks
names that the backend's module ``__getattr__`` imports on first use (``d2l.plt``); ``"@self"`` marks
``d2l``, the backend module itself, as d2l's library binds it (``d2l = sys.modules[__name__]``).

``tests/data/d2l_1_0_3_names.json`` lists every top-level name of d2l 1.0.3's library files with its
chapter; the tests check that each name of the chapters d2lx covers is provided here or excepted below.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

ALL_BACKENDS = ("torch", "mxnet", "jax", "tensorflow")
LAZY = "@lazy"
SELF = "@self"

# Heavy or optional modules the book reaches through ``d2l.<name>``; imported on first use.
LAZY_MODULES = {"plt": "matplotlib.pyplot", "display": "IPython.display"}


@dataclass(frozen=True)
class Chapter:
    """One chapter of one edition: the names d2lx provides (by topic file) and those it does not yet."""

    edition: str  # "1.0" or "2.0"; "d2lx" for d2lx's own additions
    number: int
    title: str
    provides: dict[str, str] = field(default_factory=dict)  # topic -> space-separated names
    not_yet: str = ""

    @property
    def where(self) -> str:
        return f"chapter {self.number} ({self.title}) of the book's {self.edition} edition"

    def provided_names(self) -> list[str]:
        return [name for names in self.provides.values() for name in names.split()]


CHAPTERS: tuple[Chapter, ...] = (
    # --- the 1.0 edition -------------------------------------------------------------------
    Chapter("1.0", 2, "Preliminaries", {
        "ops": "tensor ones ones_like zeros zeros_like arange linspace meshgrid eye sin sinh cos cosh tanh "
               "exp log abs sigmoid normal rand randn matmul batch_matmul concat stack reshape reduce_sum "
               "reduce_mean argmax astype transpose expand_dims repeat swapaxes size numpy to int32 int64 float32",
        "plotting": "plot set_axes set_figsize use_svg_display",
        LAZY: "plt display",
        SELF: "d2l",
    }),
    Chapter("1.0", 3, "Linear Neural Networks for Regression", {
        "hparams": "add_to_class HyperParameters",
        "board": "ProgressBoard",
        "utils": "Timer",
        "module": "Module",
        "data": "DataModule SyntheticRegressionData Data",
        "trainer": "Trainer",
        "optim": "SGD",
        "models": "LinearRegressionScratch LinearRegression",
        "mlp": "l2_penalty WeightDecayScratch WeightDecay",
    }),
    Chapter("1.0", 4, "Linear Neural Networks for Classification", {
        "module": "Classifier",
        "data": "FashionMNIST",
        "models": "SoftmaxRegressionScratch SoftmaxRegression softmax cross_entropy",
        "plotting": "show_images",
    }),
    Chapter("1.0", 5, "Multilayer Perceptrons", {
        "mlp": "relu MLPScratch MLP dropout_layer DropoutMLPScratch DropoutMLP",
        "hub": "DATA_URL DATA_HUB download extract download_extract download_all",
        "data": "KaggleHouse",
        "kaggle_house": "k_fold_data",
        "models": "k_fold",
    }),
    Chapter("1.0", 6, "Builders' Guide", {
        "devices": "cpu gpu num_gpus try_gpu try_all_gpus",
    }),
    Chapter("1.0", 7, "Convolutional Neural Networks", {"cnn": "corr2d init_cnn LeNet"}),
    Chapter("1.0", 8, "Modern Convolutional Neural Networks", {
        # the book exports only Residual and ResNeXtBlock; d2lx exports every class its cells define
        "modern_cnn": "AlexNet vgg_block VGG nin_block NiN Inception GoogleNet batch_norm BatchNorm "
                      "BNLeNetScratch BNLeNet Residual ResNet ResNet18 ResNeXtBlock conv_block DenseBlock "
                      "transition_block DenseNet AnyNet RegNetX32",
    }),
    Chapter("1.0", 9, "Recurrent Neural Networks", {
        "data": "TimeMachine",
        "text": "Vocab",
        "rnn": "check_len check_shape RNNScratch RNNLMScratch RNN RNNLM",
    }),
    Chapter("1.0", 10, "Modern Recurrent Neural Networks", {
        "data": "MTFraEng",
        "text": "bleu show_list_len_pair_hist",
        "rnn": "GRU LSTM StackedRNNScratch",
        "seq2seq": "Encoder Decoder EncoderDecoder init_seq2seq Seq2SeqEncoder Seq2Seq",
    }),
    Chapter("1.0", 11, "Attention Mechanisms and Transformers", {
        "attention": "show_heatmaps masked_softmax AdditiveAttention DotProductAttention AttentionDecoder "
                     "MultiHeadAttention",
        "transformer": "PositionalEncoding PositionWiseFFN AddNorm TransformerEncoderBlock TransformerEncoder",
    }),
    Chapter("1.0", 12, "Optimization Algorithms", {
        "optimization": "annotate train_2d show_trace_2d get_data_ch11 train_ch11 train_concise_ch11",
    }),
    Chapter("1.0", 13, "Computational Performance", {
        # d2l files train_batch_ch13 under chapter 14, where train_ch13 uses it; the chapter's cells need it here
        "performance": "Benchmark split_batch resnet18 train_batch_ch13 evaluate_accuracy_gpus",
    }),
    Chapter("1.0", 14, "Computer Vision",
            not_yet="box_corner_to_center box_center_to_corner bbox_to_rect multibox_prior show_bboxes box_iou "
                    "read_data_bananas BananasDataset load_data_bananas read_voc_images VOCSegDataset load_data_voc "
                    "VOC_CLASSES VOC_COLORMAP assign_anchor_to_bbox copyfile multibox_detection multibox_target nms "
                    "offset_boxes offset_inverse read_csv_labels reorg_test reorg_train_valid voc_colormap2label "
                    "voc_label_indices voc_rand_crop"),
    Chapter("1.0", 15, "Natural Language Processing: Pretraining",
            not_yet="read_ptb load_data_ptb TokenEmbedding get_tokens_and_segments BERTEncoder BERTModel "
                    "load_data_wiki MaskLM NextSentencePred RandomGenerator batchify get_centers_and_contexts "
                    "get_negatives subsample"),
    Chapter("1.0", 16, "Natural Language Processing: Applications",
            not_yet="read_imdb load_data_imdb predict_sentiment read_snli SNLIDataset load_data_snli predict_snli "
                    "split_batch_multi_inputs"),
    Chapter("1.0", 17, "Reinforcement Learning",
            not_yet="frozen_lake make_env show_value_function_progress show_Q_function_progress"),
    Chapter("1.0", 18, "Gaussian Processes", not_yet="rbfkernel"),
    Chapter("1.0", 19, "Hyperparameter Optimization",
            not_yet="HPOTrainer HPOSearcher HPOScheduler HPOTuner BasicScheduler RandomSearcher "
                    "SuccessiveHalvingScheduler hpo_objective_lenet"),
    Chapter("1.0", 20, "Generative Adversarial Networks", not_yet="update_D update_G"),
    Chapter("1.0", 21, "Recommender Systems",
            not_yet="read_data_ml100k split_data_ml100k load_data_ml100k split_and_load_ml100k "
                    "train_recsys_rating BPRLoss HingeLossbRec hit_and_auc evaluate_ranking train_ranking CTRDataset"),
    Chapter("1.0", 23, "Appendix: Tools for Deep Learning", not_yet="TrainCallback"),
    # --- the 2.0 edition (its functional API) ----------------------------------------------
    Chapter("2.0", 3, "Linear Neural Networks", {
        "functional": "synthetic_data data_iter load_array linreg squared_loss sgd load_data_fashion_mnist "
                      "get_fashion_mnist_labels get_dataloader_workers accuracy evaluate_accuracy Animator "
                      "train_epoch_ch3 train_ch3 predict_ch3",
        "utils": "Accumulator",
    }),
    Chapter("2.0", 4, "Multilayer Perceptrons", {"functional": "evaluate_loss"}),
    Chapter("2.0", 6, "Convolutional Neural Networks", {"functional": "evaluate_accuracy_gpu train_ch6"}),
    Chapter("2.0", 8, "Recurrent Neural Networks", {
        "text": "read_time_machine tokenize count_corpus load_corpus_time_machine",
        "functional": "seq_data_iter_random seq_data_iter_sequential SeqDataLoader load_data_time_machine "
                      "predict_ch8 train_epoch_ch8 train_ch8 RNNModel",
        "trainer": "grad_clipping",
    }),
    Chapter("2.0", 9, "Modern Recurrent Neural Networks", {
        "text": "read_data_nmt preprocess_nmt tokenize_nmt truncate_pad",
        "functional": "build_array_nmt load_data_nmt train_seq2seq predict_seq2seq",
        "seq2seq": "sequence_mask MaskedSoftmaxCELoss",
    }),
    Chapter("2.0", 11, "Optimization Algorithms", {"optimization": "train_ch11"}),
    Chapter("2.0", 13, "Computer Vision", not_yet="train_ch13"),
    # --- d2lx's own names, on every backend ---------------------------------------------------
    Chapter("d2lx", 0, "d2lx's additions", {
        "utils": "set_seed",
        "module": "TrainingDivergedError",
        "data": "DatasetNotFoundError",
    }),
)  # fmt: skip

# Names only some backends have: backend -> topic -> space-separated names, as in ``Chapter.provides``.
# The topic ``"@init"`` marks framework modules that the backend's ``__init__`` imports (the book's cells
# reach ``d2l.nn``); ``nn_Module`` is d2l's alias for the models' base class on every backend, and the
# other ``"ops"`` names are modules d2l's library file for that framework imports, which the book's cells
# reach through ``d2l.`` as well.
INIT = "@init"
BACKEND_ONLY: dict[str, dict[str, str]] = {
    # torch, torch.nn, torch.nn.functional; torch.nn.Module, numpy, torch.utils.data (d2l.data.DataLoader)
    "torch": {INIT: "torch nn F", "ops": "nn_Module np data"},
    # mxnet.np is the numpy interface the book's MXNet cells use; nn is mxnet.gluon.nn, nn_Module its Block;
    # rnn is mxnet.gluon.rnn, transforms mxnet.gluon.data.vision.transforms
    "mxnet": {INIT: "mxnet np npx autograd gluon init nn", "ops": "nn_Module context image rnn transforms"},
    # nn is flax.linen (nn_Module its Module), np plain numpy, train_state flax.training.train_state.
    # JAX needs explicit PRNG keys: get_key is d2lx's seeded key stream, get_seed an int seed for the book's
    # jax.random.PRNGKey(d2l.get_seed()) (chapter 6)
    "jax": {INIT: "jax jnp nn optax", "ops": "get_key get_seed nn_Module np flax grad vmap train_state"},
    # nn_Module is tf.keras.Model; Updater is the 2.0 edition's TensorFlow updater class (section 3.6)
    "tensorflow": {INIT: "tf", "ops": "nn_Module np", "functional": "Updater"},
}

# (backend, name) -> why a name the table says is provided, or a name of d2l 1.0.3's library file
# (tests/data/d2l_1_0_3_names.json), does not exist on that backend.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("tensorflow", "randn"): "d2l's TensorFlow library has no randn: its cells call tf.random.normal",
    ("tensorflow", "swapaxes"): "d2l's TensorFlow library has no swapaxes: its cells call tf.transpose",
    ("mxnet", "init_cnn"): "d2l's MXNet library has no init_cnn: its CNNs call net.initialize(init.Xavier())",
    ("jax", "init_cnn"): "d2l's JAX library has no init_cnn: its CNN layers take kernel_init=xavier_uniform",
    ("tensorflow", "init_cnn"): "d2l's TensorFlow library has no init_cnn: Keras layers start Glorot (Xavier)",
}

# What d2l's library files import only for their own code. d2lx does not re-export these modules: the
# book's cells import what they use themselves (``import math``, ``import pandas as pd``).
_STDLIB = "collections defaultdict hashlib inspect math os random re shutil sys tarfile time zipfile"
_LIBRARY_IMPORTS: dict[str, dict[str, str]] = {
    "": {  # every backend
        _STDLIB: "a standard-library module that d2l's library imports for its own code; "
        "the book's cells import it themselves",
        "pd requests backend_inline": "pandas, requests or matplotlib_inline, imported by d2l's library for its "
        "own code; d2lx reaches them inside its functions and the book's cells import pandas themselves",
    },
    "torch": {
        "torchvision transforms Image distance_matrix": "torchvision, Pillow and SciPy serve d2l's later "
        "chapters; d2lx's torch backend does not depend on them and the book's cells import torchvision themselves",
    },
    "mxnet": {
        "USE_MXNET USE_PYTORCH USE_TENSORFLOW": "flags d2l's MXNet library sets for its own code; no book cell "
        "reads them",
    },
    "jax": {
        "Any field partial FunctionType": "a standard-library helper that d2l's library imports for its own code",
        "tf tfds": "d2l's JAX library reads data with TensorFlow; d2lx's JAX backend needs no TensorFlow, and "
        "the book's two cells that use it import it themselves",
    },
}
EXCEPTIONS.update({
    (backend, name): reason
    for backend in ALL_BACKENDS
    for group in ("", backend)
    for text, reason in _LIBRARY_IMPORTS.get(group, {}).items()
    for name in text.split()
})  # fmt: skip


def provided(backend: str) -> dict[str, str]:
    """Every name ``backend`` provides -> the topic it comes from (a file name, ``"@lazy"``, ``"@init"``
    or ``"@self"``)."""
    names: dict[str, str] = {}
    for provides in [chapter.provides for chapter in CHAPTERS] + [BACKEND_ONLY.get(backend, {})]:
        for topic, text in provides.items():
            for name in text.split():
                if (backend, name) not in EXCEPTIONS:
                    names[name] = topic
    return names


def not_yet() -> dict[str, Chapter]:
    """Every name d2lx does not provide yet -> its chapter (the first row that lists it, 1.0 before 2.0)."""
    where: dict[str, Chapter] = {}
    for chapter in CHAPTERS:
        for name in chapter.not_yet.split():
            where.setdefault(name, chapter)
    return where


def covered() -> str:
    """What d2lx covers, in words, from the chapters without ``not_yet`` names."""
    parts = []
    for edition in ("1.0", "2.0"):
        numbers = [c.number for c in CHAPTERS if c.edition == edition and c.provides and not c.not_yet]
        if numbers:
            parts.append(f"the {edition} edition's chapters {_ranges(numbers)}")
    return " and ".join(parts)


def _ranges(numbers: list[int]) -> str:
    numbers = sorted(set(numbers))
    spans, start = [], numbers[0]
    for previous, current in zip(numbers, numbers[1:] + [None]):
        if current != previous + 1:
            spans.append(str(start) if start == previous else f"{start}-{previous}")
            start = current
    return ", ".join(spans)


def _module(path: str) -> ModuleType | None:
    if importlib.util.find_spec(path) is None:
        return None
    return importlib.import_module(path)


def namespace(backend: str) -> dict[str, Any]:
    """The flat ``d2l`` namespace of ``backend``: every provided name except the lazy ones.

    A name missing from both ``d2lx.<backend>.<topic>`` and ``d2lx.<topic>`` is a bug in d2lx:
    the error says where it was looked for, so the table and the code cannot drift apart silently.
    """
    found: dict[str, Any] = {}
    modules: dict[str, list[ModuleType]] = {}
    for name, topic in provided(backend).items():
        if topic in (LAZY, INIT, SELF):
            continue
        if topic not in modules:
            paths = (f"d2lx.{backend}.{topic}", f"d2lx.{topic}")
            modules[topic] = [m for m in map(_module, paths) if m is not None]
        for module in modules[topic]:
            if hasattr(module, name):
                found[name] = getattr(module, name)
                break
        else:
            raise ImportError(
                f"d2lx.names says {backend} provides {name!r} from topic {topic!r}, but neither "
                f"d2lx.{backend}.{topic} nor d2lx.{topic} defines it"
            )
    return found


def missing_name_error(module_name: str, name: str) -> AttributeError:
    """The error for ``d2l.<name>`` that this backend does not provide."""
    chapter = not_yet().get(name)
    if chapter is not None:
        return AttributeError(
            f"{module_name} does not provide {name!r} yet: it belongs to {chapter.where}. "
            f"d2lx covers {covered()} so far."
        )
    return AttributeError(f"module {module_name!r} has no attribute {name!r}")


def lazy_attribute(module_name: str, name: str):
    """Module-level ``__getattr__`` body for a backend: ``d2l.plt`` imports pyplot only when used;
    a name from a chapter d2lx does not cover yet gets an error that says so."""
    if name in LAZY_MODULES:
        return importlib.import_module(LAZY_MODULES[name])
    raise missing_name_error(module_name, name)


def export(backend: str, module_globals: dict[str, Any]) -> None:
    """Fill a backend's ``__init__`` namespace from the table and set its ``__all__``."""
    module_globals.update(namespace(backend))
    for name, topic in provided(backend).items():
        if topic == SELF:
            module_globals[name] = sys.modules[module_globals["__name__"]]
    missing = [n for n, topic in provided(backend).items() if topic == INIT and n not in module_globals]
    if missing:
        raise ImportError(f"d2lx.{backend}'s __init__ must import {missing} (d2lx.names.BACKEND_ONLY)")
    module_globals["__all__"] = sorted(n for n in provided(backend) if n not in LAZY_MODULES)
