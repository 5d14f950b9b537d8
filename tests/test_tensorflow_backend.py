"""TensorFlow only: the book's TensorFlow code on Keras 3, the compiled step, the data layout, quiet logs."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import threading
import traceback
import warnings

import numpy as np
import pytest
from helpers import TRUE_B, TRUE_W, w_b_errors

tf = pytest.importorskip("tensorflow")
d2l = pytest.importorskip("d2lx.tensorflow")
_logs = pytest.importorskip("d2lx.tensorflow._logs")


def test_start_up_info_lines_are_dropped_and_everything_else_kept():
    read_end, write_end = os.pipe()
    out_read, out_write = os.pipe()
    pump = threading.Thread(target=_logs._forward, args=(read_end, out_write))
    pump.start()
    os.write(
        write_end,
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        b"I0000 00:00:1795433647.349098    6040 port.cc:153] oneDNN custom operations are on.\n"
        b"W0000 00:00:1795433647.439897    6040 gpu_device.cc:2342] Cannot dlopen some GPU libraries.\n"
        b"E0000 00:00:1795433647.439897    6040 cuda_dnn.cc:8579] Unable to register cuDNN factory\n"
        b"Traceback (most recent call last):\n"
        b"partial line without newline",
    )
    os.close(write_end)
    pump.join(timeout=5)
    os.close(out_write)
    with os.fdopen(out_read, "rb") as out:
        kept = out.read().decode()
    assert kept.splitlines() == [
        "W0000 00:00:1795433647.439897    6040 gpu_device.cc:2342] Cannot dlopen some GPU libraries.",
        "E0000 00:00:1795433647.439897    6040 cuda_dnn.cc:8579] Unable to register cuDNN factory",
        "Traceback (most recent call last):",
        "partial line without newline",
    ]


def test_importing_the_backend_prints_no_info_lines():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = "import os, sys; from d2lx import tensorflow; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "1"  # warnings and errors stay visible
    assert "I0000" not in out.stderr and "oneDNN" not in out.stderr and "InitializeLog" not in out.stderr


class BookLinearRegression(d2l.Module):
    """A scratch model as a book cell writes it: bare ``tf.Variable``s; ``loss`` comes in a later cell."""

    def __init__(self, num_inputs, lr, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.w = tf.Variable(tf.random.normal((num_inputs, 1), 0, sigma), trainable=True)
        self.b = tf.Variable(tf.zeros(1), trainable=True)

    def forward(self, X):
        return tf.matmul(X, self.w) + self.b


def test_loss_added_later_with_add_to_class_wins_over_keras_attribute():
    model = BookLinearRegression(2, lr=0.03)  # exists before the cells below run
    assert "loss" not in vars(model)  # Keras 3's `self.loss = None` was set aside

    @d2l.add_to_class(BookLinearRegression)
    def loss(self, y_hat, y):
        return tf.reduce_mean((y_hat - y) ** 2 / 2)

    @d2l.add_to_class(BookLinearRegression)
    def configure_optimizers(self):
        return d2l.SGD(self.lr)

    @d2l.add_to_class(BookLinearRegression)
    def get_w_b(self):
        return self.w, self.b

    data = d2l.SyntheticRegressionData(w=d2l.tensor(TRUE_W.tolist()), b=TRUE_B)
    d2l.Trainer(max_epochs=3).fit(model, data)
    assert w_b_errors(model).max() < 0.3
    model.compile(loss="mse")  # Keras's own bookkeeping does not hide the method either
    assert model.loss.__func__ is loss and model._keras_loss == "mse"


def test_bare_variables_are_trainable_also_inside_an_enclosing_model():
    model = BookLinearRegression(2, lr=0.03)
    assert [id(v) for v in model.trainable_variables] == [id(model.w), id(model.b)]

    class Outer(d2l.Module):
        def __init__(self):
            super().__init__()
            self.inner = BookLinearRegression(3, lr=0.1)
            self.net = tf.keras.layers.Dense(1)
            self.extra = [tf.Variable(1.0), tf.Variable(2.0, trainable=False)]
            self._private = tf.Variable(3.0)

    outer = Outer()
    outer.net(tf.ones((1, 3)))
    trainable = {id(v) for v in outer.trainable_variables}
    assert {id(outer.inner.w), id(outer.inner.b), id(outer.extra[0])} <= trainable
    assert len(outer.trainable_variables) == 5  # inner w, b; Dense kernel, bias; extra[0]
    assert id(outer.extra[1]) in {id(v) for v in outer.non_trainable_variables}
    assert id(outer._private) not in {id(v) for v in outer.variables}


def test_layers_are_built_once_from_the_seeded_stream_as_on_other_backends():
    from d2lx.utils import seeded_normal

    d2l.set_seed(0)
    model = d2l.LinearRegression(lr=0.03)
    model(tf.ones((4, 2)))  # Keras 3 alone would first trace `call` symbolically, drawing the kernel twice
    w, b = model.get_w_b()
    d2l.set_seed(0)
    np.testing.assert_array_equal(w, seeded_normal((2, 1), 0.01))
    assert b.tolist() == [0.0]


def test_hyperparameters_board_and_trainer_attributes_stay_plain():
    model = d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
    assert model.hparams == {"num_outputs": 10, "lr": 0.1} and model.lr == 0.1
    assert isinstance(model.board, d2l.ProgressBoard) and model.training is None
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2.0, -3.4]), b=4.2, num_train=64, num_val=32)
    trainer = d2l.Trainer(max_epochs=1)
    linear = d2l.LinearRegression(lr=0.03)
    trainer.fit(linear, data)
    assert linear.trainer is trainer and linear.board.data["val_loss"]
    assert len(linear.trainable_variables) == 2  # the Dense layer's, nothing from the trainer or board


def test_training_flag_follows_the_trainer():
    seen = []

    class Flagged(d2l.LinearRegressionScratch):
        def training_step(self, batch):  # a book-style override: the step runs eagerly
            seen.append(("train", self.training))
            return super().training_step(batch)

        def validation_step(self, batch):
            seen.append(("val", self.training))
            super().validation_step(batch)

    data = d2l.SyntheticRegressionData(w=d2l.tensor([2.0, -3.4]), b=4.2, num_train=64, num_val=32)
    d2l.Trainer(max_epochs=1).fit(Flagged(2, lr=0.03), data)
    assert seen == [("train", True), ("train", True), ("val", False)]


def _count_forward_calls(model_class, **trainer_args):
    calls = []

    class Counted(model_class):
        def forward(self, X):
            calls.append(1)
            return super().forward(X)

    data = d2l.SyntheticRegressionData(w=d2l.tensor(TRUE_W.tolist()), b=TRUE_B, num_train=320, num_val=32)
    model = Counted(2, lr=0.03)
    d2l.Trainer(max_epochs=2, **trainer_args).fit(model, data)
    return len(calls), model


def test_training_step_is_compiled_for_d2lx_models():
    calls, model = _count_forward_calls(d2l.LinearRegressionScratch)
    # 20 training and 2 validation batches; compiled, the Python forward runs for the first
    # (eager) batch and once to trace, in each half: validation's first batch is eager too.
    assert calls == 1 + 1 + 2
    calls, model = _count_forward_calls(d2l.LinearRegressionScratch, gradient_clip_val=1.0)
    assert calls == 1 + 1 + 2 and model.board.data["train_loss"]


def test_many_fits_do_not_warn_about_retracing(caplog, capfd):
    data = d2l.SyntheticRegressionData(w=d2l.tensor(TRUE_W.tolist()), b=TRUE_B, num_train=100, num_val=20)
    for _ in range(8):  # as k-fold cross-validation does: a new model and optimizer each time
        d2l.Trainer(max_epochs=1).fit(d2l.LinearRegression(lr=0.03), data)
    assert "retracing" not in caplog.text and "retracing" not in capfd.readouterr().err


def test_overridden_training_step_runs_eagerly_as_the_book_wrote_it():
    class Overridden(d2l.LinearRegressionScratch):
        def training_step(self, batch):
            return super().training_step(batch)

    calls, _ = _count_forward_calls(Overridden)
    assert calls == 20 + 2


def test_a_forward_that_cannot_be_traced_trains_eagerly():
    class NumpyForward(d2l.LinearRegressionScratch):
        def forward(self, X):
            return tf.matmul(X.numpy(), self.w) + self.b  # .numpy() exists only eagerly

    errors = []
    for model_class in (d2l.LinearRegressionScratch, NumpyForward):
        d2l.set_seed(0)
        data = d2l.SyntheticRegressionData(w=d2l.tensor(TRUE_W.tolist()), b=TRUE_B)
        model = model_class(2, lr=0.03)
        d2l.Trainer(max_epochs=3).fit(model, data)
        errors.append(w_b_errors(model))
    np.testing.assert_allclose(errors[1], errors[0], atol=1e-6)  # same training, compiled or not
    assert errors[1].max() < 0.3


# --- validation compiled on the default path -------------------------------------------------------
def _fit_recording_validation(model_class, model_args: dict, make_data, replace_validation_step=False):
    """Seed, fit two epochs of at most 3 training and 5 validation batches. Returns the trainer, the
    ``(key, value)`` of each validation plot, whether each Python call of ``forward`` in validation ran
    eagerly (False: a trace) and how many times ``validation_step`` ran, when ``replace_validation_step``
    replaced it (as a cell would)."""
    plotted, eager, steps = [], [], []

    class Recorded(model_class):
        def forward(self, X):
            if not self.training:
                eager.append(tf.executing_eagerly())
            return super().forward(X)

        def plot(self, key, value, train):
            if not train:
                plotted.append((key, float(value)))
            super().plot(key, value, train)

    if replace_validation_step:

        def validation_step(self, batch):
            steps.append(1)
            super(Recorded, self).validation_step(batch)

        Recorded.validation_step = validation_step
    d2l.set_seed(0)
    data, model = make_data(), Recorded(**model_args)
    trainer = d2l.Trainer(max_epochs=2, limit_train_batches=3, limit_val_batches=5)
    trainer.fit(model, data)
    return trainer, plotted, eager, len(steps)


@pytest.mark.parametrize(
    ("model_class", "model_args", "make_data", "shapes"),
    [
        (d2l.SoftmaxRegression, {"num_outputs": 10, "lr": 0.1}, lambda: d2l.FashionMNIST(batch_size=32), 1),
        (  # 80 rows in batches of 32: the last validation batch is short, a second shape to trace
            d2l.LinearRegressionScratch,
            {"num_inputs": 2, "lr": 0.03},
            lambda: d2l.SyntheticRegressionData(w=d2l.tensor(TRUE_W.tolist()), b=TRUE_B, num_train=96, num_val=80),
            2,
        ),
    ],
)
def test_validation_is_compiled_and_plots_what_the_eager_step_plots(model_class, model_args, make_data, shapes):
    trainer, plotted, eager, _ = _fit_recording_validation(model_class, model_args, make_data)
    validation = trainer._compiled_validation[2]
    assert validation is not None and not validation.failed
    # eager for the fit's first validation batch, then traced once per batch shape, not per batch
    assert validation.metrics.experimental_get_tracing_count() == shapes
    assert eager == [True] + [False] * shapes

    eager_trainer, eager_plotted, eager, steps = _fit_recording_validation(
        model_class, model_args, make_data, replace_validation_step=True
    )
    num_val = eager_trainer.num_val_batches
    assert eager_trainer._compiled_validation[2] is None  # the replaced step runs, eagerly, on every batch
    assert steps == 2 * num_val and eager == [True] * 2 * num_val
    assert (trainer.num_val_batches, trainer.val_batch_idx) == (num_val, eager_trainer.val_batch_idx)
    keys = ["loss", "acc"] if "num_outputs" in model_args else ["loss"]
    assert [key for key, _ in plotted] == [key for key, _ in eager_plotted] == keys * 2 * num_val
    np.testing.assert_allclose([v for _, v in plotted], [v for _, v in eager_plotted], rtol=0, atol=1e-6)


def test_a_forward_that_cannot_be_traced_validates_eagerly_without_a_warning():
    class NumpyForward(d2l.LinearRegressionScratch):
        def forward(self, X):
            return tf.matmul(X.numpy(), self.w) + self.b  # .numpy() exists only eagerly

    data = d2l.SyntheticRegressionData(w=d2l.tensor(TRUE_W.tolist()), b=TRUE_B, num_train=64, num_val=96)
    trainer = d2l.Trainer(max_epochs=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(NumpyForward(2, lr=0.03), data)
    assert not [w for w in caught if "compile" in str(w.message)]
    assert trainer._compiled_validation[2].failed
    assert len(trainer.model.board.data["val_loss"]) == 2  # the mean of the 3 batches, each epoch


# --- the loaders: one tf.function call per batch -------------------------------------------------
def _eager_twin(loader):
    """``loader`` as it was before the compiled fetch: the same arrays and transform, gathered eagerly."""
    from d2lx.data.loader import ArrayLoader

    return ArrayLoader(
        loader.arrays, loader.batch_size, loader.shuffle, to_index=tf.constant, take=tf.gather,
        transform=loader._transform,
    )  # fmt: skip


def _epoch(loader, seed):
    d2l.set_seed(seed)
    return [tuple(np.array(a) for a in batch) for batch in loader]


@pytest.mark.parametrize("resize", [(28, 28), (32, 32)])
def test_the_loaders_fetch_the_eager_batches_in_one_traced_call(resize):
    data = d2l.FashionMNIST(batch_size=256, resize=resize)
    for train in (True, False):
        loader = data.get_dataloader(train)
        for seed in (0, 1):  # two epochs of the same loader
            compiled, eager = _epoch(loader, seed), _epoch(_eager_twin(loader), seed)
            assert len(compiled) == len(eager) == len(loader) == (235 if train else 40)
            assert compiled[-1][0].shape == (96 if train else 16, *resize, 1)  # the short last batch
            for batch, expected in zip(compiled, eager):
                assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(batch, expected))
        # one trace serves every batch, the short last one included, and both epochs
        assert loader._compiled_fetch.experimental_get_tracing_count() == 1
    images, labels = next(iter(data.get_dataloader(train=False)))  # the division of the other backends
    if resize == (28, 28):
        np.testing.assert_array_equal(images.numpy()[..., 0], data.val[0][:256].numpy().astype(np.float32) / 255)


def test_a_transform_that_cannot_be_traced_is_gathered_eagerly():
    from d2lx.data.loader import ArrayLoader

    arrays = (tf.range(10), tf.range(10, 20))
    loader = ArrayLoader(arrays, 4, shuffle=True, take=d2l.DataModule._take, to_index=tf.constant,
                         transform=lambda batch: tuple(tf.constant(a.numpy() * 2) for a in batch))  # fmt: skip
    batches, eager = _epoch(loader, 0), _epoch(_eager_twin(loader), 0)
    assert loader._compiled_fetch is False and [len(b[0]) for b in batches] == [4, 4, 2]
    assert all(np.array_equal(a, b) for batch, twin in zip(batches, eager) for a, b in zip(batch, twin))


def test_loaders_of_numpy_arrays_are_not_compiled():
    module = d2l.DataModule()
    module.batch_size = 4
    loader = module.get_tensorloader((np.arange(10.0), np.arange(10)), train=False)
    assert [type(b[0]) for b in loader] == [np.ndarray] * 3 and loader._compiled_fetch is False


def test_gradient_clipping_bounds_the_joint_norm():
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=1.0)
    grads = [tf.constant([3.0, 4.0]), tf.constant([12.0])]  # joint norm 13
    clipped = trainer.clip_gradients(1.0, grads)
    assert np.sqrt(sum(float(tf.reduce_sum(g**2)) for g in clipped)) == pytest.approx(1.0)
    assert [float(v) for v in trainer.clip_gradients(100.0, grads)[0]] == [3.0, 4.0]


def test_fashion_mnist_is_nhwc_with_int32_labels_like_d2l():
    data = d2l.FashionMNIST(batch_size=32)
    images, labels = data.train  # d2l's TensorFlow code unpacks the pair: the original uint8 images
    assert tuple(images.shape) == (60000, 28, 28) and data.train[0] is images
    assert images.dtype == tf.uint8 and labels.dtype == tf.int32 and len(data.train) == 60000
    X, y = next(iter(data.val_dataloader()))
    assert tuple(X.shape) == (32, 28, 28, 1) and y.dtype == tf.int32


def test_devices_and_to():
    assert d2l.num_gpus() == len(tf.config.list_physical_devices("GPU"))
    x = d2l.to(d2l.tensor([1.0, 2.0]), d2l.cpu())
    assert x.device.endswith("CPU:0") and d2l.to(x, "/CPU:0").numpy().tolist() == [1.0, 2.0]
    assert len(d2l.try_all_gpus()) == max(d2l.num_gpus(), 1)


# --- chapter 8: batch normalization in the compiled step, the book's Keras 2 idioms on Keras 3 -----
class _ModeProbe(tf.keras.layers.Layer):
    """Passes its input through and records ``(eager, training)`` for every call Keras makes."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def call(self, X, training=None):
        self.calls.append((tf.executing_eagerly(), training))
        return X


