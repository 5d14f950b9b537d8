"""TensorFlow only: the book's Keras 2 calls that d2lx keeps working on Keras 3 (d2lx/tensorflow/compat.py).

Each test runs the book's cell as the book prints it; the last one shows that ``D2LX_COMPAT=0``
gives Keras's own errors back.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import warnings

import pytest

tf = pytest.importorskip("tensorflow")
d2l = pytest.importorskip("d2lx.tensorflow")


def test_the_books_resnet_init_takes_its_own_keras_sequential_b1():
    class ResNet(d2l.Classifier):  # the book's 8.6 cells, with d2lx's Residual blocks
        def b1(self):
            return tf.keras.models.Sequential([
                tf.keras.layers.Conv2D(64, kernel_size=7, strides=2, padding='same'),
                tf.keras.layers.BatchNormalization(),
                tf.keras.layers.Activation('relu'),
                tf.keras.layers.MaxPool2D(pool_size=3, strides=2, padding='same')])  # fmt: skip

        def __init__(self, arch, lr=0.1, num_classes=10):
            super(ResNet, self).__init__()  # noqa: UP008
            self.save_hyperparameters()
            self.net = tf.keras.models.Sequential(self.b1())
            for i, b in enumerate(arch):
                self.net.add(d2l.ResNet.block(self, *b, first_block=(i == 0)))
            self.net.add(tf.keras.models.Sequential([
                tf.keras.layers.GlobalAvgPool2D(),
                tf.keras.layers.Dense(units=num_classes)]))  # fmt: skip

    model = ResNet(((1, 64),))
    assert type(model.net.layers[0]).__name__ == "Sequential" and len(model.net.layers[0].layers) == 4
    assert tuple(model(tf.zeros((2, 32, 32, 1))).shape) == (2, 10)
    # a list, and d2lx's own blocks (iterable as themselves), mean what they meant before
    dense = tf.keras.layers.Dense(3)
    assert tf.keras.models.Sequential([dense]).layers == [dense]
    block = d2l.vgg_block(1, 8)
    assert tf.keras.models.Sequential(block).layers == [block]


def test_the_books_dense_block_loops_over_its_list_s_layers():
    class ConvBlock(tf.keras.layers.Layer):  # the book's 8.7 cells
        def __init__(self, num_channels):
            super(ConvBlock, self).__init__()  # noqa: UP008
            self.bn = tf.keras.layers.BatchNormalization()
            self.relu = tf.keras.layers.ReLU()
            self.conv = tf.keras.layers.Conv2D(
                filters=num_channels, kernel_size=(3, 3), padding='same')  # fmt: skip

            self.listLayers = [self.bn, self.relu, self.conv]

        def call(self, x):
            y = x
            for layer in self.listLayers.layers:
                y = layer(y)
            y = tf.keras.layers.concatenate([x,y], axis=-1)  # fmt: skip
            return y

    class DenseBlock(tf.keras.layers.Layer):
        def __init__(self, num_convs, num_channels):
            super(DenseBlock, self).__init__()  # noqa: UP008
            self.listLayers = []
            for _ in range(num_convs):
                self.listLayers.append(ConvBlock(num_channels))

        def call(self, x):
            for layer in self.listLayers.layers:
                x = layer(x)
            return x

    blk = DenseBlock(2, 10)
    X = tf.random.uniform((4, 8, 8, 3))
    Y = blk(X)
    assert tuple(Y.shape) == (4, 8, 8, 23)
    assert len(blk.trainable_weights) == 2 * 4  # both blocks' batch norm and convolution are tracked
    layer = ConvBlock(2)
    assert layer.listLayers.layers == [layer.bn, layer.relu, layer.conv]
    layer.listLayers.append("not a layer")
    assert layer.listLayers.layers == [layer.bn, layer.relu, layer.conv]  # Keras 2 listed only layers


class _MLP(tf.keras.Model):  # the book's 6.6 model
    def __init__(self):
        super().__init__()
        self.flatten = tf.keras.layers.Flatten()
        self.hidden = tf.keras.layers.Dense(units=256, activation=tf.nn.relu)
        self.out = tf.keras.layers.Dense(units=10)

    def call(self, inputs):
        x = self.flatten(inputs)
        x = self.hidden(x)
        return self.out(x)


def test_the_books_weights_file_is_saved_and_loaded_under_its_own_name(tmp_path, monkeypatch):
    import h5py

    monkeypatch.chdir(tmp_path)
    net = _MLP()
    X = tf.random.uniform((2, 20))
    Y = net(X)
    net.save_weights('mlp.params')  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["mlp.params"]  # no temporary file left
    assert h5py.is_hdf5("mlp.params")
    clone = _MLP()
    clone(X)
    clone.load_weights('mlp.params')  # fmt: skip
    assert bool(tf.reduce_all(clone(X) == Y))
    net.save_weights("mlp.params")  # overwrite=True, Keras's default: the file is replaced in place
    assert sorted(os.listdir(tmp_path)) == ["mlp.params"]
    with pytest.raises(ValueError, match=r"The filename must end in `\.weights\.h5`\. Received: filepath=mlp\.h5"):
        net.save_weights("mlp.h5")  # a name Keras gives a meaning to keeps Keras's answer
    net.save_weights("mlp.weights.h5")
    assert sorted(os.listdir(tmp_path)) == ["mlp.params", "mlp.weights.h5"]
    with pytest.raises(ValueError, match="You are loading weights into a model that has not yet been built"):
        _MLP().load_weights("mlp.weights.h5")  # Keras's own name, Keras's own answer
    (tmp_path / "notes.params").write_text("not weights")  # not HDF5: Keras's own answer
    with pytest.raises(ValueError, match=r"File format not supported: filepath=notes\.params\."):
        clone.load_weights("notes.params")


def _waiting_copy(model) -> str:
    """The copy of a weights file that waits for ``model``'s first call (``d2lx/tensorflow/compat.py``)."""
    return model.__dict__["_d2lx_pending_weights"][0]


