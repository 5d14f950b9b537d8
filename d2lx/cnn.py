"""Chapter 7's framework-free parts: cross-correlation, the checks of ``layer_summary``, LeNet in numpy.

``corr2d`` is written with slicing, products and sums only, so the same function works on torch
and MXNet arrays and on the immutable arrays of JAX and TensorFlow (the book's version assigns
``Y[i, j]``, which those two refuse), and gradients flow through it on every framework.

``lenet_parameters`` draws LeNet's initial weights with numpy, so that every backend can start from
the same numbers (``python -m d2lx parity``); each backend's ``cnn._set_parameters`` gives them to
its ``LeNet``, and ``lenet_logits`` is the float64 reference they are tested against.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

CHANNELS_FIRST = "(batch, channels, height, width)"
CHANNELS_LAST = "(batch, height, width, channels)"


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in x.shape)


def corr2d(X, K):
    """The 2-D cross-correlation of ``X`` (h, w) with the kernel ``K``: ``Y[i, j] = sum(X[i:i+kh, j:j+kw] * K)``.

    Computed as a sum over the kernel's ``kh * kw`` entries of shifted slices of ``X``: a few
    whole-array operations instead of one Python step per output element.
    """
    for name, array in (("X", X), ("K", K)):
        shape = _shape(array)
        if len(shape) != 2 or 0 in shape:
            raise ValueError(f"corr2d: {name} must be a non-empty 2-D tensor (height, width), got shape {shape}")
    (height, width), (kh, kw) = _shape(X), _shape(K)
    if kh > height or kw > width:
        raise ValueError(f"corr2d: the kernel {(kh, kw)} is larger than the input {(height, width)}")
    out_h, out_w = height - kh + 1, width - kw + 1
    Y = None
    for a in range(kh):
        for b in range(kw):
            term = X[a : a + out_h, b : b + out_w] * K[a, b]
            Y = term if Y is None else Y + term
    return Y


def summary_shape(model: Any, X_shape: Any, layout: str) -> tuple[int, ...]:
    """``X_shape`` as a tuple of four positive ints, else an error naming the model and the layout."""
    try:
        shape = tuple(int(d) for d in X_shape)
    except (TypeError, ValueError):
        shape = None
    where = f"{type(model).__name__}.layer_summary"
    if shape is None or len(shape) != 4:
        raise ValueError(f"{where}: X_shape must have 4 dimensions {layout}, got {X_shape!r}")
    if min(shape) < 1:
        raise ValueError(f"{where}: X_shape must have 4 positive sizes {layout}, got {X_shape!r}")
    return shape


# The largest window (kernel or pool) of the book's CNNs: AlexNet's first, 11x11. An error from a layer
# whose images are smaller than that, in ``layer_summary``, means the images have become too small.
LARGEST_WINDOW = 11


class ImagesTooSmall(ValueError):
    """``layer_summary``'s images shrank below a window of the network (a ValueError, named to be re-raised as is)."""


def too_small(model: Any, X_shape: Any) -> ImagesTooSmall:
    """The error of ``layer_summary`` when the images of ``X_shape`` shrink below a window of the network."""
    return ImagesTooSmall(
        f"{type(model).__name__}.layer_summary: X_shape {tuple(X_shape)} is too small for "
        f"{type(model).__name__}: its images shrink below the window of one of its convolutions or pools "
        f"(the book summarises AlexNet, VGG and NiN at 224x224, its later models at 96x96)"
    )


def summarise(model: Any, X_shape: Any, layers: Any, X: Any, channels_last: bool) -> None:
    """Run ``X`` through ``layers`` one by one, printing each output's shape (``layer_summary``).

    A layer that fails on images smaller than ``LARGEST_WINDOW``, or that makes an empty output, gets
    ``too_small``'s error (the framework's is kept as its cause) instead of a framework's traceback.
    """
    for layer in layers:
        X = guarded_call(model, X_shape, layer, X, channels_last)
        if 0 in _shape(X):
            raise too_small(model, X_shape)
        print_output_shape(layer, X)


def guarded_call(model: Any, X_shape: Any, layer: Any, X: Any, channels_last: bool) -> Any:
    """``layer(X)``, with ``too_small``'s error where it fails on images smaller than ``LARGEST_WINDOW``."""
    shape = _shape(X)
    spatial = (shape[1:3] if channels_last else shape[2:]) if len(shape) == 4 else ()
    if 0 in shape:
        raise too_small(model, X_shape)
    try:
        return layer(X)
    except ImagesTooSmall:
        raise
    except Exception as error:
        if spatial and min(spatial) < LARGEST_WINDOW:
            raise too_small(model, X_shape) from error
        raise


def print_output_shape(layer: Any, X: Any) -> None:
    """One line of ``layer_summary``, as the book prints it."""
    print(type(layer).__name__, "output shape:\t", X.shape)


