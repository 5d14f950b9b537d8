"""What the shared tests must do each framework's own way, as one small adapter class per framework.

The tests ask the same questions of every backend (what does the model output in evaluation mode?
which weights did ``apply_init`` draw?); only the spelling differs: a mode switch on PyTorch, a
context on MXNet, an argument on Keras, parameters outside the model on JAX. ``adapter(d2l)`` gives
the adapter of a backend bound to it, like ``functional_recipes.recipe`` gives its recipes. Each
adapter imports its framework only when called.
"""

from __future__ import annotations

import os
import warnings
from types import SimpleNamespace

import numpy as np
from helpers import backend_name, per_backend

from d2lx.plotting import to_numpy


class Adapter:
    """The questions, asked of the backend ``d2l`` (an imported ``d2lx.<name>`` module)."""

    backend: str  # the registry's name for the backend

    def __init__(self, d2l):
        self.d2l = d2l

    def model_outputs(self, model, X, *, training: bool, trainer=None) -> np.ndarray:
        """``model(X)`` as numpy, in training or evaluation mode.

        On JAX the parameters come from ``trainer``, or from ``model.apply_init`` when there is none.
        """
        raise NotImplementedError

    def outputs_in_modes(self, model, X, modes: list[bool]) -> list[np.ndarray]:
        """``model_outputs`` in each mode of ``modes`` (True: training), with the same parameters."""
        return [self.model_outputs(model, X, training=training) for training in modes]

    def scratch_parameters(self, model, names, X) -> list[np.ndarray]:
        """The initial values of a scratch model's parameters ``names`` (on JAX: from one ``model.apply_init``)."""
        return [to_numpy(getattr(model, name)) for name in names]

    def xavier(self):
        """Xavier (Glorot) uniform initialisation, spelled as the book spells it on this framework."""
        raise NotImplementedError

    def weights_after_apply_init(self, model, X, init=None) -> list[np.ndarray]:
        """``model.apply_init`` on the batch ``X`` (with ``init`` if given), then the model's weight matrices."""
        if init is None:
            model.apply_init([X])
        else:
            model.apply_init([X], init)
        return [np.array(to_numpy(p)) for p in self.parameters(model) if len(p.shape) == 2]  # copies: torch's share

    def parameters(self, model) -> list:
        """The model's parameters as the framework's arrays (frameworks whose models hold them)."""
        raise NotImplementedError

    # chapter 9 (tests/test_rnn_scratch.py): the scratch RNNs, whose parameters come from the seeded stream
    def call_scratch(self, model, *args):
        """``model(*args)`` for a fresh scratch model (on JAX: with the parameters one ``apply_init`` draws)."""
        return model(*args)

    def predict(self, model, prefix, num_preds, vocab, trainer=None) -> str:
        """``model.predict(prefix, num_preds, vocab)`` (on JAX: with ``trainer``'s parameters, or else with
        those one ``apply_init`` draws)."""
        return model.predict(prefix, num_preds, vocab)

    # chapter 8 (tests/test_modern_cnn.py); shapes and arrays are channels first, as numpy, both ways
    def block_output(self, block, X: np.ndarray) -> np.ndarray:
        """``block(X)`` in training mode for a fresh block (a layer such as ``d2l.Residual(3)``)."""
        raise NotImplementedError

    def trainable_parameter_count(self, block, X_shape: tuple[int, ...]) -> int:
        """How many trainable numbers ``block`` has once a batch of ``X_shape`` has shaped it
        (running statistics of batch norm are not trainable)."""
        raise NotImplementedError

    def scratch_batch_norm(self, num_features: int, num_dims: int, train_batches, X_eval) -> dict:
        """A fresh ``d2l.BatchNorm(num_features, num_dims)`` (the book's scratch layer) called in training
        mode on each of ``train_batches``, then in evaluation mode on ``X_eval``. Returns
        ``train_outputs`` (a list), ``moving_mean``, ``moving_var`` and ``eval_output``."""
        raise NotImplementedError

    def running_statistics(self, model, trainer) -> list[np.ndarray]:
        """Every batch-norm running mean and variance of ``model`` (on JAX: of ``trainer.state``), copied."""
        raise NotImplementedError

    # chapters 8-9 of the 2.0 edition (tests/test_rnn_training.py)
    def grad_clipping(self, grads: list[np.ndarray], theta) -> list[np.ndarray]:
        """``d2l.grad_clipping`` on parameters whose gradients are ``grads``, as the book calls it on this
        framework (on a scratch model's ``params``, or on the gradients themselves); the gradients after it."""
        raise NotImplementedError

    def masked_ce_loss(self, pred, label, valid_len) -> np.ndarray:
        """``d2l.MaskedSoftmaxCELoss`` on ``pred`` (n, T, vocab), ``label`` (n, T), ``valid_len`` (n,), called
        as the book calls it on this framework."""
        return to_numpy(self.d2l.MaskedSoftmaxCELoss()(*self._tensors(pred, label, valid_len)))

    def _tensors(self, *arrays) -> list:
        return [self.d2l.tensor(a) for a in arrays]

    # saving and loading (tests/test_save_load.py), as the builders' guide's "File I/O" does on each framework
    def reloaded_outputs(self, make_model, model, X, folder, trainer=None) -> tuple[np.ndarray, np.ndarray]:
        """``model``'s outputs on ``X`` in evaluation mode, and those of a fresh ``make_model()`` that loaded
        what ``model`` saved into ``folder`` (on JAX the variables come from ``trainer``, or from one
        ``model.apply_init`` when there is none)."""
        raise NotImplementedError

    def load_into(self, make_saved, make_other, X, folder):
        """Save a ``make_saved()`` that has seen ``X``, then load it into a fresh ``make_other()`` and run it."""
        self.reloaded_outputs(make_other, make_saved(), X, folder)

    # chapters 9-10 (tests/test_rnn_concise.py): a concise recurrent layer computed with weights the test chose
    def recurrent_outputs(self, model, inputs: np.ndarray, layers: list[dict], gates: tuple, state=None):
        """``model(inputs, state)`` (a concise ``RNN``, ``GRU`` or ``LSTM``, in evaluation mode) as numpy
        ``(outputs, state)``, once its layer ``l`` holds ``layers[l]``: ``W_x<gate>``, ``W_h<gate>``,
        ``b_x<gate>``, ``b_h<gate>`` for each of ``gates``, named as ``d2lx.rnn.gru_numpy`` names them.
        ``state`` is None, an array, or a tuple of arrays (an LSTM's ``(H, C)``)."""
        raise NotImplementedError

    takes_num_inputs = False  # the book's concise RNNs take ``num_inputs`` first on PyTorch only

    def concise(self, name: str, num_inputs: int, num_hiddens: int, **kwargs):
        """The concise ``d2l.<name>`` (``RNN``, ``GRU``, ``LSTM``) called as the book calls it on this framework:
        ``num_inputs`` goes in only where the constructor takes it (PyTorch); elsewhere the layer learns it from
        its first batch."""
        sizes = {"num_inputs": num_inputs} if self.takes_num_inputs else {}
        return getattr(self.d2l, name)(**sizes, num_hiddens=num_hiddens, **kwargs)

    def book_calls(self, vocab_size: int) -> dict:
        """The concise RNNs as the book's cells construct them on this framework (sections 9.6, 10.1, 10.3, 10.7),
        each under the call's text. Each is 32 hidden units wide; inputs are ``vocab_size`` wide."""
        d2l = self.d2l
        num_hiddens, num_layers, dropout = 32, 2, 0.2
        return {
            "RNN(num_hiddens=32)": d2l.RNN(num_hiddens=32),
            "LSTM(num_hiddens=32)": d2l.LSTM(num_hiddens=32),
            "GRU(num_hiddens=32, num_layers=2)": d2l.GRU(num_hiddens=32, num_layers=2),
            "GRU(num_hiddens, num_layers, dropout)": d2l.GRU(num_hiddens, num_layers, dropout),
        }

    def call_after(self, model, first: np.ndarray, inputs: np.ndarray, state=None):
        """``model(inputs, state)`` once ``model`` has met its first batch ``first`` (its input size is then fixed
        where the layer learns it)."""
        model(self.d2l.tensor(first))
        return model(self.d2l.tensor(inputs), self._state(state))

    def book_gru(self, num_inputs: int, num_hiddens: int):
        """The GRU of section 10.2 as the book's cell defines it on this framework (``class GRU(d2l.RNN)`` setting
        ``self.rnn`` to the framework's layer and keeping ``d2l.RNN``'s ``forward``), made with these sizes."""
        raise NotImplementedError

    def _state(self, state):
        if state is None:
            return None
        return tuple(self.d2l.tensor(s) for s in state) if isinstance(state, tuple) else self.d2l.tensor(state)

    # tests/test_block_numbers.py: a block computed with weights the test chose
    batch_norm_eps = 1e-5  # the epsilon of the framework's batch normalization layer, as the book's blocks use it
    evaluation_mode: dict = {}  # keyword arguments that build a block with batch norm in evaluation mode

    def output_with_weights(self, block, X: np.ndarray, weights: list) -> np.ndarray:
        """``block(X)`` in evaluation mode, once its convolutions, dense layers and batch normalizations, in the
        order its forward pass calls them, hold ``weights``: ``(kernel, bias)`` for a convolution (the kernel as
        ``(out, in / groups, height, width)``) or a dense layer (``(out, in)``), ``(gamma, beta, running_mean,
        running_var)`` for a batch normalization. ``X`` and the output are channels first."""
        raise NotImplementedError


