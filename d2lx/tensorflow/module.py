"""``Module`` and ``Classifier`` for TensorFlow: a ``tf.keras.Model`` that plots its own metrics.

d2l 1.0.3 cannot train on Keras 3 (TensorFlow >= 2.16); two of its behaviours
are undone here, so the book's TensorFlow cells work unchanged:

* ``keras.Model.__init__`` sets an *instance* attribute ``loss = None`` (and
  ``compile(loss=...)`` sets it again), which hides every ``loss`` method of the
  class, also one a later cell adds with ``@d2l.add_to_class``: the book's
  ``self.loss(y_hat, y)`` would call ``None``. On a ``Module`` such values are
  kept as ``_keras_loss`` instead, so ``loss`` is always the class's method.
* Keras tracks only its own variables. The book's scratch models hold bare
  ``tf.Variable``s (``self.w = tf.Variable(...)``), which Keras leaves out of
  ``trainable_variables``, so ``tape.gradient(loss, model.trainable_variables)``
  would train nothing. ``variables`` and ``weights`` (and so
  ``trainable_variables`` and ``trainable_weights``, also of an enclosing
  model) add the variables held in public attributes.
"""

from __future__ import annotations

import inspect
import os
import tempfile

import tensorflow as tf

from d2lx import checks, cnn
from d2lx.checks import CheckedHyperParameters
from d2lx.hparams import HyperParameters
from d2lx.module import ClassifierBase, ModuleBase, RemembersInputFeatures
from d2lx.tensorflow.own_errors import KeepsOwnErrors


def _attribute_variables(module) -> list:
    """The bare ``tf.Variable``s in ``module``'s public attributes, directly or in a list, tuple or dict."""
    found = []
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(value, dict):
            found.extend(v for v in value.values() if isinstance(v, tf.Variable))
        elif isinstance(value, (list, tuple)):
            found.extend(v for v in value if isinstance(v, tf.Variable))
        elif isinstance(value, tf.Variable):
            found.append(value)
    return found


def _with_attribute_variables(module, tracked: list) -> list:
    seen = {id(v) for v in tracked}
    extra = []
    for variable in _attribute_variables(module):
        if id(variable) not in seen:
            seen.add(id(variable))
            extra.append(variable)
    return list(tracked) + extra


def _first_mismatch(model, filepath) -> tuple[str, tuple, tuple] | None:
    """``(path, saved shape, model's shape)`` of the first weight in the ``.weights.h5`` file ``filepath``
    whose shape differs from ``model``'s, as Keras names it in the file; None if none differs (or the file
    is of another kind)."""
    if not str(filepath).endswith(".weights.h5"):
        return None
    import h5py  # Keras's own reader of .weights.h5 files

    def shapes(path) -> dict[str, tuple]:
        found: dict[str, tuple] = {}

        def visit(name, item) -> None:  # returning a value would stop h5py's walk
            if isinstance(item, h5py.Dataset):
                found[name] = item.shape

        with h5py.File(path, "r") as file:
            file.visititems(visit)
        return found

    try:
        with tempfile.TemporaryDirectory() as folder:
            own = os.path.join(folder, "model.weights.h5")
            model.save_weights(own)  # refused for a model not built yet: Keras's own error stands
            current = shapes(own)
    except ValueError:
        return None
    for name, shape in shapes(filepath).items():
        if name in current and current[name] != shape:
            return name, shape, current[name]
    return None