# --- LeNet's parameters, the same on every backend --------------------------------------------------
# Drawn channels-first, the layout of PyTorch and MXNet: convolution kernels (out, in, height, width),
# dense weights (out, in), and the first dense layer's inputs in the (channels, height, width) order
# of a flattened NCHW batch. ``channels_last`` gives the same network in the layout of JAX and Keras.
_LENET_WEIGHTS = [(6, 1, 5, 5), (16, 6, 5, 5), (120, 400), (84, 120)]


def lenet_parameters(rng: np.random.Generator, num_classes: int = 10) -> list[tuple[np.ndarray, np.ndarray]]:
    """LeNet's ``(weight, bias)`` per layer, channels-first, float32: Xavier uniform as ``init_cnn``, zero biases.

    The Xavier bound ``sqrt(6 / (fan_in + fan_out))`` counts a kernel's receptive field in both fans,
    as ``torch.nn.init.xavier_uniform_``, MXNet's ``init.Xavier()`` and Keras's ``GlorotUniform`` do.
    """
    params = []
    for shape in [*_LENET_WEIGHTS, (num_classes, 84)]:
        field = math.prod(shape[2:])
        bound = math.sqrt(6 / ((shape[0] + shape[1]) * field))
        weight = rng.uniform(-bound, bound, size=shape).astype(np.float32)
        params.append((weight, np.zeros(shape[0], dtype=np.float32)))
    return params


def channels_last(params: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``lenet_parameters`` for a channels-last network (JAX, Keras) that computes the same function.

    Kernels become (height, width, in, out) and dense weights (in, out); the first dense layer's
    inputs are reordered from (channels, height, width) to the (height, width, channels) order of a
    flattened NHWC batch.
    """
    channels = next(w for w, _ in reversed(params) if w.ndim == 4).shape[0]  # the last convolution's
    converted, flattened = [], False
    for weight, bias in params:
        if weight.ndim == 4:
            weight = weight.transpose(2, 3, 1, 0)
        else:
            if not flattened:
                side = math.isqrt(weight.shape[1] // channels)
                weight = weight.reshape(-1, channels, side, side).transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)
                flattened = True
            weight = weight.T
        converted.append((np.ascontiguousarray(weight), bias))
    return converted


def matching_parameters(model: Any, shapes: list[tuple[int, ...]], params: list) -> list:
    """``params`` if their weights have the ``shapes`` of the model's layers, else an error naming both."""
    given = [tuple(int(d) for d in weight.shape) for weight, _ in params]
    if given != [tuple(s) for s in shapes]:
        raise ValueError(f"{type(model).__name__}: the layers' weights have shapes {shapes}, the parameters {given}")
    return params


def lenet_logits(params: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray) -> np.ndarray:
    """LeNet's output for the NCHW batch ``X`` with the channels-first ``params``, computed in float64."""
    (k1, c1), (k2, c2), *dense = [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in params]
    X = np.asarray(X, np.float64)
    X = _avg_pool(_sigmoid(_conv(np.pad(X, ((0, 0), (0, 0), (2, 2), (2, 2))), k1, c1)))
    X = _avg_pool(_sigmoid(_conv(X, k2, c2))).reshape(len(X), -1)
    for i, (weight, bias) in enumerate(dense):
        X = X @ weight.T + bias
        if i < len(dense) - 1:
            X = _sigmoid(X)
    return X


def _conv(X: np.ndarray, kernels: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Multi-channel cross-correlation (no padding) as a sum over the kernel's offsets, as ``corr2d``."""
    kh, kw = kernels.shape[2:]
    out_h, out_w = X.shape[2] - kh + 1, X.shape[3] - kw + 1
    Y = bias.reshape(1, -1, 1, 1)
    for a in range(kh):
        for b in range(kw):
            Y = Y + np.einsum("nchw,oc->nohw", X[:, :, a : a + out_h, b : b + out_w], kernels[:, :, a, b])
    return Y


def _avg_pool(X: np.ndarray) -> np.ndarray:
    n, c, h, w = X.shape
    return X.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def _sigmoid(X: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-X))


def image_layout(model: Any) -> str | None:
    """The layout of the images ``model`` takes if it is one of d2lx's CNNs (a chapter 7-8 class or a
    learner's subclass of one: a class from a backend's ``cnn`` or ``modern_cnn`` module in its MRO),
    else None. The backend's ``Classifier`` says the layout (``_d2lx_image_layout``)."""
    for cls in type(model).__mro__:
        module = getattr(cls, "__module__", "") or ""
        if module.startswith("d2lx.") and module.rsplit(".", 1)[-1] in ("cnn", "modern_cnn"):
            return getattr(model, "_d2lx_image_layout", None)
    return None