def _small_fashion_mnist():
    return d2l.FashionMNIST(batch_size=32)


@pytest.mark.parametrize("normalization", ["keras", "scratch"])
def test_compiled_step_trains_batch_norm_and_validation_evaluates(normalization):
    """The compiled training step hands ``training=True`` to every layer inside the model: batch
    norm moves its running statistics there; validation (``training=False``) leaves them alone."""
    probe = _ModeProbe()
    layer = tf.keras.layers.BatchNormalization() if normalization == "keras" else d2l.BatchNorm()

    class Probed(d2l.Classifier):
        def __init__(self, lr=0.1):
            super().__init__()
            self.save_hyperparameters()
            self.net = tf.keras.Sequential(
                [tf.keras.layers.Flatten(), tf.keras.layers.Dense(16), layer, probe, tf.keras.layers.Dense(10)]
            )

    d2l.set_seed(0)
    data, model = _small_fashion_mnist(), Probed()
    trainer = d2l.Trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=1, progress_bar=False)
    trainer.fit(model, data)
    step = trainer._compiled[2]
    assert step is not None  # the second batch ran the compiled step, not the eager fallback
    assert (False, True) in probe.calls  # traced with training=True
    assert probe.calls[-1] == (True, False)  # validation: eager, training=False

    batch = next(iter(data.train_dataloader()))
    before = [v.numpy().copy() for v in model.non_trainable_variables]
    model.training = True
    assert trainer._compiled_step(batch) is not None  # the compiled step again, no new trace
    moved = [v.numpy().copy() for v in model.non_trainable_variables]
    assert not any(np.allclose(a, b) for a, b in zip(before, moved))
    model.training = False
    model.validation_step(batch)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(moved, model.non_trainable_variables))