def _paired(layers: list, has_kernel, weights: list) -> list:
    """``zip(layers, weights)``, once each convolution or dense layer (``has_kernel``) has a pair and each batch
    norm four arrays, else an error saying which layer the test's weights do not fit."""
    kinds = ["kernel" if has_kernel(layer) else "norm" for layer in layers]
    wanted = ["kernel" if len(w) == 2 else "norm" for w in weights]
    if kinds != wanted:
        raise AssertionError(f"the forward pass calls {kinds}, the test gives weights for {wanted}")
    return list(zip(layers, weights))


def _assign_in_order(layers: list, has_kernel, weights: list, names: tuple, assign) -> None:
    """``assign(layer, name, value)`` for each array of ``weights``, named by ``names`` (the convolution's or
    dense layer's names, the batch norm's) in the framework's spelling."""
    for layer, values in _paired(layers, has_kernel, weights):
        for name, value in zip(names[len(values) != 2], values):
            assign(layer, name, value)


def _kernel_last(kernel: np.ndarray) -> np.ndarray:
    """A kernel as Flax and Keras hold it: a convolution's ``(out, in / groups, height, width)`` as ``(height,
    width, in / groups, out)``, a dense layer's ``(out, in)`` as ``(in, out)``."""
    return kernel.transpose(2, 3, 1, 0) if kernel.ndim == 4 else kernel.T