def test_the_books_clone_gets_its_weights_at_its_first_call(tmp_path, monkeypatch):
    """6.6's cells as printed: the weights loaded into a clone not built yet go in at its first call."""
    monkeypatch.chdir(tmp_path)
    MLP = _MLP  # noqa: N806
    net = MLP()
    X = tf.random.uniform((2, 20))
    Y = net(X)
    net.save_weights('mlp.params')  # fmt: skip
    clone = MLP()
    clone.load_weights('mlp.params')  # fmt: skip
    copy = _waiting_copy(clone)
    assert not clone.built and os.path.isfile(copy)  # the file is read at the call
    (tmp_path / "mlp.params").unlink()
    Y_clone = clone(X)
    assert bool(tf.reduce_all(Y_clone == Y))  # the book's Y_clone == Y
    assert not os.path.exists(os.path.dirname(copy)) and "_d2lx_pending_weights" not in clone.__dict__
    assert bool(tf.reduce_all(clone(X + 1) == net(X + 1)))  # loaded once, for good
    # a load that comes later wins over one still waiting
    net.save_weights("first.params")
    other = MLP()
    other(X)
    other.save_weights("second.params")
    waiting = MLP()
    waiting.load_weights("first.params")
    first = _waiting_copy(waiting)
    waiting.load_weights("second.params")
    assert not os.path.exists(first) and bool(tf.reduce_all(waiting(X) == other(X)))
    # a model never called leaves no copy behind
    never_called = MLP()
    never_called.load_weights("first.params")
    copy = _waiting_copy(never_called)
    del never_called
    gc.collect()
    assert not os.path.exists(os.path.dirname(copy))


def test_the_books_variable_device_cell():
    strategy = tf.distribute.MirroredStrategy()  # the book's 6.7 cells
    with strategy.scope():
        net = tf.keras.models.Sequential([
            tf.keras.layers.Dense(1)])  # fmt: skip
    net(tf.ones((2, 3)))
    devices = net.layers[0].weights[0].device, net.layers[0].weights[1].device
    assert devices == (net.layers[0].weights[0].value.device, net.layers[0].weights[1].value.device)
    assert all(isinstance(device, str) and "device:" in device for device in devices), devices


