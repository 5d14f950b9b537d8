"""Argument checks that turn a user's mistake into one readable sentence.

A learner who passes ``batch_size=0`` should read
``ValueError: batch_size must be a positive int, got 0`` rather than a
traceback from deep inside a framework.

Each rule is written once here, and so is the rule each of the book's argument
names follows (``_RULES``). A model's arguments are checked by one call,
``hyperparameters(self.hparams)``: on torch, MXNet and TensorFlow its
``save_hyperparameters()`` makes it (``CheckedHyperParameters``), on JAX, whose
models are dataclasses, ``Module.__post_init__`` does. So a bad argument gives
the same message on every backend.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable
from typing import Any

_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def env_flag(name: str) -> bool | None:
    """The switch ``name`` in the environment as a bool, or None where it is unset or empty.

    Every ``D2LX_*`` switch reads through here, so a typo (``D2LX_JIT_COMPILE=ture``) stops with one
    sentence instead of silently meaning "off" (or "on").
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    if text.lower() in _ON + _OFF:
        return text.lower() in _ON
    raise ValueError(f"{name} must be 1 or 0 (or true/false, yes/no, on/off), got {text!r}")


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return f"{text} ({type(value).__name__})"
    return text


def _rule(function_name: str, what: str, kind: type, accepts: Callable[[Any], bool]) -> Callable[[str, Any], Any]:
    """The check ``function_name(name, value)``: ``value`` as an int (``kind`` ``Integral``) or a float
    (``Real``) if it is a ``kind`` (never a bool) that ``accepts``, else a ``TypeError`` (not a ``kind``) or
    a ``ValueError`` (not accepted) that reads ``<name> must be <what>, got <value>``. ``accepts`` is
    written as comparisons, which NaN fails; a ``Real`` must also be finite (``lr=inf`` is an error)."""
    convert = int if kind is numbers.Integral else float

    def check(name: str, value: Any):
        if isinstance(value, bool) or not isinstance(value, kind):
            raise TypeError(f"{name} must be {what}, got {_describe(value)}")
        if not accepts(value) or (kind is numbers.Real and not math.isfinite(value)):
            raise ValueError(f"{name} must be {what}, got {value}")
        return convert(value)

    check.__name__ = check.__qualname__ = function_name
    check.__doc__ = f"Return ``value`` as {convert.__name__} if it is {what}, else raise naming ``name``."
    return check


positive_int = _rule("positive_int", "a positive int", numbers.Integral, lambda v: v >= 1)
non_negative_int = _rule("non_negative_int", "a non-negative int", numbers.Integral, lambda v: v >= 0)
positive_number = _rule("positive_number", "a positive number", numbers.Real, lambda v: v > 0)
non_negative_number = _rule("non_negative_number", "a non-negative number", numbers.Real, lambda v: v >= 0)
probability = _rule("probability", "a number in [0, 1]", numbers.Real, lambda v: 0 <= v <= 1)
# a recurrent layer's dropout: 1 would drop every output between its layers (torch refuses it, Keras not)
dropout_rate = _rule("dropout_rate", "a number in [0, 1)", numbers.Real, lambda v: 0 <= v < 1)


def divisible(name: str, value: int, by_name: str, by: int) -> None:
    """Raise unless ``value`` (named ``name``) is a multiple of ``by`` (named ``by_name``), e.g. a multi-head
    attention's ``num_hiddens``, split evenly among its ``num_heads``."""
    if value % by:
        raise ValueError(f"{name} must be divisible by {by_name}, got {name}={value} and {by_name}={by}")