def _numpy_pair(result) -> tuple:
    """A recurrent layer's ``(outputs, state)`` as numpy; a tuple state (an LSTM's) stays a tuple."""
    outputs, state = result
    return to_numpy(outputs), tuple(to_numpy(s) for s in state) if isinstance(state, (tuple, list)) else to_numpy(state)


def _stacked(layer: dict, side: str, gates: tuple, transpose: bool) -> tuple[np.ndarray, np.ndarray]:
    """One side (``x`` the inputs, ``h`` the state) of a layer's weights, gates one after another as torch and
    MXNet hold them ((gates * hiddens, inputs), ``transpose``) or Keras ((inputs, gates * hiddens)); the biases."""
    weights = [layer[f"W_{side}{g}"].T if transpose else layer[f"W_{side}{g}"] for g in gates]
    return np.concatenate(weights, axis=0 if transpose else 1), np.concatenate([layer[f"b_{side}{g}"] for g in gates])


class Torch(Adapter):
    backend = "torch"

    def model_outputs(self, model, X, *, training, trainer=None):
        import torch

        model.train(training)
        with torch.no_grad():
            return to_numpy(model(X))

    def xavier(self):
        from torch import nn

        def init_xavier(module):
            if type(module) is nn.Linear:
                nn.init.xavier_uniform_(module.weight)

        return init_xavier

    def parameters(self, model):
        return list(model.parameters())

    def block_output(self, block, X):
        import torch

        block.train()
        with torch.no_grad():
            return to_numpy(block(torch.from_numpy(X)))

    def trainable_parameter_count(self, block, X_shape):
        import torch

        with torch.no_grad():
            block(torch.zeros(X_shape))  # gives the lazy layers their shapes
        return sum(p.numel() for p in block.parameters() if p.requires_grad)

    def scratch_batch_norm(self, num_features, num_dims, train_batches, X_eval):
        import torch

        layer = self.d2l.BatchNorm(num_features, num_dims)
        layer.train()
        train_outputs = [to_numpy(layer(torch.from_numpy(X))) for X in train_batches]
        layer.eval()
        with torch.no_grad():
            eval_output = to_numpy(layer(torch.from_numpy(X_eval)))
        return {
            "train_outputs": train_outputs,
            "moving_mean": to_numpy(layer.moving_mean).reshape(-1),
            "moving_var": to_numpy(layer.moving_var).reshape(-1),
            "eval_output": eval_output,
        }

    def running_statistics(self, model, trainer):
        from torch import nn

        stats = []
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                stats += [module.running_mean, module.running_var]
            elif isinstance(module, self.d2l.BatchNorm):
                stats += [module.moving_mean, module.moving_var]
        return [np.array(to_numpy(s)) for s in stats]

    def grad_clipping(self, grads, theta):
        import torch

        params = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
        for param, g in zip(params, grads):
            param.grad = torch.tensor(g)
        self.d2l.grad_clipping(SimpleNamespace(params=params), theta)  # a scratch model: its params list
        return [to_numpy(p.grad) for p in params]

    def reloaded_outputs(self, make_model, model, X, folder, trainer=None):
        import torch

        before = self.model_outputs(model, X, training=False)  # also gives a fresh model its shapes
        path = os.path.join(folder, "model.params")
        torch.save(model.state_dict(), path)
        clone = make_model()
        clone.load_state_dict(torch.load(path))
        return before, self.model_outputs(clone, X, training=False)

    def output_with_weights(self, block, X, weights):
        import torch
        from torch import nn

        kernels = (nn.Conv2d, nn.Linear)
        kinds = (*kernels, nn.modules.batchnorm._BatchNorm)  # lazy layers included
        called = []
        hooks = [m.register_forward_pre_hook(lambda m, args: called.append(m)) for m in block.modules()
                 if isinstance(m, kinds)]  # fmt: skip
        X = torch.from_numpy(X)
        block.eval()
        with torch.no_grad():
            block(X)  # gives the lazy layers their shapes and tells the order of the calls
            for hook in hooks:
                hook.remove()

            def assign(layer, name, value):
                getattr(layer, name).copy_(torch.from_numpy(value))  # fails on a wrong shape

            names = ("weight", "bias"), ("weight", "bias", "running_mean", "running_var")
            _assign_in_order(called, lambda m: isinstance(m, kernels), weights, names, assign)
            return to_numpy(block(X))

    def recurrent_outputs(self, model, inputs, layers, gates, state=None):
        import torch

        with torch.no_grad():
            for l, layer in enumerate(layers):
                for side, name in (("x", "ih"), ("h", "hh")):
                    weight, bias = _stacked(layer, side, gates, transpose=True)
                    getattr(model.rnn, f"weight_{name}_l{l}").copy_(torch.from_numpy(weight))
                    getattr(model.rnn, f"bias_{name}_l{l}").copy_(torch.from_numpy(bias))
            model.eval()
            return _numpy_pair(model(self.d2l.tensor(inputs), self._state(state)))

    takes_num_inputs = True

    def book_calls(self, vocab_size):
        d2l = self.d2l
        embed_size, num_hiddens, num_layers, dropout = vocab_size - 32, 32, 2, 0.2  # 10.7: embed_size + num_hiddens
        return {
            "RNN(num_inputs=len(data.vocab), num_hiddens=32)": d2l.RNN(num_inputs=vocab_size, num_hiddens=32),
            "LSTM(num_inputs=len(data.vocab), num_hiddens=32)": d2l.LSTM(num_inputs=vocab_size, num_hiddens=32),
            "GRU(num_inputs=len(data.vocab), num_hiddens=32, num_layers=2)": d2l.GRU(
                num_inputs=vocab_size, num_hiddens=32, num_layers=2
            ),
            "GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout)": d2l.GRU(
                embed_size + num_hiddens, num_hiddens, num_layers, dropout
            ),
        }

    def book_gru(self, num_inputs, num_hiddens):
        from torch import nn

        d2l = self.d2l

        class GRU(d2l.RNN):
            def __init__(self, num_inputs, num_hiddens):
                d2l.Module.__init__(self)
                self.save_hyperparameters()
                self.rnn = nn.GRU(num_inputs, num_hiddens)

        return GRU(num_inputs=num_inputs, num_hiddens=num_hiddens)


