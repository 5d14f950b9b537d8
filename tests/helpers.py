"""Small helpers shared by the backend tests."""

from __future__ import annotations

import numpy as np

from d2lx.plotting import to_numpy

TRUE_W = np.array([2.0, -3.4], dtype=np.float32)
TRUE_B = 4.2


def w_b_errors(model) -> np.ndarray:
    """Absolute errors of the recovered ``w`` (two values) and ``b`` (one value)."""
    w, b = (to_numpy(t).reshape(-1) for t in model.get_w_b())
    return np.abs(np.concatenate([TRUE_W - w, [TRUE_B - b[0]]]))


def final_val_accuracy(model) -> float:
    return model.board.data["val_acc"][-1].y


def backend_name(d2l) -> str:
    return d2l.__name__.rsplit(".", 1)[-1]


def small_classification(d2l, num_train: int = 128, num_val: int = 64, batch_size: int = 64, scale: float = 1.0):
    """A few hundred 3x4 "images" in 10 classes, as a ``d2l.DataModule`` (fixed numbers, not seeded)."""
    rng = np.random.default_rng(42)
    n = num_train + num_val
    X = (scale * rng.standard_normal((n, 3, 4))).astype(np.float32)
    y = (X.reshape(n, -1) @ rng.standard_normal((12, 10))).argmax(axis=1).astype(np.int64)

    class SmallClassification(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.num_train, self.batch_size = num_train, batch_size
            self.X, self.y = d2l.tensor(X), d2l.tensor(y)

        def get_dataloader(self, train):
            rows = slice(0, self.num_train) if train else slice(self.num_train, None)
            return self.get_tensorloader((self.X, self.y), train, rows)

    return SmallClassification()


def model_outputs(d2l, model, X, *, training: bool, trainer=None) -> np.ndarray:
    """``model(X)`` as numpy, in training or evaluation mode, switched the way each framework does it.

    On JAX the parameters come from ``trainer``, or from ``model.apply_init`` when there is none.
    """
    name = backend_name(d2l)
    if name == "torch":
        import torch

        model.train(training)
        with torch.no_grad():
            return to_numpy(model(X))
    if name == "mxnet":
        from mxnet import autograd

        with autograd.train_mode() if training else autograd.predict_mode():
            return to_numpy(model(X))
    if name == "tensorflow":
        return to_numpy(model(X, training=training))
    # JAX: ``training`` is a field of the model; the parameters are the trainer's (or new ones)
    params = trainer.state.params if trainer is not None else model.apply_init((X,), d2l.get_key())["params"]
    model.training = training
    return to_numpy(model.apply({"params": params}, X, rngs={"dropout": d2l.get_key()}))


def scratch_parameters(d2l, model, names, X) -> list[np.ndarray]:
    """The initial values of a scratch model's parameters ``names`` (on JAX: from one ``model.apply_init``)."""
    if backend_name(d2l) == "jax":
        params = model.apply_init((X,), d2l.get_key())["params"]
        return [to_numpy(params[name]) for name in names]
    return [to_numpy(getattr(model, name)) for name in names]


def xavier(d2l):
    """Xavier (Glorot) uniform initialisation, spelled as the book spells it on each framework."""
    name = backend_name(d2l)
    if name == "torch":
        from torch import nn

        def init_xavier(module):
            if type(module) is nn.Linear:
                nn.init.xavier_uniform_(module.weight)

        return init_xavier
    if name == "mxnet":
        from mxnet import init

        return init.Xavier()
    if name == "tensorflow":
        import tensorflow as tf

        return tf.keras.initializers.GlorotUniform()
    from flax import linen as nn

    return nn.initializers.xavier_uniform()


def weights_after_apply_init(d2l, model, X, init=None) -> list[np.ndarray]:
    """``model.apply_init`` on the batch ``X`` (with ``init`` if given), then the model's weight matrices."""
    name = backend_name(d2l)
    if name == "jax":
        import jax

        params = model.apply_init((X,), d2l.get_key(), init=init)["params"]
        return [to_numpy(p) for p in jax.tree_util.tree_leaves(params) if p.ndim == 2]
    if init is None:
        model.apply_init([X])
    else:
        model.apply_init([X], init)
    if name == "torch":
        params = list(model.parameters())
    elif name == "mxnet":
        params = [p.data() for p in model.collect_params().values()]
    else:
        params = model.trainable_variables
    return [np.array(to_numpy(p)) for p in params if len(p.shape) == 2]  # copies: torch's share memory
