"""Chapter 8's blocks, and chapter 13's ``resnet18`` built from them, checked by their numbers, not only their
shapes, on every backend.

Each block gets weights drawn once with numpy (convolutions, and batch normalizations in evaluation
mode with running statistics of their own, so that nothing depends on the batch) and a fixed small
input; its output must match the float64 numpy reference below to 1e-5, the same numbers on every
backend. A shape test passes a ``Residual`` without its ``+ X`` or an ``Inception`` whose branches
are stacked in another order; this one does not, and ``test_a_miswired_block_misses_the_reference``
shows it: the reference wired wrong (no skip connection, the concatenation reordered, ...) is far
from what the real block computes.

The strided blocks get odd inputs (7x7): there a padding of one on every side, the book's PyTorch and
MXNet blocks, is the 'same' padding of its JAX and TensorFlow ones. On an even input 'same' pads only
the bottom and right, so a stride-2 block reads other pixels there than on PyTorch and MXNet.
Keras's batch normalization keeps the book's epsilon of 1e-3 (1e-5 elsewhere): the reference uses
each framework's (``adapters.Adapter.batch_norm_eps``).

``resnet18`` (13.6) is the whole network, stem, four stages and dense layer, on a 17x17 image: 17, 9 and
5 are odd, so each of its three strided stages reads the same pixels on every backend. Its miswirings
are those of its residual blocks, and the stride on the second convolution of a stage's first block
instead of the first (the same shapes, other pixels).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from adapters import adapter
from helpers import backend_name


# --- the reference, float64, channels first ---------------------------------------------------------
def conv(X, weights, stride=1, padding=0, groups=1):
    """Cross-correlation of the NCHW ``X`` with ``(kernel, bias)``, kernel ``(out, in / groups, kh, kw)``."""
    kernel, bias = (np.asarray(a, np.float64) for a in weights)
    X = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out, per_group, kh, kw = kernel.shape
    assert X.shape[1] == per_group * groups, (X.shape, kernel.shape, groups)
    height, width = (X.shape[2] - kh) // stride + 1, (X.shape[3] - kw) // stride + 1
    outputs = []
    for g, k in zip(np.split(X, groups, axis=1), np.split(kernel, groups, axis=0)):
        Y = np.zeros((len(X), len(k), height, width))
        for a in range(kh):
            for b in range(kw):
                window = g[:, :, a : a + stride * height : stride, b : b + stride * width : stride]
                Y += np.einsum("nchw,oc->nohw", window, k[:, :, a, b])
        outputs.append(Y)
    return np.concatenate(outputs, axis=1) + bias.reshape(1, -1, 1, 1)


def norm(X, weights, eps):
    """Batch normalization in evaluation mode: the running statistics normalize, gamma and beta scale and shift."""
    gamma, beta, mean, var = (np.asarray(a, np.float64).reshape(1, -1, 1, 1) for a in weights)
    return gamma * (X - mean) / np.sqrt(var + eps) + beta


def dense(X, weights):
    """``X @ weight.T + bias``, the weight ``(out, in)``."""
    weight, bias = (np.asarray(a, np.float64) for a in weights)
    return X @ weight.T + bias


def relu(X):
    return np.maximum(X, 0)


def pool(X, size, stride, padding=0, reduce=np.max):
    """Max (or ``reduce``) pooling over ``size`` x ``size`` windows; max pooling pads with -inf."""
    X = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=-np.inf)
    height, width = (X.shape[2] - size) // stride + 1, (X.shape[3] - size) // stride + 1
    windows = [
        X[:, :, a : a + stride * height : stride, b : b + stride * width : stride]
        for a in range(size)
        for b in range(size)
    ]
    return reduce(np.stack(windows), axis=0)


def concat(*Xs):
    return np.concatenate(Xs, axis=1)


# Each block's reference takes the input, the weights (an iterator, in the order the forward pass
# calls the layers), the epsilon, and switches that wire it wrong for the teeth test.
def residual(X, w, eps, *, use_1x1conv=False, strides=1, skip=True, relu_after_sum=True, stride_second=False):
    first, second = (1, strides) if stride_second else (strides, 1)
    Y = relu(norm(conv(X, next(w), stride=first, padding=1), next(w), eps))
    Y = norm(conv(Y, next(w), stride=second, padding=1), next(w), eps)
    shortcut = conv(X, next(w), stride=strides) if use_1x1conv else X
    if not skip:
        return relu(Y)
    return relu(Y + shortcut) if relu_after_sum else relu(Y) + shortcut


# ResNet-18 of 13.6 for small images: (channels, the first block halves the size), two blocks per stage
RESNET18_STAGES = ((64, False), (128, True), (256, True), (512, True))


def resnet18(X, w, eps, **wrong):
    """The stem (3x3 convolution, batch norm, ReLU), four stages of two residual blocks, global average
    pooling, the dense layer; ``wrong`` miswires every residual block."""
    X = relu(norm(conv(X, next(w), padding=1), next(w), eps))
    for _, halves in RESNET18_STAGES:
        X = residual(X, w, eps, use_1x1conv=halves, strides=2 if halves else 1, **wrong)
        X = residual(X, w, eps, **wrong)
    return dense(X.mean(axis=(2, 3)), next(w))


def resnext(X, w, eps, *, groups, use_1x1conv=False, strides=1, skip=True, shortcut_norm=True):
    Y = relu(norm(conv(X, next(w)), next(w), eps))
    Y = relu(norm(conv(Y, next(w), stride=strides, padding=1, groups=groups), next(w), eps))
    Y = norm(conv(Y, next(w)), next(w), eps)
    if use_1x1conv:
        X, weights = conv(X, next(w), stride=strides), next(w)
        X = norm(X, weights, eps) if shortcut_norm else X
    return relu(Y + X) if skip else relu(Y)


def anynet_stage(X, w, eps, *, depth, groups, last_skip=True):
    X = resnext(X, w, eps, groups=groups, use_1x1conv=True, strides=2)
    for i in range(1, depth):
        X = resnext(X, w, eps, groups=groups, skip=last_skip or i < depth - 1)
    return X


def dense_block(X, w, eps, *, num_convs, new_first=False):
    for _ in range(num_convs):
        Y = conv(relu(norm(X, next(w), eps)), next(w), padding=1)
        X = concat(Y, X) if new_first else concat(X, Y)
    return X


def transition(X, w, eps, *, reduce=np.mean):
    return pool(conv(relu(norm(X, next(w), eps)), next(w)), 2, 2, reduce=reduce)


def inception(X, w, eps, *, reverse=False, reduce_relu=True):
    inner = relu if reduce_relu else (lambda Y: Y)
    b1 = relu(conv(X, next(w)))
    b2 = relu(conv(inner(conv(X, next(w))), next(w), padding=1))
    b3 = relu(conv(inner(conv(X, next(w))), next(w), padding=2))
    b4 = relu(conv(pool(X, 3, 1, padding=1), next(w)))
    return concat(b4, b3, b2, b1) if reverse else concat(b1, b2, b3, b4)


def nin(X, w, eps, *, swap_1x1=False):
    first, second, third = next(w), next(w), next(w)
    if swap_1x1:
        second, third = third, second
    return relu(conv(relu(conv(relu(conv(X, first, stride=2)), second)), third))


def vgg(X, w, eps, *, num_convs, reduce=np.max, inner_relu=True):
    for i in range(num_convs):
        X = conv(X, next(w), padding=1)
        X = relu(X) if inner_relu or i == num_convs - 1 else X
    return pool(X, 2, 2, reduce=reduce)


# --- the blocks --------------------------------------------------------------------------------------
def _valid(d2l):
    """No padding, in the spelling of the backend's ``nin_block``."""
    return "valid" if backend_name(d2l) == "tensorflow" else 0


