"""Chapters 7-8 (CNNs) on every backend: each constructor argument builds the same network (parameter
counts), and each mistake a learner makes with them gets one exact message (``d2lx.checks._RULES``).

Cheap by design: small inputs, no training; JAX only traces shapes (``jax.eval_shape``).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from adapters import adapter
from helpers import backend_name, layout

from d2lx.checks import MAX_IMAGE_SIDE


def _model(d2l, name, **kwargs):
    """``d2l.<name>(**kwargs)``; JAX's chapter 8 models with dropout and batch norm in prediction mode, so
    that tracing their ``init`` needs no dropout key (LeNet has no ``training`` field)."""
    if backend_name(d2l) == "jax" and name != "LeNet":
        kwargs.setdefault("training", False)
    return getattr(d2l, name)(**kwargs)


# (model, non-default arguments, channels-first input shape, trainable parameters). The same network on
# every backend: each count was computed on PyTorch and matched on the other three. DenseNet with
# num_channels=32 (issue 29: MXNet and TensorFlow kept a 64-channel stem): stem 7*7*32+32 and its batch
# norm 64; block 1 (two 3x3 convolutions of 8 on 32, 40 channels, each after a batch norm) 64+2312+80+2888;
# transition 48 -> 24: 96+1176; block 2 (on 24, 32, 40) 48+1736+64+2312+80+2888; head 96+48*5+5.
PARAMETERS = [
    ("LeNet", {"num_classes": 5}, (2, 1, 28, 28), 61281),
    ("AlexNet", {"num_classes": 3}, (2, 1, 67, 67), 21570243),
    ("VGG", {"arch": ((1, 8), (2, 16)), "num_classes": 3}, (2, 1, 16, 16), 17849843),
    ("NiN", {"num_classes": 3}, (2, 1, 67, 67), 1967771),
    ("BNLeNetScratch", {"num_classes": 3}, (2, 1, 28, 28), 44283),
    ("BNLeNet", {"num_classes": 3}, (2, 1, 28, 28), 44283),
    ("ResNet", {"arch": ((1, 64), (1, 32)), "num_classes": 4}, (2, 1, 32, 32), 107492),
    ("DenseNet", {"num_channels": 32, "growth_rate": 8, "arch": (2, 3), "num_classes": 5}, (2, 1, 32, 32),
     1600 + 64 + 64 + 2312 + 80 + 2888 + 96 + 1176 + 48 + 1736 + 64 + 2312 + 80 + 2888 + 96 + 245),
    ("AnyNet", {"arch": ((1, 16, 2, 0.5), (2, 24, 3, 1)), "stem_channels": 8, "num_classes": 6}, (2, 1, 32, 32),
     7454),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kwargs", "shape", "count"), PARAMETERS, ids=[row[0] for row in PARAMETERS])
def test_constructor_arguments_build_the_same_network_on_every_backend(backend, name, kwargs, shape, count):
    model = _model(backend, name, **kwargs)
    assert adapter(backend).trainable_parameter_count(model, shape) == count


BAD_ARGUMENTS = [
    # channel counts and the other numbers of chapter 8's models
    (lambda d2l: d2l.DenseNet(num_channels=0), ValueError, "num_channels must be a positive int, got 0"),
    (lambda d2l: d2l.DenseNet(num_channels=32.0), TypeError, "num_channels must be a positive int, got 32.0"),
    (lambda d2l: d2l.DenseNet(growth_rate=0), ValueError, "growth_rate must be a positive int, got 0"),
    (lambda d2l: d2l.DenseNet(growth_rate=-8), ValueError, "growth_rate must be a positive int, got -8"),
    (lambda d2l: d2l.AnyNet(arch=((1, 16, 2, 1),), stem_channels=0), ValueError,
     "stem_channels must be a positive int, got 0"),
    (lambda d2l: d2l.LeNet(num_classes=0), ValueError, "num_classes must be a positive int, got 0"),
    (lambda d2l: d2l.AlexNet(lr=-0.1), ValueError, "lr must be a positive number, got -0.1"),
    (lambda d2l: d2l.ResNet18(num_classes=2.5), TypeError, "num_classes must be a positive int, got 2.5"),
    # each model's arch: not empty, stages of the right shape, numbers by their own rule
    (lambda d2l: d2l.VGG(arch=()), ValueError,
     "arch must be a non-empty tuple of (num_convs, out_channels) stages, got () (tuple)"),
    (lambda d2l: d2l.VGG(arch=5), TypeError,
     "arch must be a non-empty tuple of (num_convs, out_channels) stages, got 5"),
    (lambda d2l: d2l.VGG(arch=((1,),)), ValueError,
     "arch[0] must be a (num_convs, out_channels) stage, got (1,) (tuple)"),
    (lambda d2l: d2l.VGG(arch=((1, 64), 2)), TypeError, "arch[1] must be a (num_convs, out_channels) stage, got 2"),
    (lambda d2l: d2l.VGG(arch=((1, 64), (2, 0))), ValueError, "out_channels of arch[1] must be a positive int, got 0"),
    (lambda d2l: d2l.VGG(arch=((1, 64.0),)), TypeError, "out_channels of arch[0] must be a positive int, got 64.0"),
    (lambda d2l: d2l.VGG(arch=((0, 64),)), ValueError, "num_convs of arch[0] must be a positive int, got 0"),
    (lambda d2l: d2l.ResNet(arch=()), ValueError,
     "arch must be a non-empty tuple of (num_residuals, num_channels) stages, got () (tuple)"),
    (lambda d2l: d2l.ResNet(arch=((2,),)), ValueError,
     "arch[0] must be a (num_residuals, num_channels) stage, got (2,) (tuple)"),
    (lambda d2l: d2l.ResNet(arch=((2, 64), (2, -128))), ValueError,
     "num_channels of arch[1] must be a positive int, got -128"),
    # the first stage adds the stem's 64 channels to its output: 32 would fail at the first batch
    (lambda d2l: d2l.ResNet(arch=((2, 32), (2, 64))), ValueError,
     "num_channels of arch[0] must be 64, the channels of the stem b1: the first stage adds its input to its "
     "output without a 1x1 convolution, got 32"),
    (lambda d2l: d2l.DenseNet(arch=()), ValueError,
     "arch must be a non-empty tuple of num_convs, one per stage, got () (tuple)"),
    (lambda d2l: d2l.DenseNet(arch=(4, 0)), ValueError, "arch[1] (num_convs) must be a positive int, got 0"),
    (lambda d2l: d2l.DenseNet(arch=((4,),)), TypeError, "arch[0] (num_convs) must be a positive int, got (4,) (tuple)"),
    (lambda d2l: d2l.AnyNet(arch=(), stem_channels=16), ValueError,
     "arch must be a non-empty tuple of (depth, num_channels, groups, bot_mul) stages, got () (tuple)"),
    (lambda d2l: d2l.AnyNet(arch=((1, 16, 2, 0),), stem_channels=16), ValueError,
     "bot_mul of arch[0] must be a positive number, got 0"),
    (lambda d2l: d2l.AnyNet(arch=((1, 16, 0, 1),), stem_channels=16), ValueError,
     "groups of arch[0] must be a positive int, got 0"),
    # the ResNeXt block
    (lambda d2l: d2l.ResNeXtBlock(32, 16, 0), ValueError, "bot_mul must be a positive number, got 0"),
    (lambda d2l: d2l.ResNeXtBlock(32, 16, -0.5), ValueError, "bot_mul must be a positive number, got -0.5"),
    (lambda d2l: d2l.ResNeXtBlock(0, 1, 1), ValueError, "num_channels must be a positive int, got 0"),
    (lambda d2l: d2l.ResNeXtBlock(32, 1, 0.01), ValueError,
     "ResNeXtBlock: num_channels=32 times bot_mul=0.01 must make at least one bottleneck channel, got 0"),
    # the other blocks of chapter 8
    (lambda d2l: d2l.Residual(0), ValueError, "num_channels must be a positive int, got 0"),
    (lambda d2l: d2l.Residual(2.0), TypeError, "num_channels must be a positive int, got 2.0"),
    (lambda d2l: d2l.DenseBlock(2, 0), ValueError, "num_channels must be a positive int, got 0"),
    (lambda d2l: d2l.DenseBlock(0, 8), ValueError, "num_convs must be a positive int, got 0"),
    (lambda d2l: d2l.conv_block(-8), ValueError, "num_channels must be a positive int, got -8"),
    (lambda d2l: d2l.transition_block(0), ValueError, "num_channels must be a positive int, got 0"),
    (lambda d2l: d2l.vgg_block(0, 8), ValueError, "num_convs must be a positive int, got 0"),
    (lambda d2l: d2l.Inception(0, (1, 1), (1, 1), 1), ValueError, "c1 must be a positive int, got 0"),
    (lambda d2l: d2l.Inception(1, (1,), (1, 1), 1), ValueError,
     "c2 must be two positive ints (reduce, out channels), got (1,) (tuple)"),
    (lambda d2l: d2l.Inception(1, (1, 1), (0, 1), 1), ValueError,
     "c3 must be two positive ints (reduce, out channels), got (0, 1) (tuple)"),
    # Fashion-MNIST's resize: (100000, 100000) would ask for 640 GB at a first batch of 16
    (lambda d2l: d2l.FashionMNIST(resize=(100000, 100000)), ValueError,
     f"resize must be at most {MAX_IMAGE_SIDE} pixels per side (the book resizes to 224 at most), "
     "got (100000, 100000) (tuple)"),
    (lambda d2l: d2l.FashionMNIST(resize=(28, 1025)), ValueError,
     "resize must be at most 1024 pixels per side (the book resizes to 224 at most), got (28, 1025) (tuple)"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "error", "message"), BAD_ARGUMENTS)
def test_bad_argument_gives_its_exact_message(backend, make, error, message):
    with pytest.raises(error) as info:
        make(backend)
    assert str(info.value) == message


@pytest.mark.parametrize("block", ["vgg_block", "nin_block"])
def test_a_block_names_its_channels_as_its_signature_does(backend, block):
    # the book names them per framework: vgg_block's num_channels (MXNet, TensorFlow) or out_channels
    make = getattr(backend, block)
    name = list(inspect.signature(make).parameters)[1 if block == "vgg_block" else 0]
    with pytest.raises(ValueError) as info:
        make(1, 0) if block == "vgg_block" else make(0, 3, 1, 1)
    assert str(info.value) == f"{name} must be a positive int, got 0"


def test_the_largest_resize_is_accepted(backend):
    assert backend.FashionMNIST(resize=(MAX_IMAGE_SIDE, MAX_IMAGE_SIDE)).resize == (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE)


@pytest.mark.parametrize(
    ("X_shape", "K_shape", "message"),
    [
        ((3, 3), (0, 0), "corr2d: K must be a non-empty 2-D tensor (height, width), got shape (0, 0)"),
        ((3, 0), (1, 1), "corr2d: X must be a non-empty 2-D tensor (height, width), got shape (3, 0)"),
        ((3,), (2, 2), "corr2d: X must be a non-empty 2-D tensor (height, width), got shape (3,)"),
        ((1, 3, 3), (2, 2), "corr2d: X must be a non-empty 2-D tensor (height, width), got shape (1, 3, 3)"),
        ((3, 3), (2,), "corr2d: K must be a non-empty 2-D tensor (height, width), got shape (2,)"),
    ],
)
def test_corr2d_names_an_empty_or_non_2d_argument(backend, X_shape, K_shape, message):
    with pytest.raises(ValueError) as info:
        backend.corr2d(backend.ones(X_shape), backend.ones(K_shape))
    assert str(info.value) == message


def _layer_summary(d2l, model, shape):
    if backend_name(d2l) == "jax":
        model.layer_summary(shape, key=d2l.get_key())
    else:
        model.layer_summary(shape)


def test_layer_summary_names_a_zero_size(backend):
    shape = layout(backend, (0, 1, 28, 28))
    order = "(batch, height, width, channels)" if shape[-1] == 1 else "(batch, channels, height, width)"
    with pytest.raises(ValueError) as info:
        _layer_summary(backend, backend.LeNet(), shape)
    assert str(info.value) == f"LeNet.layer_summary: X_shape must have 4 positive sizes {order}, got {shape}"


@pytest.mark.parametrize(
    ("name", "kwargs", "shape"),
    [
        ("LeNet", {}, (1, 1, 4, 4)),  # the second 5x5 convolution meets 2x2 images
        ("VGG", {"arch": ((1, 4),) * 5}, (1, 1, 16, 16)),  # the fifth pool meets 1x1 images
        ("AlexNet", {}, (1, 1, 28, 28)),  # the second pool meets 2x2 images
    ],
)
def test_layer_summary_names_images_too_small_for_the_network(backend, name, kwargs, shape):
    shape = layout(backend, shape)
    with pytest.raises(ValueError) as info:
        _layer_summary(backend, _model(backend, name, **kwargs), shape)
    assert str(info.value) == (
        f"{name}.layer_summary: X_shape {shape} is too small for {name}: its images shrink below the window of "
        "one of its convolutions or pools (the book summarises AlexNet, VGG and NiN at 224x224, its later "
        "models at 96x96)"
    )


def _outputs(d2l, model, batches):
    """``model`` called on each channels-first numpy batch in turn, in the backend's layout; on JAX the
    parameters are made for the first (``apply_init``, as the trainer does). The outputs' shapes."""
    batches = [d2l.tensor(np.ascontiguousarray(X.transpose(0, 2, 3, 1) if layout(d2l, X.shape) != X.shape else X))
               for X in batches]  # fmt: skip
    if backend_name(d2l) == "jax":
        variables = model.apply_init([batches[0]], d2l.get_key())
        return [tuple(model.apply(variables, X).shape) for X in batches]
    return [tuple(model(X).shape) for X in batches]


