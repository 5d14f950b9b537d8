"""Saved models load back exactly, on every backend (issue 29).

Every chapter 7-8 model is saved and loaded into a fresh model the framework's way (the builders'
guide's "File I/O": a state dict on PyTorch, ``save_parameters`` on MXNet, ``save_weights`` on Keras,
the variables' pytree through Flax's checkpoints on JAX), before and after a training step; the
reloaded model's outputs equal the saved one's to the last bit. PyTorch's lazy layers used to redraw
a loaded state dict at their first forward pass (``init_cnn``'s hook). Each model is built small
(few channels, an input near its smallest size) so the whole file stays cheap; ``RegNetX32`` and
``ResNet18`` are ``AnyNet`` and ``ResNet`` with fixed arguments, tested through small ones.

A model built with other arguments (another ``num_classes``) refuses the saved weights with a
message naming the parameter and both shapes.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from adapters import adapter
from helpers import backend_name, layout, own_data

# (constructor keyword arguments, channels-first input shape): two examples, as batch norm needs.
MODELS = {
    "LeNet": ({}, (2, 1, 28, 28)),
    "AlexNet": ({}, (2, 1, 67, 67)),
    "VGG": ({"arch": ((1, 8), (1, 16))}, (2, 1, 16, 16)),
    "NiN": ({}, (2, 1, 67, 67)),
    "GoogleNet": ({}, (2, 1, 32, 32)),
    "BNLeNetScratch": ({}, (2, 1, 28, 28)),
    "BNLeNet": ({}, (2, 1, 28, 28)),
    "ResNet": ({"arch": ((1, 64), (1, 32))}, (2, 1, 32, 32)),
    "AnyNet": ({"arch": ((1, 16, 4, 1),), "stem_channels": 8}, (2, 1, 16, 16)),  # ResNeXt blocks
    "DenseNet": ({"num_channels": 16, "growth_rate": 8, "arch": (2, 2)}, (2, 1, 32, 32)),
}  # RegNetX32 is AnyNet with fixed arguments, ResNet18 is ResNet: the small ones cover their code


def _batch(d2l, shape):
    X = np.random.default_rng(0).random(layout(d2l, shape), dtype=np.float32)
    return X, np.array([3, 7][: shape[0]], dtype=np.int64)


@pytest.mark.parametrize("name", MODELS)
def test_a_saved_model_loads_back_exactly(backend, name, tmp_path):
    """Saved and reloaded as built (after one forward pass), then again after a training step."""
    d2l = backend
    kwargs, shape = MODELS[name]
    X, y = _batch(d2l, shape)

    def make_model():
        return getattr(d2l, name)(**kwargs)

    model, check = make_model(), adapter(d2l)
    for folder in ("fresh", "trained"):
        (tmp_path / folder).mkdir()
    before, after = check.reloaded_outputs(make_model, model, d2l.tensor(X), tmp_path / "fresh")
    assert before.shape == (len(X), 10)
    np.testing.assert_array_equal(after, before)
    # one step of SGD on one batch; no validation pass (on JAX a second compilation of the network)
    trainer = d2l.Trainer(max_epochs=1, limit_val_batches=0)
    trainer.fit(model, own_data(d2l, np.concatenate([X, X]), np.concatenate([y, y]), len(X), len(X)))
    trained, after = check.reloaded_outputs(make_model, model, d2l.tensor(X), tmp_path / "trained", trainer)
    assert not np.array_equal(trained, before)  # the step changed the model
    np.testing.assert_array_equal(after, trained)


# What each framework's loader says about a 10-class LeNet's weights loaded into a 5-class one: the
# last dense layer's weight, by the framework's name for it (JAX: Flax's own message, as clear).
def _shapes(saved, model):
    advice = "build the model with the arguments it was saved with"
    return f"has shape {saved}, but this model's has shape {model}; {advice}"


MISMATCH = {
    "torch": (
        "RuntimeError",
        "Error(s) in loading state_dict for LeNet:\n"
        f"\tthe saved parameter net.11.weight {_shapes((10, 84), (5, 84))}\n"
        f"\tthe saved parameter net.11.bias {_shapes((10,), (5,))}",
    ),
    "mxnet": ("ValueError", f"LeNet.load_parameters: the saved parameter net.6.weight {_shapes((10, 84), (5, 84))}"),
    "jax": (
        "ScopeParamShapeError",  # flax.errors
        'For parameter "kernel" in "/net/layers_11", the given initializer is expected to generate shape (84, 5), '
        "but the existing parameter it received has shape (84, 10).",
    ),
    "tensorflow": (
        "ValueError",
        "LeNet.load_weights: the saved parameter layers/sequential/layers/dense_2/vars/0 " + _shapes((84, 10), (84, 5)),
    ),
}


def test_weights_saved_for_other_arguments_are_refused(backend, tmp_path):
    d2l = backend
    error, message = MISMATCH[backend_name(d2l)]
    X, _ = _batch(d2l, MODELS["LeNet"][1])
    with pytest.raises(Exception, match=re.escape(message)) as info:
        adapter(d2l).load_into(d2l.LeNet, lambda: d2l.LeNet(num_classes=5), d2l.tensor(X), tmp_path)
    assert type(info.value).__name__ == error