class MXNet(Adapter):
    backend = "mxnet"

    def model_outputs(self, model, X, *, training, trainer=None):
        from mxnet import autograd

        with autograd.train_mode() if training else autograd.predict_mode():
            return to_numpy(model(X))

    def xavier(self):
        from mxnet import init

        return init.Xavier()

    def parameters(self, model):
        return [p.data() for p in model.collect_params().values()]

    # chapter 8: a fresh Gluon block needs ``initialize()``; training mode is ``autograd.record()``
    def block_output(self, block, X):
        from mxnet import autograd, np

        block.initialize()
        with autograd.record():
            return to_numpy(block(np.array(X)))

    def trainable_parameter_count(self, block, X_shape):
        from mxnet import np

        with warnings.catch_warnings():  # a model initialises itself (the book's): "already initialized"
            warnings.filterwarnings("ignore", message="Parameter .* is already initialized")
            block.initialize()
        block(np.zeros(X_shape))  # gives the deferred parameters their shapes
        return sum(p.data().size for p in block.collect_params().values() if p.grad_req != "null")

    def scratch_batch_norm(self, num_features, num_dims, train_batches, X_eval):
        from mxnet import autograd, np

        layer = self.d2l.BatchNorm(num_features, num_dims)
        layer.initialize()
        outputs = []
        for X in train_batches:
            with autograd.record():
                outputs.append(to_numpy(layer(np.array(X))))
        with autograd.predict_mode():
            eval_output = to_numpy(layer(np.array(X_eval)))
        return {
            "train_outputs": outputs,
            "moving_mean": to_numpy(layer.moving_mean).reshape(-1),
            "moving_var": to_numpy(layer.moving_var).reshape(-1),
            "eval_output": eval_output,
        }

    def running_statistics(self, model, trainer):
        from mxnet.gluon import nn

        statistics = []

        def visit(block):
            if isinstance(block, self.d2l.BatchNorm):  # the book's scratch layer: plain arrays
                statistics.extend([block.moving_mean, block.moving_var])
            elif isinstance(block, nn.BatchNorm):
                statistics.extend([block.running_mean.data(), block.running_var.data()])
            for child in block._children.values():
                visit(child)

        visit(model)
        return [np.array(to_numpy(s)) for s in statistics]

    def grad_clipping(self, grads, theta):
        params = [self.d2l.np.zeros(g.shape) for g in grads]
        for param, g in zip(params, grads):
            param.attach_grad()
            param.grad[:] = self.d2l.np.array(g)
        self.d2l.grad_clipping(SimpleNamespace(params=params), theta)  # a scratch model: its params list
        return [to_numpy(p.grad) for p in params]

    def reloaded_outputs(self, make_model, model, X, folder, trainer=None):
        before = self.model_outputs(model, X, training=False)
        path = os.path.join(folder, "model.params")
        model.save_parameters(path)
        clone = make_model()
        clone.load_parameters(path)
        return before, self.model_outputs(clone, X, training=False)

    def output_with_weights(self, block, X, weights):
        from mxnet import autograd
        from mxnet import np as mnp
        from mxnet.gluon import nn

        block.initialize()
        called, hooks = [], []

        def visit(child):
            if isinstance(child, (nn.Conv2D, nn.Dense, nn.BatchNorm)):
                hooks.append(child.register_forward_pre_hook(lambda layer, args: called.append(layer)))
            for grandchild in child._children.values():
                visit(grandchild)

        visit(block)
        X = mnp.array(X)
        with autograd.predict_mode():
            block(X)  # gives the deferred parameters their shapes and tells the order of the calls
            for hook in hooks:
                hook.detach()

            def assign(layer, name, value):
                parameter = getattr(layer, name)
                assert parameter.shape == value.shape, (layer.name, name, parameter.shape, value.shape)
                parameter.set_data(mnp.array(value))

            names = ("weight", "bias"), ("gamma", "beta", "running_mean", "running_var")
            _assign_in_order(called, lambda m: isinstance(m, (nn.Conv2D, nn.Dense)), weights, names, assign)
            return to_numpy(block(X))

    def recurrent_outputs(self, model, inputs, layers, gates, state=None):
        from mxnet import np as mnp

        model.initialize_missing()  # a book cell's ``rnn.GRU(num_hiddens)`` learns its input size from a batch
        model(self.d2l.tensor(inputs))
        stack = getattr(model.rnn, "stack", None)  # d2lx's layers: one-layer Gluon layers, each its own ``l0``
        for l, layer in enumerate(layers):
            params = (model.rnn if stack is None else stack[l]).collect_params().items()
            for side, name in (("x", "i2h"), ("h", "h2h")):
                weight, bias = _stacked(layer, side, gates, transpose=True)
                for kind, value in (("weight", weight), ("bias", bias)):
                    suffix = f"l{l if stack is None else 0}_{name}_{kind}"
                    (param,) = [p for key, p in params if key.endswith(suffix)]
                    assert param.shape == value.shape
                    param.set_data(mnp.array(value))
        return _numpy_pair(model(self.d2l.tensor(inputs), self._state(state)))

    def call_after(self, model, first, inputs, state=None):
        model.initialize_missing()
        return super().call_after(model, first, inputs, state)

    def book_gru(self, num_inputs, num_hiddens):
        from mxnet.gluon import rnn

        d2l = self.d2l

        class GRU(d2l.RNN):
            def __init__(self, num_inputs, num_hiddens):
                d2l.Module.__init__(self)
                self.save_hyperparameters()
                self.rnn = rnn.GRU(num_hiddens)

        return GRU(num_inputs=num_inputs, num_hiddens=num_hiddens)