def conv_shape(out, inputs, size):
    return ("conv", out, inputs, size)


def norm_shape(channels):
    return ("norm", channels)


def dense_shape(out, inputs):
    return ("dense", out, inputs)


def _resnet18_layers(in_channels, num_classes):
    def block(inputs, channels, halves):
        layers = [conv_shape(channels, inputs, 3), norm_shape(channels), conv_shape(channels, channels, 3)]
        return layers + [norm_shape(channels)] + ([conv_shape(channels, inputs, 1)] if halves else [])

    layers, inputs = [conv_shape(64, in_channels, 3), norm_shape(64)], 64
    for channels, halves in RESNET18_STAGES:
        layers += block(inputs, channels, halves) + block(channels, channels, False)
        inputs = channels
    return layers + [dense_shape(num_classes, inputs)]


def _resnet18(d2l, mode):
    """``d2l.resnet18(10)`` as each backend spells it: PyTorch's takes the book's ``in_channels``, JAX's the
    ``training`` field of d2lx's Flax models."""
    return d2l.resnet18(10, in_channels=1) if backend_name(d2l) == "torch" else d2l.resnet18(10, **mode)


def _resnext_layers(inputs, channels, groups, use_1x1conv):
    layers = [conv_shape(channels, inputs, 1), norm_shape(channels), conv_shape(channels, channels // groups, 3)]
    layers += [norm_shape(channels), conv_shape(channels, channels, 1), norm_shape(channels)]
    return layers + ([conv_shape(channels, inputs, 1), norm_shape(channels)] if use_1x1conv else [])


# name: (make(d2l, mode), channels-first input shape, layer shapes in call order, reference, its
# keyword arguments, the miswirings: keyword arguments that make the reference wrong)
BLOCKS = {
    "Residual": (
        lambda d2l, mode: d2l.Residual(4, **mode),
        (2, 4, 6, 6),
        [conv_shape(4, 4, 3), norm_shape(4), conv_shape(4, 4, 3), norm_shape(4)],
        residual,
        {},
        [{"skip": False}, {"relu_after_sum": False}],
    ),
    "Residual, 1x1 convolution and stride 2": (
        lambda d2l, mode: d2l.Residual(6, use_1x1conv=True, strides=2, **mode),
        (2, 3, 7, 7),
        [conv_shape(6, 3, 3), norm_shape(6), conv_shape(6, 6, 3), norm_shape(6), conv_shape(6, 3, 1)],
        residual,
        {"use_1x1conv": True, "strides": 2},
        [{"skip": False}, {"relu_after_sum": False}],
    ),
    "ResNeXtBlock": (
        lambda d2l, mode: d2l.ResNeXtBlock(8, 2, 1, use_1x1conv=True, strides=2, **mode),
        (2, 4, 7, 7),
        _resnext_layers(4, 8, 2, True),
        resnext,
        {"groups": 2, "use_1x1conv": True, "strides": 2},
        [{"skip": False}, {"shortcut_norm": False}],
    ),
    "AnyNet stage": (
        lambda d2l, mode: d2l.AnyNet(arch=((1, 8, 2, 1),), stem_channels=4, **mode).stage(2, 8, 2, 1),
        (2, 4, 7, 7),
        _resnext_layers(4, 8, 2, True) + _resnext_layers(8, 8, 2, False),
        anynet_stage,
        {"depth": 2, "groups": 2},
        [{"last_skip": False}],
    ),
    "DenseBlock": (
        lambda d2l, mode: d2l.DenseBlock(2, 3, **mode),
        (2, 4, 6, 6),
        [norm_shape(4), conv_shape(3, 4, 3), norm_shape(7), conv_shape(3, 7, 3)],
        dense_block,
        {"num_convs": 2},
        [{"new_first": True}],
    ),
    "transition_block": (
        lambda d2l, mode: d2l.transition_block(4, **mode),
        (2, 6, 6, 6),
        [norm_shape(6), conv_shape(4, 6, 1)],
        transition,
        {},
        [{"reduce": np.max}],
    ),
    "Inception": (
        lambda d2l, mode: d2l.Inception(2, (3, 4), (2, 3), 2),
        (2, 4, 6, 6),
        [
            conv_shape(2, 4, 1),
            conv_shape(3, 4, 1),
            conv_shape(4, 3, 3),
            conv_shape(2, 4, 1),
            conv_shape(3, 2, 5),
            conv_shape(2, 4, 1),
        ],  # fmt: skip
        inception,
        {},
        [{"reverse": True}, {"reduce_relu": False}],
    ),
    "nin_block": (
        lambda d2l, mode: d2l.nin_block(4, kernel_size=3, strides=2, padding=_valid(d2l)),
        (2, 3, 7, 7),
        [conv_shape(4, 3, 3), conv_shape(4, 4, 1), conv_shape(4, 4, 1)],
        nin,
        {},
        [{"swap_1x1": True}],
    ),
    "vgg_block": (
        lambda d2l, mode: d2l.vgg_block(2, 4),
        (2, 3, 8, 8),
        [conv_shape(4, 3, 3), conv_shape(4, 4, 3)],
        vgg,
        {"num_convs": 2},
        [{"reduce": np.mean}, {"inner_relu": False}],
    ),
    "resnet18": (
        _resnet18,
        (2, 1, 17, 17),
        _resnet18_layers(1, 10),
        resnet18,
        {},
        [{"skip": False}, {"relu_after_sum": False}, {"stride_second": True}],
    ),
}


def _weights(layers, rng) -> list[tuple[np.ndarray, ...]]:
    """Float32 weights for ``layers``: kernels at He scale and nonzero biases (so that the ReLUs cut
    somewhere), dense weights at 1 / sqrt(inputs), batch norms whose four arrays all differ from the identity."""
    weights = []
    for kind, *shape in layers:
        if kind == "dense":
            out, inputs = shape
            weights.append((rng.standard_normal((out, inputs)) / np.sqrt(inputs), 0.3 * rng.standard_normal(out)))
        elif kind == "conv":
            out, inputs, size = shape
            kernel = rng.standard_normal((out, inputs, size, size)) * np.sqrt(2 / (inputs * size * size))
            weights.append((kernel, 0.3 * rng.standard_normal(out)))
        else:
            (channels,) = shape
            gamma, beta = rng.uniform(0.5, 1.5, channels), 0.3 * rng.standard_normal(channels)
            weights.append((gamma, beta, 0.3 * rng.standard_normal(channels), rng.uniform(0.5, 2.0, channels)))
    return [tuple(a.astype(np.float32) for a in w) for w in weights]


@functools.cache
def _case(d2l, name):
    """The block's output with its weights, the weights, the input and the epsilon: computed once per block
    for both tests (ResNet-18's 11 million weights take seconds to draw and load)."""
    make, shape, layers, _, _, _ = BLOCKS[name]
    rng = np.random.default_rng(8)
    X = rng.standard_normal(shape).astype(np.float32)
    weights = _weights(layers, rng)
    ask = adapter(d2l)
    Y = ask.output_with_weights(make(d2l, ask.evaluation_mode), X, weights)
    return Y, weights, X, ask.batch_norm_eps


def _reference(name, X, weights, eps, **wrong):
    _, _, _, reference, kwargs, _ = BLOCKS[name]
    w = iter(weights)
    Y = reference(np.asarray(X, np.float64), w, eps, **kwargs, **wrong)
    assert next(w, None) is None, "the reference left weights unused"
    return Y


@pytest.mark.parametrize("name", BLOCKS)
def test_block_computes_the_numpy_reference(backend, name):
    Y, weights, X, eps = _case(backend, name)
    expected = _reference(name, X, weights, eps)
    assert 0.05 < (expected > 0).mean() < 0.95  # the ReLUs cut some numbers and keep others
    np.testing.assert_allclose(Y, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", BLOCKS)
def test_a_miswired_block_misses_the_reference(backend, name):
    """The comparison has teeth: each miswiring of the reference (the bug a block could have) is far
    from what the block computes, by much more than the tolerance."""
    Y, weights, X, eps = _case(backend, name)
    for wrong in BLOCKS[name][5]:
        miswired = _reference(name, X, weights, eps, **wrong)
        assert miswired.shape == Y.shape, wrong  # the same shape: only the numbers can tell
        assert np.abs(miswired - Y).max() > 0.05, wrong
