"""Keras 3 and TensorFlow: the book's calls that today's releases refuse, kept working (see ``d2lx/compat.py``).

The book's TensorFlow cells were written for Keras 2. Each shim adds behaviour only where Keras 3
raises an error, so code written for Keras 3 runs as before:

* ``tf.keras.models.Sequential(self.b1())``: one layer where Keras 3 wants a list (``TypeError:
  'Sequential' object is not iterable``) is taken as a list of that one layer, as Keras 2 did.
* ``self.listLayers.layers``: a list assigned to a layer becomes a ``TrackedList``, which had no
  ``layers``; it now lists its layers, as Keras 2's ``ListWrapper`` did.
* ``net.save_weights('mlp.params')`` and ``clone.load_weights('mlp.params')``: Keras 3 accepts only
  names ending in ``.weights.h5`` (``.keras``, ``.h5`` ... for loading); a name that Keras reads
  as no format at all is saved in the ``.weights.h5`` format under that very name (written under a
  temporary name, then renamed) and read back from it. Names Keras knows keep Keras's meaning.
  Loaded into a model not built yet (the book's ``clone = MLP()``), where Keras 3 refuses (``You are
  loading weights into a model that has not yet been built``), such a file is read at once and its
  weights go in at the model's first call, before it computes, as Keras 2 did: that first call runs the
  model once more to create its variables.
* ``weights[0].device``: a Keras variable has no ``device``; it gives its ``tf.Variable``'s.
* ``g.watch(conv2d.weights[0])``: ``GradientTape.watch`` refuses a Keras variable (``not tf.Tensor
  or tf.Variable``); it watches the ``tf.Variable`` the Keras variable holds, the one that
  ``g.gradient(l, conv2d.weights[0])`` differentiates by.
* ``def call(self, X, state, **kwargs)`` reading ``kwargs["training"]`` (the book's Transformer decoder block):
  Keras 3 takes ``training`` out of the keyword arguments of every ``call`` that does not name it, and
  hands it back only to a ``call`` that names it, so the book's block never saw it (``KeyError:
  'training'``), even where its caller passed it. A layer of the user's own (not one of Keras's) whose
  ``call`` takes ``**kwargs`` is given ``training`` in them again, where it is known, as Keras 2 did.
* a ``Sequential`` holding the book's ``FixedHiddenMLP``, whose ``call`` runs a Python ``while`` on
  a tensor: Keras 3 builds a ``Sequential`` by tracing it on a symbolic input, where that loop
  raises ``OperatorNotAllowedInGraphError``; the ``Sequential`` then runs its layers one after the
  other, as Keras itself does for a layer whose output shape it cannot infer.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import tempfile
import warnings
import weakref

import keras
import tensorflow as tf
from keras.src.backend.tensorflow.core import Variable as _KerasVariable  # the TensorFlow backend's variable
from keras.src.utils.tracking import TrackedList as _TrackedList

from d2lx.compat import Shim, is_marked, mark

# What keras.saving.load_weights reads as a format of its own; any other name is no format at all to it.
_KERAS_SUFFIXES = (".keras", ".weights.h5", ".weights.json", ".h5", ".hdf5")


def _replace_method(cls, name: str, make) -> bool:
    """``cls.name = make(original)``, once: False where d2lx has replaced it already."""
    original = cls.__dict__[name]
    if is_marked(original):
        return False
    setattr(cls, name, mark(functools.wraps(original)(make(original)), original))
    return True


def _one_layer_as_a_list() -> bool:
    # Keras reads the arguments of __init__ from its signature (to rebuild a model from its config), so
    # the replacement has the same one; a Keras whose signature differs keeps its own __init__.
    if list(inspect.signature(keras.Sequential.__init__).parameters) != ["self", "layers", "trainable", "name"]:
        return False

    def make(original):
        def __init__(self, layers=None, trainable=True, name=None):
            if isinstance(layers, keras.layers.Layer) and not _iterable(layers):
                layers = [layers]
            original(self, layers=layers, trainable=trainable, name=name)

        return __init__

    return _replace_method(keras.Sequential, "__init__", make)


def _iterable(value) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _tracked_list_layers(self) -> list:
    """The layers in this list, as Keras 2's ``ListWrapper.layers`` gave them."""
    return [item for item in self if isinstance(item, keras.layers.Layer)]


def _layers_of_tracked_lists() -> bool:
    if hasattr(_TrackedList, "layers"):
        return False
    _TrackedList.layers = property(mark(_tracked_list_layers))
    return True