class JAX(Adapter):
    """The parameters live outside the model: in the trainer's state, or drawn by ``model.apply_init``."""

    backend = "jax"

    def outputs_in_modes(self, model, X, modes):
        """The parameters drawn once (``model_outputs`` alone draws them at each call)."""
        params = model.apply_init((X,), self.d2l.get_key())["params"]
        trainer = SimpleNamespace(state=SimpleNamespace(params=params, batch_stats={}))
        return [self.model_outputs(model, X, training=training, trainer=trainer) for training in modes]

    def model_outputs(self, model, X, *, training, trainer=None):
        d2l = self.d2l
        if trainer is not None:  # the batch-norm statistics are trainer state too
            variables = {"params": trainer.state.params, "batch_stats": trainer.state.batch_stats}
        else:
            variables = dict(model.apply_init((X,), d2l.get_key()))
        variables = {name: tree for name, tree in variables.items() if name == "params" or tree}
        model.training = training  # a field of the model
        rngs = {"dropout": d2l.get_key()}
        if training and "batch_stats" in variables:  # batch norm on this batch's statistics (updates dropped)
            return to_numpy(model.apply(variables, X, rngs=rngs, mutable=["batch_stats"])[0])
        return to_numpy(model.apply(variables, X, rngs=rngs))

    @staticmethod
    def _channels_last(X):
        return X.transpose(0, 2, 3, 1) if X.ndim == 4 else X

    @staticmethod
    def _channels_first(Y):
        Y = np.asarray(Y)
        return Y.transpose(0, 3, 1, 2) if Y.ndim == 4 else Y

    def block_output(self, block, X):
        Y, _ = block.init_with_output(self.d2l.get_key(), self._channels_last(X))  # init runs in training mode
        return self._channels_first(Y)

    def trainable_parameter_count(self, block, X_shape):
        import jax

        n, c, h, w = X_shape
        X = jax.ShapeDtypeStruct((n, h, w, c), np.float32)
        params = jax.eval_shape(block.init, jax.random.key(0), X)["params"]
        return sum(int(np.prod(p.shape)) for p in jax.tree_util.tree_leaves(params))

    def scratch_batch_norm(self, num_features, num_dims, train_batches, X_eval):
        layer = self.d2l.BatchNorm(num_features, num_dims)
        variables = layer.init(self.d2l.get_key(), self._channels_last(train_batches[0]))
        outputs = []
        for X in train_batches:
            Y, updates = layer.apply(variables, self._channels_last(X), mutable=["batch_stats"])
            variables = {**variables, **updates}
            outputs.append(self._channels_first(Y))
        evaluated = layer.clone(deterministic=True).apply(variables, self._channels_last(X_eval))
        stats = variables["batch_stats"]
        return {
            "train_outputs": outputs,
            "moving_mean": np.asarray(stats["moving_mean"]).reshape(-1),
            "moving_var": np.asarray(stats["moving_var"]).reshape(-1),
            "eval_output": self._channels_first(evaluated),
        }

    def running_statistics(self, model, trainer):
        import jax

        return [np.array(leaf) for leaf in jax.tree_util.tree_leaves(trainer.state.batch_stats)]

    def scratch_parameters(self, model, names, X):
        params = model.apply_init((X,), self.d2l.get_key())["params"]
        return [to_numpy(params[name]) for name in names]

    def xavier(self):
        from flax import linen as nn

        return nn.initializers.xavier_uniform()

    def call_scratch(self, model, *args):
        return model.apply(model.apply_init(args[:1], self.d2l.get_key()), *args)

    def predict(self, model, prefix, num_preds, vocab, trainer=None):
        if trainer is not None:
            return model.predict(prefix, num_preds, vocab, trainer.state.params)
        params = model.apply_init((np.zeros((1, 1), np.int32),), self.d2l.get_key())["params"]
        return model.predict(prefix, num_preds, vocab, params)

    def weights_after_apply_init(self, model, X, init=None):
        import jax

        params = model.apply_init((X,), self.d2l.get_key(), init=init)["params"]
        return [to_numpy(p) for p in jax.tree_util.tree_leaves(params) if p.ndim == 2]

    def grad_clipping(self, grads, theta):
        tree = {f"p{i}": self.d2l.jnp.asarray(g) for i, g in enumerate(grads)}  # any pytree of gradients
        clipped = self.d2l.grad_clipping(tree, theta)
        return [to_numpy(clipped[f"p{i}"]) for i in range(len(grads))]

    def reloaded_outputs(self, make_model, model, X, folder, trainer=None):
        from flax.training import checkpoints

        if trainer is not None:
            variables = {"params": trainer.state.params, "batch_stats": trainer.state.batch_stats}
        else:
            variables = dict(model.apply_init((X,), self.d2l.get_key()))
        variables = {name: tree for name, tree in variables.items() if name == "params" or tree}
        before = to_numpy(self._evaluating(model).apply(variables, X))
        path = os.path.abspath(os.path.join(folder, "ckpt_dir"))  # Orbax takes absolute paths only
        checkpoints.save_checkpoint(path, variables, step=1, overwrite=True)
        restored = checkpoints.restore_checkpoint(path, target=None)
        return before, to_numpy(self._evaluating(make_model()).apply(restored, X))

    @staticmethod
    def _evaluating(model):
        """``model`` in evaluation mode (a copy with ``training=False``; LeNet has no such field)."""
        import dataclasses

        return model.clone(training=False) if "training" in {f.name for f in dataclasses.fields(model)} else model

    evaluation_mode = {"training": False}  # batch norm on the running statistics

    def output_with_weights(self, block, X, weights):
        import jax
        from flax import linen as nn
        from flax import traverse_util

        X = self._channels_last(X)
        shapes = jax.eval_shape(block.init, jax.random.key(0), X)  # traced only: every number is given below
        called = []

        def record(call, args, kwargs, context):
            if context.method_name == "__call__" and isinstance(context.module, (nn.Conv, nn.Dense, nn.BatchNorm)):
                called.append(context.module.path)
            return call(*args, **kwargs)

        with nn.intercept_methods(record):
            jax.eval_shape(block.apply, shapes, X)
        chosen = {name: traverse_util.flatten_dict(tree) for name, tree in shapes.items()}
        has_kernel = lambda path: (*path, "kernel") in chosen["params"]  # noqa: E731
        for path, values in _paired(called, has_kernel, weights):
            if len(values) == 2:
                kernel, bias = values
                values = (_kernel_last(kernel), bias)
                places = (("params", "kernel"), ("params", "bias"))
            else:
                places = (("params", "scale"), ("params", "bias"), ("batch_stats", "mean"), ("batch_stats", "var"))
            for (collection, name), value in zip(places, values):
                old = chosen[collection][(*path, name)]
                assert old.shape == value.shape, (path, name, old.shape, value.shape)
                chosen[collection][(*path, name)] = value
        left = [key for tree in chosen.values() for key, value in tree.items() if not isinstance(value, np.ndarray)]
        assert not left, f"no weights given for {left}"
        variables = {name: traverse_util.unflatten_dict(tree) for name, tree in chosen.items()}
        return self._channels_first(jax.jit(block.apply)(variables, X))  # one compilation, not one per operation

    def recurrent_outputs(self, model, inputs, layers, gates, state=None):
        """Flax's cells name their dense maps ``<side><gate>`` (``ir``, ``hn``; ``i``, ``h`` in ``SimpleCell``) and give
        some no bias: a gate's two biases go to the one side that has one, or each to its own."""
        import jax

        X = self.d2l.tensor(inputs)
        params = jax.tree_util.tree_map(np.asarray, model.init(jax.random.PRNGKey(0), X)["params"])
        for l, layer in enumerate(layers):
            # d2lx's layers are ``nn.RNN``s; a book cell's one ``nn.scan`` of a cell holds the cell's own names
            cell = params[f"layers_{l}"]["cell"] if f"layers_{l}" in params else next(iter(params.values()))
            for gate in gates:
                names = [name for name in cell if name[1:] in (gate, "")]
                for name in names:
                    side = name[0].replace("i", "x")
                    assert cell[name]["kernel"].shape == layer[f"W_{side}{gate}"].shape
                    cell[name]["kernel"] = layer[f"W_{side}{gate}"]
                    if "bias" in cell[name]:
                        together = sum(1 for other in names if "bias" in cell[other]) == 1
                        cell[name]["bias"] = (
                            layer[f"b_x{gate}"] + layer[f"b_h{gate}"] if together else layer[f"b_{side}{gate}"]
                        )
        return _numpy_pair(model.apply({"params": params}, X, self._state(state)))

    def call_after(self, model, first, inputs, state=None):
        import jax

        variables = model.init(jax.random.PRNGKey(0), self.d2l.tensor(first))
        return model.apply(variables, self.d2l.tensor(inputs), self._state(state))

    def book_calls(self, vocab_size):
        """The book's calls, and its section 10.3 cell ``class GRU(d2l.RNN)`` with the fields ``num_hiddens``,
        ``num_layers`` and ``dropout = 0`` after ``d2l.RNN``'s (Flax's current cell API, notebooks/README.md)."""
        import jax
        from flax import linen as nn
        from jax import numpy as jnp

        d2l = self.d2l

        class GRU(d2l.RNN):
            num_hiddens: int
            num_layers: int
            dropout: float = 0

            @nn.compact
            def __call__(self, X, state=None, training=False):
                outputs, new_state = X, []
                if state is None:
                    carry = nn.GRUCell(features=self.num_hiddens).initialize_carry(
                        jax.random.PRNGKey(0), (X.shape[1], self.num_hiddens)
                    )
                    state = [carry] * self.num_layers
                GRU = nn.scan(
                    nn.GRUCell, variable_broadcast="params", in_axes=0, out_axes=0, split_rngs={"params": False}
                )
                for i in range(self.num_layers):
                    layer_state, outputs = GRU(features=self.num_hiddens)(state[i], outputs)
                    new_state.append(layer_state)
                    if i < self.num_layers - 1:
                        outputs = nn.Dropout(self.dropout, deterministic=not training)(outputs)
                return outputs, jnp.array(new_state)

        return {**super().book_calls(vocab_size), "class GRU(d2l.RNN) (10.3)": GRU(num_hiddens=32, num_layers=2)}

    def book_gru(self, num_inputs, num_hiddens):
        """The book's cell with Flax's current cell API (notebooks/README.md, the drift table); its outputs and
        state are the book's: (num_steps, batch_size, num_hiddens) and (batch_size, num_hiddens)."""
        import jax
        from flax import linen as nn

        d2l = self.d2l

        class GRU(d2l.RNN):
            num_hiddens: int

            @nn.compact
            def __call__(self, inputs, H=None, training=False):
                if H is None:
                    batch_size = inputs.shape[1]
                    H = nn.GRUCell(features=self.num_hiddens).initialize_carry(
                        jax.random.PRNGKey(0), (batch_size, self.num_hiddens)
                    )
                GRU = nn.scan(
                    nn.GRUCell, variable_broadcast="params", in_axes=0, out_axes=0, split_rngs={"params": False}
                )
                H, outputs = GRU(features=self.num_hiddens)(H, inputs)
                return outputs, H

        return GRU(num_hiddens=num_hiddens)  # the JAX book's cell has no num_inputs