def test_the_books_kernel_learning_cell_watches_a_keras_variable(capsys):
    X = tf.Variable(tf.ones((6, 8)))  # the book's 7.2 cells, with corr2d's output written out
    X[:, 2:6].assign(tf.zeros(X[:, 2:6].shape))
    Y = tf.constant([[0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0]] * 6)
    conv2d = tf.keras.layers.Conv2D(1, (1, 2), use_bias=False)

    X = tf.reshape(X, (1, 6, 8, 1))
    Y = tf.reshape(Y, (1, 6, 7, 1))
    lr = 3e-2  # Learning rate

    Y_hat = conv2d(X)
    for i in range(10):
        with tf.GradientTape(watch_accessed_variables=False) as g:
            g.watch(conv2d.weights[0])
            Y_hat = conv2d(X)
            l = (abs(Y_hat - Y)) ** 2  # noqa: E741
            # Update the kernel
            update = tf.multiply(lr, g.gradient(l, conv2d.weights[0]))
            weights = conv2d.get_weights()
            weights[0] = conv2d.weights[0] - update
            conv2d.set_weights(weights)
            if (i + 1) % 2 == 0:
                print(f'epoch {i + 1}, loss {tf.reduce_sum(l):.3f}')  # fmt: skip
    losses = [float(line.split()[-1]) for line in capsys.readouterr().out.splitlines()]
    assert len(losses) == 5 and losses[-1] < losses[0] / 10, losses
    with tf.GradientTape() as tape:  # a plain tf.Variable, and a list, are watched as before
        v = tf.Variable(2.0)
        tape.watch([v, conv2d.weights[0]])
        out = v * v + tf.reduce_sum(conv2d.weights[0])
    assert float(tape.gradient(out, v)) == 4.0