class Module(KeepsOwnErrors, ModuleBase, tf.keras.Model, CheckedHyperParameters, HyperParameters):
    """The base of every model: ``loss``, ``forward``, ``training_step``, ``validation_step``,
    ``configure_optimizers``, as in d2l 1.0 (``ModuleBase``'s, ahead of Keras's deprecated ``loss``).
    ``training`` is True while the trainer trains the model, False while it validates (None before)."""

    def __init__(self, plot_train_per_epoch: int = 2, plot_valid_per_epoch: int = 1):
        super().__init__(plot_train_per_epoch, plot_valid_per_epoch)
        self.training = None

    def __setattr__(self, name, value):
        if name == "loss" and not inspect.isroutine(value):
            name = "_keras_loss"  # Keras's bookkeeping (None, compile's argument), not a method
        super().__setattr__(name, value)

    def build(self, input_shape):
        """Nothing to create up front: layers in ``self.net`` build themselves in the first call.

        (Keras 3's default would first run ``call`` symbolically to build them: the book's
        ``forward`` would run twice and the layers' initializers would be drawn twice.)
        """

    def __call__(self, *args, **kwargs):
        """Keras's ``model(X)``, in one mode with the book's code: ``model(X, training=True)`` sets
        ``self.training`` (which the book's ``forward`` reads), and without ``training=`` Keras layers
        such as ``Dropout`` follow ``self.training``, which the trainer sets as in the book (Keras
        alone would not see it, and its ``Dropout`` would never drop)."""
        if kwargs.get("training") is not None:
            self.training = kwargs["training"]
        elif getattr(self, "training", None) is not None:
            kwargs["training"] = self.training
        if args and isinstance(self, RemembersInputFeatures) and hasattr(args[0], "shape"):
            checks.same_features(self, args[0].shape)  # here, before Keras, which rewrites errors of ``call``
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:  # ``forward``'s own message, again, without Keras's rewriting
            if args and hasattr(args[0], "shape"):
                checks.same_example_shape(self, args[0].shape, error)
            raise

    def call(self, X, *args, **kwargs):
        """What Keras runs for ``model(X)``: the book's ``forward``."""
        if kwargs and "training" in kwargs:
            self.training = kwargs["training"]
        return self.forward(X, *args)

    def apply_init(self, inputs, init=None):
        """Run one forward pass on ``inputs`` (building the layers), then, if ``init`` is given (a Keras
        initializer such as ``tf.keras.initializers.GlorotUniform()``, i.e. Xavier), redraw every
        layer's weight matrix (``kernel``) with it; biases keep their values."""
        self.forward(*inputs)
        if init is not None:
            for variable in self.trainable_variables:
                if variable.name.rsplit("/", 1)[-1].split(":")[0] == "kernel":
                    variable.assign(init(variable.shape, variable.dtype))

    def load_weights(self, filepath, *args, **kwargs):
        """Keras's ``load_weights``, with a clear error for saved weights of other shapes.

        Keras refuses them, but its message names an object that received "0 variables" (its second
        pass over the model, by another path, overwrites the first error). So on a refusal, the file is
        compared with the model's own weights saved the same way, and the first parameter whose shape
        differs is named, with both shapes.
        """

        def load():
            return super(Module, self).load_weights(filepath, *args, **kwargs)

        return checks.loaded(self, "load_weights", load, lambda: _first_mismatch(self, filepath), (ValueError,))

    @property
    def variables(self) -> list:
        return _with_attribute_variables(self, super().variables)

    @property
    def weights(self) -> list:
        return _with_attribute_variables(self, super().weights)


class Classifier(ClassifierBase, Module):
    """A ``Module`` whose validation also reports accuracy; the loss is cross-entropy on logits."""

    _d2lx_image_layout = cnn.CHANNELS_LAST  # how its CNNs take images (the trainer checks a learner's batches)

    def accuracy(self, Y_hat, Y, averaged: bool = True):
        """The fraction (or, with ``averaged=False``, the 0/1 per example) of correct predictions."""
        Y_hat = tf.reshape(Y_hat, (-1, Y_hat.shape[-1]))
        predictions = tf.cast(tf.argmax(Y_hat, axis=1), Y.dtype)
        correct = tf.cast(predictions == tf.reshape(Y, (-1,)), tf.float32)
        return tf.reduce_mean(correct) if averaged else correct

    def loss(self, Y_hat, Y, averaged: bool = True):
        Y_hat = tf.reshape(Y_hat, (-1, Y_hat.shape[-1]))
        labels = tf.cast(tf.reshape(Y, (-1,)), tf.int32)
        l = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=Y_hat)
        return tf.reduce_mean(l) if averaged else l

    def configure_optimizers(self):
        return tf.keras.optimizers.SGD(float(self.lr))  # Keras 3 refuses an int lr (the book: lr=1)

    def layer_summary(self, X_shape):
        """Print each layer of ``self.net`` with the shape of its output for a random ``X_shape`` batch (NHWC)."""
        X = tf.random.normal(cnn.summary_shape(self, X_shape, cnn.CHANNELS_LAST))
        cnn.summarise(self, X_shape, self.net.layers, X, channels_last=True)