class TensorFlow(Adapter):
    backend = "tensorflow"

    def model_outputs(self, model, X, *, training, trainer=None):
        return to_numpy(model(X, training=training))

    def xavier(self):
        import tensorflow as tf

        return tf.keras.initializers.GlorotUniform()

    def parameters(self, model):
        return model.trainable_variables

    # Keras keeps images channels last (n, h, w, c): the shared tests' channels-first arrays are
    # transposed on the way in and out.
    @staticmethod
    def _nhwc(X):
        X = np.asarray(X)
        return X.transpose(0, 2, 3, 1) if X.ndim == 4 else X

    @staticmethod
    def _nchw(X):
        X = np.asarray(to_numpy(X))
        return X.transpose(0, 3, 1, 2) if X.ndim == 4 else X

    def block_output(self, block, X):
        return self._nchw(block(self.d2l.tensor(self._nhwc(X)), training=True))

    def trainable_parameter_count(self, block, X_shape):
        n, c, h, w = X_shape
        block(self.d2l.zeros((n, h, w, c)), training=True)
        return sum(int(np.prod(v.shape)) for v in block.trainable_variables)

    def scratch_batch_norm(self, num_features, num_dims, train_batches, X_eval):
        layer = self.d2l.BatchNorm()  # the book's TensorFlow layer takes its size from the first batch
        outputs = [self._nchw(layer(self.d2l.tensor(self._nhwc(X)), training=True)) for X in train_batches]
        assert layer.moving_mean.shape == (num_features,)
        return {
            "train_outputs": outputs,
            "moving_mean": layer.moving_mean.numpy().copy(),
            "moving_var": layer.moving_variance.numpy().copy(),
            "eval_output": self._nchw(layer(self.d2l.tensor(self._nhwc(X_eval)), training=False)),
        }

    def running_statistics(self, model, trainer):
        names = ("moving_mean", "moving_variance")  # Keras's BatchNormalization and the book's BatchNorm
        return [v.numpy().copy() for v in model.non_trainable_variables if v.name in names]

    def grad_clipping(self, grads, theta):
        return [to_numpy(g) for g in self.d2l.grad_clipping([self.d2l.tensor(g) for g in grads], theta)]

    def masked_ce_loss(self, pred, label, valid_len):
        pred, label, valid_len = self._tensors(pred, label, valid_len)
        return to_numpy(self.d2l.MaskedSoftmaxCELoss(valid_len)(label, pred))  # the book's TF signature

    def reloaded_outputs(self, make_model, model, X, folder, trainer=None):
        before = self.model_outputs(model, X, training=False)
        path = os.path.join(folder, "model.weights.h5")  # Keras 3 wants this suffix
        model.save_weights(path)
        clone = make_model()
        clone(X, training=False)  # Keras loads weights only into a model that has built its layers
        clone.load_weights(path)
        return before, self.model_outputs(clone, X, training=False)

    batch_norm_eps = 1e-3  # Keras's BatchNormalization default, which the book's TensorFlow blocks keep

    def output_with_weights(self, block, X, weights):
        import tensorflow as tf

        kernels = (tf.keras.layers.Conv2D, tf.keras.layers.Dense)
        kinds = (*kernels, tf.keras.layers.BatchNormalization)
        X = self.d2l.tensor(self._nhwc(X))
        block(X, training=False)  # builds the layers
        called = []
        layer_call = tf.keras.layers.Layer.__call__

        def recording(layer, *args, **kwargs):
            if isinstance(layer, kinds):
                called.append(layer)
            return layer_call(layer, *args, **kwargs)

        tf.keras.layers.Layer.__call__ = recording  # Keras has no call hooks: this pass only
        try:
            block(X, training=False)
        finally:
            tf.keras.layers.Layer.__call__ = layer_call
        for layer, values in _paired(called, lambda m: isinstance(m, kernels), weights):
            if len(values) == 2:
                values = (_kernel_last(values[0]), values[1])
            layer.set_weights(list(values))  # fails on a wrong shape
        return self._nchw(block(X, training=False))

    def recurrent_outputs(self, model, inputs, layers, gates, state=None):
        """Keras holds a GRU's gates in the order z, r, n and both its biases in one (2, 3 * hiddens) array; an
        LSTM's and a SimpleRNN's bias is the sum of the two."""
        X = self.d2l.tensor(inputs)
        model(X)  # builds the layers
        keras_gates = ("z", "r", "n") if gates == ("r", "z", "n") else gates
        for layer, weights in zip(getattr(model.rnn, "stack", [model.rnn]), layers, strict=True):
            kernel, bias_x = _stacked(weights, "x", keras_gates, transpose=False)
            recurrent, bias_h = _stacked(weights, "h", keras_gates, transpose=False)
            bias = np.stack([bias_x, bias_h]) if gates == ("r", "z", "n") else bias_x + bias_h
            layer.set_weights([kernel, recurrent, bias])  # fails on a wrong shape
        return _numpy_pair(model(X, self._state(state), training=False))

    def book_gru(self, num_inputs, num_hiddens):
        import tensorflow as tf

        d2l = self.d2l

        class GRU(d2l.RNN):
            def __init__(self, num_inputs, num_hiddens):
                d2l.Module.__init__(self)
                self.save_hyperparameters()
                self.rnn = tf.keras.layers.GRU(num_hiddens, return_sequences=True, return_state=True)

        return GRU(num_inputs=num_inputs, num_hiddens=num_hiddens)


ADAPTERS = per_backend(Torch, MXNet, JAX, TensorFlow)


def adapter(d2l) -> Adapter:
    """The adapter of ``d2l`` (the imported ``d2lx.<name>`` module), bound to it."""
    return ADAPTERS[backend_name(d2l)](d2l)