def test_the_books_chimera_runs_its_python_while_eagerly():
    class FixedHiddenMLP(tf.keras.Model):  # the book's 6.1 cells
        def __init__(self):
            super().__init__()
            self.flatten = tf.keras.layers.Flatten()
            self.rand_weight = tf.constant(tf.random.uniform((20, 20)))
            self.dense = tf.keras.layers.Dense(20, activation=tf.nn.relu)

        def call(self, inputs):
            X = self.flatten(inputs)
            X = tf.nn.relu(tf.matmul(X, self.rand_weight) + 1)
            X = self.dense(X)
            while tf.reduce_sum(tf.math.abs(X)) > 1:
                X /= 2
            return tf.reduce_sum(X)

    class NestMLP(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.net = tf.keras.Sequential()
            self.net.add(tf.keras.layers.Dense(64, activation=tf.nn.relu))
            self.net.add(tf.keras.layers.Dense(32, activation=tf.nn.relu))
            self.dense = tf.keras.layers.Dense(16, activation=tf.nn.relu)

        def call(self, inputs):
            return self.dense(self.net(inputs))

    X = tf.random.uniform((2, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even Keras's "looks like it has unbuilt state"
        chimera = tf.keras.Sequential()
        chimera.add(NestMLP())
        chimera.add(tf.keras.layers.Dense(20))
        chimera.add(FixedHiddenMLP())
        out = chimera(X)
        assert out.shape == () and 0 < float(out) <= 1
        assert float(chimera(X)) == float(out)  # the same weights on the second call
    # by hand, layer after layer: the same number
    expected = chimera.layers[2](chimera.layers[1](chimera.layers[0](X)))
    assert float(expected) == float(out)
    assert len(chimera.trainable_weights) == 5 * 2  # NestMLP's three Dense, the Dense, FixedHiddenMLP's


def test_the_books_decoder_block_reads_training_from_its_kwargs():
    """Section 11.7's ``TransformerDecoderBlock.call(self, X, state, **kwargs)`` reads ``kwargs["training"]``: given
    by its caller, or by the call of the layer around it; Keras's own layers and a ``call`` that names
    ``training`` are as before."""

    class Block(tf.keras.layers.Layer):
        def call(self, X, **kwargs):
            return X if kwargs["training"] else -X

    class Outer(tf.keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.block = Block()

        def call(self, X, training=None):
            return self.block(X)

    class Named(tf.keras.layers.Layer):
        def call(self, X, training=None, **kwargs):
            return X if training else -X

    X = tf.ones(2)
    assert Block()(X, training=True).numpy().tolist() == [1, 1]
    assert Block()(X, training=False).numpy().tolist() == [-1, -1]
    assert Outer()(X, training=True).numpy().tolist() == [1, 1]
    assert Named()(X, training=True).numpy().tolist() == [1, 1]
    assert not tf.keras.layers.Dropout(0.5)._call_has_context_arg.get("kwargs", False)
    with pytest.raises(KeyError, match="training"):  # nothing gave it
        Block()(X)


_BOOK_CALLS_WITHOUT_SHIMS = """
import re, warnings
from d2lx import tensorflow as d2l
import tensorflow as tf
warnings.simplefilter("ignore")

def report(name, call):
    try:
        call()
        print(name, "runs")
    except Exception as error:
        print(name, type(error).__name__, re.sub(r"<.*?>", "<...>", str(error), flags=re.S).splitlines()[0])

report("Sequential", lambda: tf.keras.models.Sequential(tf.keras.models.Sequential([tf.keras.layers.Dense(2)])))
class ConvBlock(tf.keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.listLayers = [tf.keras.layers.ReLU()]
report("TrackedList", lambda: ConvBlock().listLayers.layers)
net = tf.keras.Sequential([tf.keras.layers.Dense(1)])
net(tf.ones((2, 3)))
report("save_weights", lambda: net.save_weights("mlp.params"))
report("device", lambda: net.layers[0].weights[0].device)
def watch():
    with tf.GradientTape() as g:
        g.watch(net.layers[0].weights[0])
report("watch", watch)
class Loop(tf.keras.Model):
    def call(self, X):
        while tf.reduce_sum(X) > 1:
            X /= 2
        return X
def chimera():
    c = tf.keras.Sequential()
    c.add(tf.keras.layers.Dense(2))
    c.add(Loop())
    c(tf.ones((1, 2)))
report("chimera", chimera)
class Block(tf.keras.layers.Layer):
    def call(self, X, **kwargs):
        return X if kwargs["training"] else -X
report("training", lambda: Block()(tf.ones(2), training=True))
import shutil
net.save_weights("net.weights.h5")
shutil.copyfile("net.weights.h5", "clone.params")
report("unbuilt", lambda: tf.keras.Sequential([tf.keras.layers.Dense(1)]).load_weights("clone.params"))
"""


@pytest.mark.parametrize("switch", ["D2LX_COMPAT", "D2LX_RENAMED_ALIASES"])
def test_d2lx_compat_0_gives_keras_its_own_behaviour_back(tmp_path, switch):
    """The book's calls again with every shim off (``D2LX_COMPAT=0``), in a fresh process since the
    shims are installed at import; ``D2LX_RENAMED_ALIASES=0`` turns off only the renames (none here)."""
    script = tmp_path / "book_calls.py"
    script.write_text(textwrap.dedent(_BOOK_CALLS_WITHOUT_SHIMS))
    env = {**os.environ, switch: "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    if switch == "D2LX_RENAMED_ALIASES":
        names = ("Sequential", "TrackedList", "save_weights", "device", "watch", "chimera", "training", "unbuilt")
        assert lines == dict.fromkeys(names, "runs"), run.stdout
        return
    assert lines == {
        "Sequential": "TypeError 'Sequential' object is not iterable",
        "TrackedList": "AttributeError 'TrackedList' object has no attribute 'layers'",
        "save_weights": "ValueError The filename must end in `.weights.h5`. Received: filepath=mlp.params",
        "device": "AttributeError 'Variable' object has no attribute 'device'",
        "watch": "ValueError Passed in object <...> of type 'Variable', not tf.Tensor or tf.Variable or ExtensionType.",
        "chimera": "OperatorNotAllowedInGraphError Exception encountered when calling Loop.call().",
        "training": 'KeyError "Exception encountered when calling Block.call().\\n\\n\\x1b[1mtraining\\x1b[0m\\n\\n'
        'Arguments received by Block.call():\\n  • X=tf.Tensor(shape=(2,), dtype=float32)\\n  • kwargs=<...>"',
        "unbuilt": "ValueError File format not supported: filepath=clone.params. Keras 3 only supports V3 `.keras` "
        "files, `.weights.h5` files, legacy H5 format files (`.h5` extension), or Orbax checkpoints.",
    }, run.stdout
    assert not os.path.exists(tmp_path / "mlp.params")