@pytest.mark.parametrize(
    "make",
    [
        lambda: d2l.BNLeNetScratch(),
        lambda: d2l.ResNet(arch=((1, 64), (1, 96))),
        lambda: d2l.DenseNet(num_channels=8, growth_rate=4, arch=(1, 1)),
        lambda: d2l.AnyNet(arch=((1, 16, 4, 1), (1, 24, 4, 1)), stem_channels=8),
    ],
)
def test_chapter_8_models_train_in_the_compiled_step(make):
    """No chapter 8 block falls back to the eager loop (the trainer would do so silently)."""
    d2l.set_seed(0)
    model = make()
    trainer = d2l.Trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=1, progress_bar=False)
    trainer.fit(model, _small_fashion_mnist())
    assert trainer._compiled[2] is not None
    assert np.isfinite([point.y for point in model.board.data["train_loss"]]).all()


def test_the_books_sequential_of_one_block_nests_d2lx_blocks_as_keras_2_did():
    # Keras 3's Sequential(layers) iterates over its argument; the book passes one block (self.b1()).
    # d2lx's blocks iterate as themselves, so this holds even with D2LX_COMPAT=0 (the shim for Keras's
    # own blocks: tests/test_tensorflow_compat.py)
    for block in (d2l.ResNet18().b1(), d2l.DenseNet().b1(), d2l.RegNetX32().stem(8), d2l.vgg_block(1, 8)):
        net = tf.keras.models.Sequential(block)
        assert net.layers == [block] and type(block).__name__ == "Sequential"

    class BookResNet(d2l.ResNet):  # the book's TensorFlow __init__, on d2lx's b1 and block
        def __init__(self, arch, lr=0.1, num_classes=10):
            super(d2l.ResNet, self).__init__()
            self.save_hyperparameters()
            self.net = tf.keras.models.Sequential(self.b1())
            for i, b in enumerate(arch):
                self.net.add(self.block(*b, first_block=(i == 0)))
            self.net.add(
                tf.keras.models.Sequential(
                    [tf.keras.layers.GlobalAvgPool2D(), tf.keras.layers.Dense(units=num_classes)]
                )
            )

    assert tuple(BookResNet(((1, 64), (1, 128)))(tf.zeros((2, 32, 32, 1))).shape) == (2, 10)