def _positive_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _positive_pair(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2 and all(_positive_int(v) for v in value)


def image_size(name: str, value: Any) -> tuple[int, int]:
    """Return ``value`` as ``(height, width)`` if it is two positive ints, else raise naming ``name``."""
    if not _positive_pair(value):
        raise ValueError(f"{name} must be two positive ints (height, width), got {_describe(value)}")
    return int(value[0]), int(value[1])


# The largest images ``FashionMNIST(resize=...)`` makes: 1024 pixels per side, over four times the book's
# largest (224). A batch of 256 such images is 1 GiB as float32; at (100000, 100000) one image is 40 GB.
MAX_IMAGE_SIDE = 1024


def resize_size(name: str, value: Any) -> tuple[int, int]:
    """``image_size``, at most ``MAX_IMAGE_SIDE`` pixels per side, so that a typo does not ask for hundreds
    of gigabytes at the first batch."""
    height, width = image_size(name, value)
    if max(height, width) > MAX_IMAGE_SIDE:
        raise ValueError(
            f"{name} must be at most {MAX_IMAGE_SIDE} pixels per side (the book resizes to 224 at most), "
            f"got {_describe(value)}"
        )
    return height, width


def side_lengths(name: str, value: Any) -> tuple[int, int]:
    """Return ``value`` as ``(height, width)`` if it is a positive int (a square) or two positive ints (a ViT's
    ``img_size`` and ``patch_size``, which the book's cells take either way), else raise naming ``name``."""
    if _positive_int(value):
        return int(value), int(value)
    if not _positive_pair(value):
        raise ValueError(f"{name} must be a positive int or two positive ints (height, width), got {_describe(value)}")
    return int(value[0]), int(value[1])


def whole_patches(img_size: Any, patch_size: Any) -> None:
    """Raise unless an image of ``img_size`` splits into whole patches of ``patch_size`` (each an int or
    ``(height, width)``): a patch embedding with the patch size as its stride would drop the pixels left over
    (PyTorch's convolution) or pad them into patches the model has no positional embedding for (Flax's
    ``padding='SAME'``), each without a word."""
    image, patch = side_lengths("img_size", img_size), side_lengths("patch_size", patch_size)
    if image[0] % patch[0] or image[1] % patch[1]:
        raise ValueError(
            f"img_size must be a multiple of patch_size on each side, so that an image splits into whole "
            f"patches, got img_size={img_size!r} and patch_size={patch_size!r}"
        )


def images_fit_model(model: Any, data: Any) -> None:
    """Raise unless the images ``data`` makes (its ``resize``, as ``FashionMNIST``'s) have the ``img_size`` that
    ``model`` (a ViT) was built for: its positional embeddings are one per patch of such an image, and a
    batch of another size fails deep inside the framework, or, at a size that gives as many patches, not
    at all. Models and data without these arguments are not checked."""
    hparams = getattr(model, "hparams", None)
    img_size = hparams.get("img_size") if isinstance(hparams, dict) else None
    resize = getattr(data, "resize", None)
    if img_size is None or resize is None:
        return
    if side_lengths("img_size", img_size) != tuple(resize):
        raise ValueError(
            f"{type(model).__name__} was built for images of img_size={img_size!r}, but {type(data).__name__} makes "
            f"images of {tuple(resize)} (its resize); give both the same size"
        )


def channel_pair(name: str, value: Any) -> tuple[int, int]:
    """Return ``value`` as two ints if it is two positive ints (an Inception path's ``(reduce, out)``
    channels), else raise naming ``name``."""
    if not _positive_pair(value):
        raise ValueError(f"{name} must be two positive ints (reduce, out channels), got {_describe(value)}")
    return int(value[0]), int(value[1])


def _stages(*fields: str, first_channels: int | None = None) -> Callable[[str, Any], tuple]:
    """The rule of a chapter 8 model's ``arch``: a non-empty tuple (or list) of stages, each a tuple of
    ``fields`` (one field: each stage is that one number), each entry checked by its field's rule.

    ``first_channels``: the ``num_channels`` the first stage must have (ResNet's, see ``_RULES``).
    """
    form = "(" + ", ".join(fields) + ")"
    expected = (
        f"a non-empty tuple of {fields[0]}, one per stage"
        if len(fields) == 1
        else f"a non-empty tuple of {form} stages"
    )

    def check(name: str, value: Any) -> tuple:
        if not isinstance(value, (tuple, list)):
            raise TypeError(f"{name} must be {expected}, got {_describe(value)}")
        if not value:
            raise ValueError(f"{name} must be {expected}, got {_describe(value)}")
        for i, stage in enumerate(value):
            where = f"{name}[{i}]"
            if len(fields) == 1:
                _RULES[fields[0]](f"{where} ({fields[0]})", stage)
                continue
            if not isinstance(stage, (tuple, list)):
                raise TypeError(f"{where} must be a {form} stage, got {_describe(stage)}")
            if len(stage) != len(fields):
                raise ValueError(f"{where} must be a {form} stage, got {_describe(stage)}")
            for field, entry in zip(fields, stage):
                _RULES[field](f"{field} of {where}", entry)
        channels = value[0][fields.index("num_channels")] if first_channels is not None else None
        if channels is not None and channels != first_channels:
            raise ValueError(
                f"num_channels of {name}[0] must be {first_channels}, the channels of the stem b1: the first "
                f"stage adds its input to its output without a 1x1 convolution, got {channels}"
            )
        return tuple(value)

    check.__name__ = check.__qualname__ = "stages"
    check.__doc__ = f"Return ``value`` as a tuple if it is {expected}, else raise naming ``name``."
    return check


# The book's argument names and the rule each follows: the models' hyperparameters (chapters 3-5 and
# 7-8), then the data modules' and the trainer's arguments. A key ``"Class.name"`` is the rule of one
# class's argument (and its subclasses'): the ``arch`` of each chapter 8 model holds other stages.
_RULES: dict[str, Callable[[str, Any], Any]] = {
    "num_inputs": positive_int,
    "num_outputs": positive_int,
    "num_hiddens": positive_int,
    "num_hiddens_1": positive_int,
    "num_hiddens_2": positive_int,
    "lr": positive_number,
    "sigma": non_negative_number,
    "lambd": non_negative_number,
    "wd": non_negative_number,
    "dropout_1": probability,
    "dropout_2": probability,
    "dropout": dropout_rate,
    "num_layers": positive_int,
    "embed_size": positive_int,
    "tgt_pad": non_negative_int,
    "num_classes": positive_int,
    "batch_size": positive_int,
    "num_train": positive_int,
    "num_val": non_negative_int,
    "num_steps": positive_int,
    "vocab_size": positive_int,
    # chapter 11: the Transformer's layers (PositionalEncoding's table length, the feed-forward network's sizes)
    "max_len": positive_int,
    "ffn_num_hiddens": positive_int,
    "ffn_num_outputs": positive_int,
    "num_blks": positive_int,
    "img_size": side_lengths,  # a ViT's (section 11.8), which must also split into whole patches: _JOINT_RULES
    "patch_size": side_lengths,
    "resize": resize_size,
    "max_epochs": positive_int,
    "num_gpus": non_negative_int,
    "gradient_clip_val": non_negative_number,
    # chapters 7-8: the models' and blocks' arguments
    "num_channels": positive_int,
    "out_channels": positive_int,
    "stem_channels": positive_int,
    "growth_rate": positive_int,
    "num_convs": positive_int,
    "num_residuals": positive_int,
    "depth": positive_int,
    "groups": positive_int,
    "bot_mul": positive_number,
    "num_features": positive_int,
    "c1": positive_int,  # the Inception block's paths: 1x1, (1x1, 3x3), (1x1, 5x5), pool then 1x1
    "c2": channel_pair,
    "c3": channel_pair,
    "c4": positive_int,
    # chapter 11: attention
    "num_heads": positive_int,
    "key_size": positive_int,
    "query_size": positive_int,
    "value_size": positive_int,
    "VGG.arch": _stages("num_convs", "out_channels"),
    # ResNet's first stage follows the stem's 64 channels and adds them to its output unchanged
    "ResNet.arch": _stages("num_residuals", "num_channels", first_channels=64),
    "DenseNet.arch": _stages("num_convs"),
    "AnyNet.arch": _stages("depth", "num_channels", "groups", "bot_mul"),
}


# Arguments that must agree with each other, checked once each has passed its own rule.
_JOINT_RULES: dict[tuple[str, str], Callable[[Any, Any], None]] = {("img_size", "patch_size"): whole_patches}


def _rule_of(name: str, model: Any) -> Callable[[str, Any], Any] | None:
    """The rule of argument ``name`` of ``model``: its class's (or a base class's, by name), else the name's."""
    for cls in type(model).__mro__ if model is not None else ():
        rule = _RULES.get(f"{cls.__name__}.{name}")
        if rule is not None:
            return rule
    return _RULES.get(name)


def hyperparameters(values: dict[str, Any], model: Any = None) -> None:
    """Check each of ``values`` (e.g. a model's ``hparams``) whose name the book uses, by that name's rule,
    in order, e.g. ``dropout_1 must be a number in [0, 1], got 1.5``. Other names are not checked. Then the
    arguments that must agree with each other (``_JOINT_RULES``: a ViT's ``img_size`` and ``patch_size``).

    ``model`` (the object the values belong to) picks the rules of its class (``"VGG.arch"``), found by
    class name along its bases, so the book's own ``class VGG(d2l.Classifier)`` cells are checked too.
    """
    for name, value in values.items():
        rule = _rule_of(name, model)
        if rule is not None:
            rule(name, value)
    for (first, second), rule in _JOINT_RULES.items():
        if first in values and second in values:
            rule(values[first], values[second])


class CheckedHyperParameters:
    """Mixed in before a model's ``Module``: ``save_hyperparameters()`` checks what it saves.

    ``HyperParameters.save_hyperparameters`` stores the constructor's arguments as
    ``self.hparams`` before it makes them attributes; storing them here checks them
    (``hyperparameters``) first. So a model written as in the book
    (``super().__init__(); self.save_hyperparameters()``) rejects a bad argument before it makes
    any parameter, and so does a class a learner derives from it.
    """

    @property
    def hparams(self) -> dict[str, Any]:
        return self._checked_hparams

    @hparams.setter
    def hparams(self, values: dict[str, Any]) -> None:
        hyperparameters(values, self)
        self._checked_hparams = values


def matching_features(model: Any, num_inputs: int, shape: Any) -> None:
    """Raise a ValueError if examples of ``shape`` (a batch: rows first) do not have ``num_inputs`` features.

    Backend-free: it reads only the batch's ``shape``, so it also works while a framework traces shapes.
    """
    dims = tuple(int(d) for d in shape)
    features = 1
    for d in dims[1:] if len(dims) > 1 else dims:
        features *= d
    if features != num_inputs:
        raise ValueError(
            f"{type(model).__name__}(num_inputs={num_inputs}) got examples with {features} features "
            f"(X of shape {dims}); num_inputs must match the data (e.g. len(w))"
        )


def same_features(model: Any, shape: Any, expected: int | None = None) -> None:
    """Raise a ValueError if a batch of ``shape`` does not have the features ``model`` was built for.

    The concise models learn their input size from the first batch they see (lazy layers, Flax's
    ``init``), and a later batch of another size gets a framework's error from deep inside a matrix
    product. ``expected`` is that size where the framework keeps it (on JAX, the rows of the first
    dense kernel); otherwise the first call records it on the model. Dimensions unknown while a
    framework traces (``None``) are not checked.
    """
    dims = tuple(shape)
    if any(d is None for d in dims[1:]):
        return
    dims = tuple(None if d is None else int(d) for d in dims)
    features = 1
    for d in dims[1:] if len(dims) > 1 else dims:
        features *= d
    if expected is None:
        expected = vars(model).get("_d2lx_input_features")
        if expected is None:
            object.__setattr__(model, "_d2lx_input_features", features)  # past torch's and Keras's tracking
            return
    if features != expected:
        raise ValueError(
            f"{type(model).__name__} was built for examples with {expected} features (by the first batch "
            f"it saw) and got {features} (X of shape {dims}); every batch needs the first batch's features"
        )


def first_example_shape(model: Any, shape: Any, again: bool = False) -> None:
    """Record on ``model`` the shape of one image of a batch of ``shape`` (4 dimensions; other inputs are
    not recorded), the first time (``again``: every time, as when JAX's ``apply_init`` draws new
    parameters). Dimensions unknown while a framework traces (``None``): nothing is recorded."""
    dims = tuple(shape)
    if len(dims) != 4 or any(d is None for d in dims[1:]):
        return
    if again or "_d2lx_example_shape" not in vars(model):
        # past torch's and Keras's attribute tracking
        object.__setattr__(model, "_d2lx_example_shape", tuple(int(d) for d in dims[1:]))


def same_example_shape(model: Any, shape: Any, error: BaseException) -> None:
    """Raise a ValueError from ``error`` (the framework's, for a batch of ``shape``) if the batch's images
    do not have the shape of those ``model`` was built with (``first_example_shape``).

    The CNNs' layers take their sizes from the first batch (torch's lazy layers, MXNet's deferred
    shapes, Keras's build, Flax's ``init``): the channels, and where a dense layer follows the
    convolutions (LeNet, AlexNet, VGG), the height and width too. A later batch of another shape
    then fails deep inside a layer; this names both shapes instead. Only batches of images (4
    dimensions) are compared: a network of other inputs may take several shapes and fail otherwise.
    """
    built = vars(model).get("_d2lx_example_shape")
    dims = tuple(None if d is None else int(d) for d in shape)
    if built is None or len(dims) != 4 or dims[1:] == built:
        return
    name = type(model).__name__
    raise ValueError(
        f"{name} was built for examples of shape {built} (by the first batch it saw) and cannot take "
        f"{dims[1:]} (X of shape {dims}); give it examples of shape {built}, or make a new {name}"
    ) from error


def class_labels(labels: Any, num_classes: int | None, where: str) -> None:
    """Raise unless ``labels`` (a batch's, any framework's) are integer class indices in ``[0, num_classes)``.

    A ``TypeError`` for float (or bool) labels, a ``ValueError`` naming the first offending value;
    ``where`` names the batch (``"epoch 1/3, train batch 7"``). ``num_classes=None`` (a model that does
    not say how many classes it predicts) checks only that no label is negative. Costs one min and one
    max over the batch's labels.
    """
    from d2lx.plotting import to_numpy

    y = to_numpy(labels)
    if y.dtype.kind not in "iu":
        example = f" (e.g. {y.reshape(-1)[0].item()!r})" if y.size else ""
        raise TypeError(f"labels must be integer class indices, got {y.dtype} labels{example} in {where}")
    if y.size == 0:
        return
    low, high = y.min(), y.max()
    if low < 0:
        bad = low
    elif num_classes is not None and high >= num_classes:
        bad = high
    else:
        return
    expected = f"in [0, {num_classes})" if num_classes is not None else "that are not negative"
    raise ValueError(f"labels must be class indices {expected}, got {bad} in {where}")


def saved_shape(name: str, saved: Any, expected: Any) -> str:
    """The message for a saved parameter ``name`` that does not fit the model it is loaded into (one
    built with other arguments, such as another ``num_classes``): both shapes, and what to do."""
    saved, expected = tuple(int(d) for d in saved), tuple(int(d) for d in expected)
    return (
        f"the saved parameter {name} has shape {saved}, but this model's has shape {expected}; "
        "build the model with the arguments it was saved with"
    )


def loaded(model: Any, method: str, load: Callable[[], Any], mismatch: Callable[[], Any], errors: tuple) -> Any:
    """``load()`` (a framework's loading of saved weights into ``model``); where the framework refuses them
    (one of ``errors``) and ``mismatch()`` finds ``(name, saved shape, model's shape)``, the refusal
    worded as on every backend, from ``model.method``; the framework's own error otherwise."""
    try:
        return load()
    except errors as error:
        found = mismatch()
        if found is None:
            raise
        raise ValueError(f"{type(model).__name__}.{method}: {saved_shape(*found)}") from error


def _dtype_name(X: Any) -> str:
    """``X``'s dtype as numpy names it (``uint8``), for any framework's array, without copying it."""
    dtype = getattr(X, "dtype", None)
    return str(getattr(dtype, "name", dtype)).rsplit(".", 1)[-1]  # torch's dtypes print as ``torch.uint8``


def image_batch(model: Any, X: Any, layout: str | None, where: str) -> None:
    """Raise for inputs ``X`` from a learner's loader that ``model`` (a classifier) would take silently
    wrong or fail on deep inside the framework: uint8 pixels (0-255, not scaled; some frameworks train on
    them, others fail) for any classifier, and, for a CNN (``layout`` given), images without their
    channel axis (PyTorch would read a batch of 16 as one image of 16 channels). ``where`` names the batch.
    """
    name = type(model).__name__
    if _dtype_name(X) == "uint8":
        raise TypeError(
            f"{name}: images must be floats scaled to [0, 1], got uint8 X (pixel values 0 to 255) in {where}; "
            "convert each batch to float32 and divide it by 255"
        )
    if layout is None:
        return
    shape = tuple(int(d) for d in X.shape)
    if len(shape) == 4:
        return
    message = f"{name} takes a batch of images with 4 dimensions {layout}, got X of shape {shape} in {where}"
    if len(shape) == 3:  # one-channel images: say where the axis goes
        n, h, w = shape
        fixed = (n, 1, h, w) if layout == "(batch, channels, height, width)" else (n, h, w, 1)
        message += f"; give one-channel images their channel axis: X.reshape({fixed})"
    raise ValueError(message)