def _without_a_format(filepath) -> bool:
    """Whether Keras would refuse ``filepath`` as naming no format (``mlp.params``): a local file name,
    never a directory (an Orbax checkpoint) nor a remote path (``gs://...``)."""
    if not isinstance(filepath, (str, os.PathLike)):
        return False
    text = os.fspath(filepath)
    return (
        isinstance(text, str) and not text.endswith(_KERAS_SUFFIXES) and "://" not in text and not os.path.isdir(text)
    )


def _save_weights(original):
    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        if max_shard_size is not None or not _without_a_format(filepath):
            return original(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)
        target = os.path.abspath(os.fspath(filepath))
        if os.path.exists(target) and not overwrite:
            from keras.src.utils import io_utils

            if not io_utils.ask_to_proceed_with_overwrite(target):
                return None
        handle, temporary = tempfile.mkstemp(
            dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.", suffix=".weights.h5"
        )
        os.close(handle)
        try:
            original(self, temporary, overwrite=True)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
        return None

    return save_weights


def _hdf5(path) -> bool:
    import h5py  # Keras's own dependency for .weights.h5, imported only when a cell loads weights

    return h5py.is_hdf5(path)


def _load_weights(original):
    def load_weights(self, filepath, *args, **kwargs):
        superseded = self.__dict__.pop(_PENDING, None)  # a later load wins over one still waiting
        if superseded is not None:
            superseded[3]()
        if not (_without_a_format(filepath) and os.path.isfile(filepath) and _hdf5(filepath)):
            return original(self, filepath, *args, **kwargs)
        folder = tempfile.mkdtemp()
        copy = os.path.join(folder, "weights.weights.h5")
        shutil.copyfile(filepath, copy)  # read now, as the call promises, even where it loads later
        try:
            return original(self, copy, *args, **kwargs)
        except ValueError:
            if self.built:
                raise
            # Keras 3: "You are loading weights into a model that has not yet been built". Keras 2 restored
            # them at the model's first call, which the book's clone relies on; so does this shim.
            _defer_loading(self, folder, copy, args, kwargs)
            folder = None
            return None
        finally:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

    return load_weights


_PENDING = "_d2lx_pending_weights"


def _defer_loading(model, folder: str, copy: str, args: tuple, kwargs: dict) -> None:
    """Keep the weights file's copy until ``model``'s first call has created its variables."""
    removal = weakref.finalize(model, shutil.rmtree, folder, True)  # a model never called leaves no file
    object.__setattr__(model, _PENDING, (copy, args, kwargs, removal))  # past Keras's attribute tracking


def _model_call(self, *args, **kwargs):
    call = super(keras.Model, self).__call__
    pending = self.__dict__.pop(_PENDING, None)
    if pending is None:
        return call(*args, **kwargs)
    copy, load_args, load_kwargs, removal = pending
    try:
        if not self.built:
            call(*args, **kwargs)  # this first call creates the variables the weights go into
        self.load_weights(copy, *load_args, **load_kwargs)
    finally:
        removal()
    return call(*args, **kwargs)


def _loading_at_the_first_call() -> bool:
    if "__call__" in keras.Model.__dict__:  # installed already, or a Keras whose Model has a __call__ of its own
        return False
    keras.Model.__call__ = mark(_model_call)
    return True


def _weights_under_any_name() -> bool:
    saved = _replace_method(keras.Model, "save_weights", _save_weights)
    loaded = _replace_method(keras.Model, "load_weights", _load_weights)
    return saved or loaded


def _variable_device(self) -> str:
    """The device of the ``tf.Variable`` this Keras variable holds."""
    return self.value.device


def _device_of_variables() -> bool:
    if hasattr(_KerasVariable, "device"):
        return False
    _KerasVariable.device = property(mark(_variable_device))
    return True


def _watch(original):
    def watch(self, tensor):
        if any(isinstance(leaf, _KerasVariable) for leaf in tf.nest.flatten(tensor)):
            tensor = tf.nest.map_structure(lambda x: x.value if isinstance(x, _KerasVariable) else x, tensor)
        return original(self, tensor)

    return watch


def _watch_keras_variables() -> bool:
    return _replace_method(tf.GradientTape, "watch", _watch)


_WARNED: dict = {}  # what the build below has shown already, as Python keeps it per module


def _build(original):
    def build(self, input_shape=None):
        # Keras warns that the failing layer "looks like it has unbuilt state" before it gives up; on
        # the way that now works that warning would only mislead, so it is shown only if Keras succeeds
        # or fails for another reason.
        error = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # every warning recorded; the caller's filters decide below
            try:
                original(self, input_shape)
            except tf.errors.OperatorNotAllowedInGraphError:
                return None  # no functional graph: Sequential.call runs the layers one by one
            except Exception as raised:
                error = raised
        for warning in caught:  # outside the recording, under the caller's filters
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno, registry=_WARNED
            )
        if error is not None:
            raise error
        return None

    return build