def test_googlenet_stages_redefined_with_add_to_class_are_used():
    original = d2l.GoogleNet.b5

    def b5(self):
        return tf.keras.Sequential([tf.keras.layers.GlobalAvgPool2D()])

    try:
        d2l.add_to_class(d2l.GoogleNet)(b5)
        model = d2l.GoogleNet()
        assert model.net.layers[4].layers[0].__class__.__name__ == "GlobalAveragePooling2D"
    finally:
        d2l.GoogleNet.b5 = original


@pytest.mark.parametrize(("channels", "groups", "strides"), [(32, 16, 1), (80, 16, 2), (12, 3, 1)])
def test_grouped_convolution_is_keras_s_without_xla(channels, groups, strides):
    """d2lx's ResNeXt convolution holds Keras's grouped kernel and gives Keras's outputs, computed
    as one ordinary convolution (Keras compiles a grouped one with XLA on every eager call)."""
    from d2lx.tensorflow.modern_cnn import GroupedConv2D

    X = tf.random.normal((2, 9, 9, channels))
    keras_conv = tf.keras.layers.Conv2D(channels, 3, strides=strides, padding="same", groups=groups)
    ours = GroupedConv2D(channels, 3, strides=strides, padding="same", groups=groups)
    keras_conv(X), ours(X)
    ours.set_weights(keras_conv.get_weights())
    assert tuple(ours.kernel.shape) == (3, 3, channels // groups, channels)
    np.testing.assert_allclose(ours(X), keras_conv(X), atol=1e-5)
    assert isinstance(d2l.ResNeXtBlock(32, 16, 1).conv2, GroupedConv2D)


def test_scratch_batch_norm_takes_training_as_keras_3_hands_it():
    layer = d2l.BatchNorm()
    X = tf.random.normal((8, 5)) * 3 + 1
    Y = layer(X)  # no training argument: evaluation, with the initial statistics (0, 1)
    np.testing.assert_allclose(Y, X / np.sqrt(1 + 1e-5), rtol=1e-5)
    assert np.allclose(layer.moving_mean, 0)
    Y = layer(X, training=True)
    np.testing.assert_allclose(tf.reduce_mean(Y, axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean, 0.1 * tf.reduce_mean(X, axis=0), rtol=1e-5)
    net = tf.keras.Sequential([tf.keras.layers.Dense(4), d2l.BatchNorm()])  # a required training would fail here
    assert tuple(net(X).shape) == (8, 4)


def test_padding_mask_and_clipping_run_in_a_tf_function():
    """Inside a ``tf.function`` ``valid_len``'s values are unknown: the mask checks its shape only, and the
    numbers are the eager ones."""
    X = tf.reshape(tf.range(6.0), (2, 3))
    masked = tf.function(lambda x, v: d2l.sequence_mask(x, v, -1))(X, tf.constant([1, 2]))
    assert masked.numpy().tolist() == [[0, -1, -1], [3, 4, -1]]
    loss = tf.function(lambda y, p, v: d2l.MaskedSoftmaxCELoss(v)(y, p))(
        tf.ones((2, 3), tf.int32), tf.ones((2, 3, 4)), tf.constant([3, 0])
    )
    np.testing.assert_allclose(loss.numpy(), [np.log(4), 0], rtol=1e-6)
    clipped = tf.function(lambda g: d2l.grad_clipping(g, 1.0))([tf.constant([3.0, 4.0])])
    np.testing.assert_allclose(clipped[0].numpy(), [0.6, 0.8], rtol=1e-6)


def test_attention_runs_in_a_tf_function_of_unknown_batch_size():
    """Inside a ``tf.function`` whose batch size is unknown (``None``), ``masked_softmax`` and
    ``MultiHeadAttention`` give what they give eagerly: the checks skip the unknown sizes and the values."""
    import d2lx.tensorflow as d2l
    from d2lx.attention import masked_softmax_numpy

    X = np.random.default_rng(0).uniform(size=(3, 4, 6)).astype(np.float32)
    lens, per_query = np.array([2, 0, 5], np.int32), np.array([[1, 2, 3, 4]] * 3, np.int32)
    softmax = tf.function(
        d2l.masked_softmax, input_signature=[tf.TensorSpec([None, None, 6]), tf.TensorSpec([None, None], tf.int32)]
    )
    np.testing.assert_allclose(softmax(X, per_query).numpy(), masked_softmax_numpy(X, per_query), atol=1e-6)
    attention = d2l.MultiHeadAttention(6, 6, 6, 8, 2, 0.0)
    eager = attention(X, X, X, lens, training=False).numpy()
    traced = tf.function(
        lambda x, l: attention(x, x, x, l, training=False),
        input_signature=[tf.TensorSpec([None, 4, 6]), tf.TensorSpec([None], tf.int32)],
    )
    np.testing.assert_allclose(traced(X, lens).numpy(), eager, atol=1e-6)


def test_a_seq2seq_model_trains_in_the_compiled_step(fra_eng):
    """d2lx's padding-masked loss traces as a graph, so an encoder-decoder trains compiled. Its
    ``reshape(Y, -1)`` once failed to trace, and every chapter 10-11 model then trained in the eager
    fallback, silently (the transformer benchmark found it: twice the hand-written loop's time)."""
    from seq2seq_book import book

    cells = book(d2l)
    d2l.set_seed(0)
    data = d2l.MTFraEng(batch_size=128)
    encoder = d2l.Seq2SeqEncoder(len(data.src_vocab), 8, 8, 1)
    decoder = cells.decoder_class(d2l)(len(data.tgt_vocab), 8, 8, 1)
    model = cells.seq2seq(d2l, encoder, decoder, data.tgt_vocab["<pad>"], 0.01)
    trainer = d2l.Trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=1, progress_bar=False)
    trainer.fit(model, data)
    assert trainer._compiled[2] is not None  # the second batch ran the compiled step
    assert np.isfinite([point.y for point in model.board.data["train_loss"]]).all()


# --- AutoGraph: only where the model's code needs it (issue 34: the first epoch) ----------------------------
def _in_autograph_code() -> bool:
    """Whether the caller runs as AutoGraph's rewriting of its source (which lives in generated files)."""
    return any("__autograph_generated" in frame.filename for frame in traceback.extract_stack())


class ConvertedRegression(d2l.LinearRegressionScratch):  # (Keras names a layer after its class: no leading _)
    """The scratch model, noting whether each call of its loss runs as AutoGraph's rewriting of the source
    (the steps call ``loss`` directly; a forward pass runs under Keras's ``Layer.__call__``, which AutoGraph
    never converts, nor what it calls)."""

    converted: list[bool] = []

    def loss(self, y_hat, y):
        type(self).converted.append(_in_autograph_code())
        return super().loss(y_hat, y)


class BranchyRegression(ConvertedRegression):
    """With a Python ``if`` on a tensor in its loss: only AutoGraph traces it (as a ``tf.cond``); without it
    the trace raises ``OperatorNotAllowedInGraphError``."""

    def loss(self, y_hat, y):
        type(self).converted.append(_in_autograph_code())
        error = d2l.LinearRegressionScratch.loss(self, y_hat, y)
        if error > 1e6:  # never true here: the numbers are the plain model's
            error = error * 0.0
        return error


def _plotted_fit(model_class, eagerly: bool = False):
    d2l.set_seed(0)
    data = d2l.SyntheticRegressionData(w=d2l.tensor(TRUE_W.tolist()), b=TRUE_B, num_train=96, num_val=80)
    trainer = d2l.Trainer(max_epochs=2, progress_bar=False)
    tf.config.run_functions_eagerly(eagerly)
    try:
        model = model_class(2, lr=0.03)
        trainer.fit(model, data)
    finally:
        tf.config.run_functions_eagerly(False)
    return trainer, {key: [float(p.y) for p in points] for key, points in model.board.data.items()}


@pytest.mark.parametrize(("model_class", "autograph"), [(ConvertedRegression, False), (BranchyRegression, True)])
def test_the_compiled_steps_use_autograph_only_where_the_models_code_needs_it(model_class, autograph):
    """AutoGraph's rewriting of d2lx's and the model's source was most of what a fit's first epoch cost over
    a hand-written ``tf.function`` loop; d2lx's steps trace without it, and with it where the model's code
    needs it (then compiled all the same, not the eager fallback), plotting what the eager loop plots."""
    model_class.converted = []
    trainer, compiled = _plotted_fit(model_class)
    step, validation = trainer._compiled[2], trainer._compiled_validation[2]
    assert step is not None and validation is not None and not validation.failed  # both compiled
    assert (step.autograph, validation.metrics.autograph) == (autograph, autograph)
    # eager (the first training and validation batches), then the traces: once per batch shape (96 rows: 3
    # full batches; 80: 2 full and a short one) by the function that ran, after a failed plain one if any
    traces = [False, True] if autograph else [False]
    assert model_class.converted == [False] + traces + [False] + traces + [autograph]
    assert step.experimental_get_tracing_count() == 1
    assert validation.metrics.experimental_get_tracing_count() == 2
    _, eager = _plotted_fit(model_class, eagerly=True)
    assert set(compiled) == {"train_loss", "val_loss"} and len(compiled["val_loss"]) == 2
    for key in compiled:
        np.testing.assert_allclose(compiled[key], eager[key], rtol=1e-5)


# --- d2lx's own errors inside Keras layers (d2lx/tensorflow/own_errors.py) ------------------------------
def test_d2lx_errors_raised_in_nested_layers_reach_the_learner_unchanged():
    """A d2lx layer inside a d2lx layer inside a learner's own Keras layer: the error that d2lx's
    ``PositionalEncoding`` raises comes out as d2lx wrote it, with no "Exception encountered when calling"
    frame from any of the three Keras calls around it."""

    class Embedded(tf.keras.layers.Layer):  # a learner's layer (defined outside d2lx)
        def __init__(self):
            super().__init__()
            self.blocks = d2l.PositionWiseFFN(4, 4)
            self.pos = d2l.PositionalEncoding(4, 0.0, max_len=2)

        def call(self, X):
            return self.pos(self.blocks(X))

    with pytest.raises(ValueError) as caught:
        Embedded()(tf.zeros((1, 3, 4)))
    assert str(caught.value) == (
        "PositionalEncoding got X with 3 steps (shape (1, 3, 4)), more than its max_len=2 (the rows of its table "
        "P); give it max_len=3 or more"
    )


def test_errors_from_tensorflow_and_from_the_learners_code_keep_kerass_context():
    """Only d2lx's own errors are passed through: an error TensorFlow raises inside a d2lx layer, and one that
    a learner's layer raises around d2lx layers, keep the frame Keras puts around them."""
    ffn = d2l.PositionWiseFFN(4, 4)
    ffn(tf.zeros((2, 3, 4)))  # builds its Dense layers for 4 input features
    with pytest.raises(ValueError) as caught:
        ffn(tf.zeros((2, 3, 5)))
    assert str(caught.value).startswith("Exception encountered when calling PositionWiseFFN.call().")

    class Checked(tf.keras.layers.Layer):
        def call(self, X):
            if X.shape[-1] != 4:
                raise ValueError(f"Checked wants 4 features, got {X.shape[-1]}")
            return d2l.AddNorm(4, 0.0)(X, X)

    with pytest.raises(ValueError) as caught:
        Checked()(tf.zeros((2, 5)))
    assert str(caught.value).startswith("Exception encountered when calling Checked.call().")
    assert "Checked wants 4 features, got 5" in str(caught.value)


def test_the_wrapped_call_keeps_its_signature_for_keras():
    """Keras reads ``training`` from ``call``'s signature: the wrapped ``call`` of a d2lx layer still has it,
    so the ``Dropout`` inside ``PositionalEncoding`` drops when training and not otherwise."""
    assert list(inspect.signature(d2l.PositionalEncoding.call).parameters) == ["self", "X", "training"]
    pos = d2l.PositionalEncoding(64, 0.5)
    X = tf.ones((1, 8, 64))
    np.testing.assert_allclose(pos(X, training=False).numpy(), (X + pos.P[:, :8, :]).numpy())
    assert np.count_nonzero(pos(X, training=True).numpy() == 0) > 0


def test_which_errors_count_as_d2lxs_own():
    from d2lx.tensorflow.own_errors import raised_by_d2lx

    with pytest.raises(ValueError) as caught:
        d2l.PositionalEncoding(0, 0.1)
    assert raised_by_d2lx(caught.value)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        tf.zeros((2,)) + tf.zeros((3,))
    assert not raised_by_d2lx(caught.value)
    assert not raised_by_d2lx(ValueError("never raised"))