def _images(n, c, h, w):
    return np.random.default_rng(0).standard_normal((n, c, h, w)).astype(np.float32)


@pytest.mark.parametrize(
    ("name", "kwargs", "shapes"),
    [
        ("LeNet", {}, [(2, 1, 28, 28), (2, 1, 32, 32)]),  # its dense layers fix the height and width
        # a global pool: any height and width, but the channels of the first batch
        (
            "DenseNet",
            {"num_channels": 8, "growth_rate": 4, "arch": (1,)},
            [(2, 1, 32, 32), (2, 1, 40, 40), (2, 3, 40, 40)],
        ),
    ],
)
def test_a_cnn_given_examples_of_another_shape_names_both(backend, name, kwargs, shapes):
    built, got = layout(backend, shapes[0])[1:], layout(backend, shapes[-1])[1:]
    with pytest.raises(ValueError) as info:  # DenseNet's 40x40 batch passes: the error names the last
        _outputs(backend, _model(backend, name, **kwargs), [_images(*shape) for shape in shapes])
    assert str(info.value) == (
        f"{name} was built for examples of shape {built} (by the first batch it saw) and cannot take {got} "
        f"(X of shape {layout(backend, shapes[-1])}); give it examples of shape {built}, or make a new {name}"
    )


def test_a_learners_subclass_keeps_its_models_arch_rule(backend):
    class DeeperResNet(backend.ResNet):  # a book cell's subclass: the rule is found by the base's name
        pass

    with pytest.raises(ValueError) as info:
        DeeperResNet(arch=((2, 64), (2,)))
    assert str(info.value) == "arch[1] must be a (num_residuals, num_channels) stage, got (2,) (tuple)"