def _sequential_of_python_control_flow() -> bool:
    return _replace_method(keras.Sequential, "build", _build)


_TRAINING_IN_KWARGS: dict[type, bool] = {}  # per layer class: its call takes **kwargs without naming training


def _accepts_training_in_kwargs(layer) -> bool:
    """Whether ``layer`` is a layer of the user's own (its ``call`` is neither Keras's nor d2lx's) whose ``call``
    takes ``**kwargs`` without naming ``training``."""
    cls = type(layer)
    if cls not in _TRAINING_IN_KWARGS:
        parameters = inspect.signature(cls.call).parameters
        variadic = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        # where ``call`` was written, not the class: d2lx's ``Module.call`` (subclassed by every model of the
        # book's) passes ``training`` on through Keras's call context, which this would break
        written_in = getattr(cls.call, "__module__", "") or ""
        _TRAINING_IN_KWARGS[cls] = (
            variadic and "training" not in parameters and not written_in.startswith(("keras", "d2lx"))
        )
    return _TRAINING_IN_KWARGS[cls]


def _layer_call(original):
    def __call__(self, *args, **kwargs):
        context = self.__dict__.get("_call_has_context_arg")
        if context is not None and not context.get("training") and _accepts_training_in_kwargs(self):
            context["training"] = True  # Keras 3 then passes it on where it is known
        return original(self, *args, **kwargs)

    return __call__


def _training_in_kwargs() -> bool:
    # Keras 3.x keeps which context arguments a call takes in ``_call_has_context_arg``; another Keras keeps
    # its own behaviour
    if "_call_has_context_arg" not in inspect.getsource(keras.layers.Layer.__init__):
        return False
    return _replace_method(keras.layers.Layer, "__call__", _layer_call)


SHIMS = (
    Shim(
        backend="tensorflow",
        patches="keras.Sequential.__init__ (one layer)",
        book="8.6 ResNet, 8.7 DenseNet, 8.8 AnyNet: tf.keras.models.Sequential(self.b1()), (self.stem(...))",
        changed_in="Keras 3.0 (TensorFlow 2.16): Sequential(layers) iterates over layers",
        install=_one_layer_as_a_list,
    ),
    Shim(
        backend="tensorflow",
        patches="keras TrackedList.layers",
        book="8.7 DenseNet: for layer in self.listLayers.layers:",
        changed_in="Keras 3.0 (TensorFlow 2.16): a list attribute is a TrackedList",
        install=_layers_of_tracked_lists,
    ),
    Shim(
        backend="tensorflow",
        patches="keras.Model.save_weights / load_weights (a name with no Keras format)",
        book="6.6 file I/O: net.save_weights('mlp.params'), clone.load_weights('mlp.params')",
        changed_in="Keras 3.0 (TensorFlow 2.16): only .weights.h5 names",
        install=_weights_under_any_name,
    ),
    Shim(
        backend="tensorflow",
        patches="keras.Model.__call__ (weights loaded before the model was built)",
        book="6.6 file I/O: clone = MLP(), clone.load_weights('mlp.params'), then clone(X)",
        changed_in="Keras 3.0 (TensorFlow 2.16): load_weights needs a built model",
        install=_loading_at_the_first_call,
    ),
    Shim(
        backend="tensorflow",
        patches="keras Variable.device",
        book="6.7 GPUs: net.layers[0].weights[0].device, net.layers[0].weights[1].device",
        changed_in="Keras 3.0 (TensorFlow 2.16): a Keras variable is not a tf.Variable",
        install=_device_of_variables,
    ),
    Shim(
        backend="tensorflow",
        patches="tf.GradientTape.watch (a Keras variable)",
        book="7.2 convolutions for images: g.watch(conv2d.weights[0])",
        changed_in="Keras 3.0 (TensorFlow 2.16): a Keras variable is not a tf.Variable",
        install=_watch_keras_variables,
    ),
    Shim(
        backend="tensorflow",
        patches="keras.layers.Layer.__call__ (training in a call's **kwargs)",
        book="11.7 the Transformer: TransformerDecoderBlock.call(self, X, state, **kwargs) reads kwargs['training']",
        changed_in="Keras 3.0 (TensorFlow 2.16): training reaches only a call that names it",
        install=_training_in_kwargs,
    ),
    Shim(
        backend="tensorflow",
        patches="keras.Sequential.build (Python control flow on tensors)",
        book="6.1 layers and modules: chimera = tf.keras.Sequential(), .add(FixedHiddenMLP()), chimera(X)",
        changed_in="Keras 3.0 (TensorFlow 2.16): Sequential traces its layers on a symbolic input",
        install=_sequential_of_python_control_flow,
    ),
)
