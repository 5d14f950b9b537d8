"""JAX only: the explicit random keys and seeds of the book's JAX cells."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
d2l = pytest.importorskip("d2lx.jax")


def test_get_seed_is_the_seed_of_set_seed(monkeypatch):
    """The book's cells write ``jax.random.PRNGKey(d2l.get_seed())`` (sections 4.4, 5.4, 6.2, 6.3, 6.6)."""
    from d2lx.jax import ops

    monkeypatch.setattr(ops, "_seed", None)  # as in a fresh process: d2l 1.0's random int
    unseeded = d2l.get_seed()
    assert type(unseeded) is int and 0 <= unseeded <= 10**6
    d2l.set_seed(42)
    assert d2l.get_seed() == 42 and d2l.get_seed() == 42
    key = jax.random.PRNGKey(d2l.get_seed())
    assert bool((jax.random.uniform(key, (3,)) == jax.random.uniform(jax.random.PRNGKey(42), (3,))).all())


def test_the_books_weight_decay_cell_runs_with_the_renamed_optax_function():
    """Section 3.7's concise JAX cell calls ``optax.additive_weight_decay``, which Optax removed in favour
    of ``add_decayed_weights`` (the same function): importing the backend restores the old name."""
    optax = pytest.importorskip("optax")
    from d2lx import renamed

    assert optax.additive_weight_decay is optax.add_decayed_weights or "optax.additive_weight_decay" not in [
        f"{r.module}.{r.old}" for r in renamed.RENAMED
    ]

    class WeightDecay(d2l.LinearRegression):  # the book's cell, unchanged
        wd: int = 0

        def configure_optimizers(self):
            # Weight Decay is not available directly within optax.sgd, but
            # optax allows chaining several transformations together
            return optax.chain(optax.additive_weight_decay(self.wd), optax.sgd(self.lr))

    def l2_penalty(w):
        return (w**2).sum() / 2

    norms = {}
    for wd in (0, 3):
        d2l.set_seed(0)
        data = d2l.Data(num_train=20, num_val=100, num_inputs=200, batch_size=5)
        trainer = d2l.Trainer(max_epochs=10, progress_bar=False)
        model = WeightDecay(wd=wd, lr=0.01)
        model.board.yscale = "log"
        trainer.fit(model, data)
        norms[wd] = float(l2_penalty(model.get_w_b(trainer.state)[0]))
    assert norms[3] < 0.5 * norms[0], norms


def test_renamed_aliases_can_be_turned_off():
    import subprocess
    import sys

    code = "import optax; had = hasattr(optax, 'additive_weight_decay'); import d2lx.jax, optax; "
    code += "print(had, hasattr(optax, 'additive_weight_decay'))"
    for value, expected in (("0", "False False"), ("1", "False True")):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**__import__("os").environ, "D2LX_RENAMED_ALIASES": value},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert " ".join(out[-2:]) == expected, (value, out)


@pytest.mark.parametrize("given", ["", "--xla_backend_optimization_level=0"])
@pytest.mark.parametrize("threads", [1, 2])
def test_xla_takes_the_thread_caps_flags(threads, given):
    """The ``XLA_FLAGS`` that ``thread_caps`` writes for notebook kernels and test workers: XLA dies at its
    first computation on a flag it does not know, or on a value whose first word lacks ``--``."""
    import os
    import subprocess
    import sys

    from d2lx import backends

    env = {**os.environ, "XLA_FLAGS": given} if given else {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(backends.thread_caps(threads, environ=env))
    assert all(word.startswith("--") for word in env["XLA_FLAGS"].split()), env["XLA_FLAGS"]
    code = "import jax.numpy as jnp; print(float((jnp.arange(4.0) * 2).sum()))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.split()[-1:]) == (0, ["12.0"]), done.stderr[-2000:]


# ---- chapter 8: batch normalization's statistics are trainer state ----------------------------------
def _leaves(tree) -> list:
    import numpy as np

    return [np.array(leaf) for leaf in jax.tree_util.tree_leaves(tree)]


def _train_state(model, X):
    """The ``TrainState`` the trainer makes for ``model`` from the batch ``X``."""
    import optax

    from d2lx.jax.trainer import TrainState

    params_key, dropout_key = jax.random.split(d2l.get_key())
    variables = model.apply_init((X,), key={"params": params_key, "dropout": dropout_key})
    return TrainState.create(apply_fn=model.apply, params=variables["params"], batch_stats=variables["batch_stats"],
                             dropout_rng=dropout_key, tx=optax.sgd(0.1))  # fmt: skip


@pytest.mark.parametrize("name", ["BNLeNetScratch", "BNLeNet"])
def test_loss_returns_the_batch_statistics_the_batch_moved(name):
    """``loss(params, X, Y, state)`` is ``(loss, updates)`` as in the book: in training mode ``updates``
    holds every running statistic moved by the batch; with ``training=False`` they come back unchanged."""
    import numpy as np
    from jax import numpy as jnp

    d2l.set_seed(0)
    X = jax.random.normal(d2l.get_key(), (8, 28, 28, 1))
    y = jnp.arange(8) % 10
    model = getattr(d2l, name)(lr=0.1)
    state = _train_state(model, X)
    initial = _leaves(state.batch_stats)
    assert all(np.allclose(s, 0) or np.allclose(s, 1) for s in initial)  # init leaves them alone
    loss, updates = model.loss(state.params, (X,), y, state)
    assert loss.shape == () and bool(jnp.isfinite(loss))
    assert set(updates) == {"batch_stats"}
    assert all(not np.allclose(a, b) for a, b in zip(_leaves(updates["batch_stats"]), initial))
    per_example, _ = model.loss(state.params, (X,), y, state, averaged=False)
    assert per_example.shape == (8,)
    model.training = False
    _, unchanged = model.loss(state.params, (X,), y, state)
    assert all(np.array_equal(a, b) for a, b in zip(_leaves(unchanged["batch_stats"]), initial))


def _fit_bn_lenet(val_batches: int, **more):
    d2l.set_seed(0)
    data = d2l.FashionMNIST(batch_size=32)
    model = d2l.BNLeNet(lr=0.1)
    trainer = d2l.Trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=val_batches, progress_bar=False)
    trainer.fit(model, data, **more)
    return model, data, trainer


def test_validation_leaves_the_trainers_batch_statistics():
    """The training steps store the moved statistics in ``trainer.state``; validation (``training=False``)
    reads them and stores nothing: with or without 3 validation batches the state ends the same."""
    import numpy as np

    _, _, trained = _fit_bn_lenet(0)
    model, _, validated = _fit_bn_lenet(3)
    assert len(model.board.data["val_loss"]) == 1 and model.training is False
    for a, b in zip(_leaves(trained.state.batch_stats), _leaves(validated.state.batch_stats)):
        np.testing.assert_array_equal(a, b)
    assert not all(np.allclose(s, 0) or np.allclose(s, 1) for s in _leaves(trained.state.batch_stats))


def test_a_model_fitted_again_goes_on_from_its_last_fit():
    """As on the frameworks whose models hold their parameters, a second ``fit`` (here a new trainer that
    only validates) starts from the first's parameters and statistics; ``fit(..., key=...)`` starts afresh."""
    import numpy as np

    model, data, first = _fit_bn_lenet(0)
    again = d2l.Trainer(max_epochs=1, limit_train_batches=0, limit_val_batches=1, progress_bar=False)
    again.fit(model, data)
    for a, b in zip(_leaves((first.state.params, first.state.batch_stats)),
                    _leaves((again.state.params, again.state.batch_stats))):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    afresh = d2l.Trainer(max_epochs=1, limit_train_batches=0, limit_val_batches=1, progress_bar=False)
    afresh.fit(model, data, key=1)
    assert not all(np.array_equal(a, b) for a, b in zip(_leaves(first.state.params), _leaves(afresh.state.params)))
    assert all(np.allclose(s, 0) or np.allclose(s, 1) for s in _leaves(afresh.state.batch_stats))


def test_the_books_bn_lenet_scratch_cells_train(monkeypatch):
    """Section 8.5's JAX cells as the book writes them (its scratch ``batch_norm`` with the channels-first
    axes, its ``BatchNorm`` and ``BNLeNetScratch``, and its jitted ``Classifier.loss``) train with d2lx's
    trainer, and the statistics they move are in ``trainer.state.batch_stats``."""
    from functools import partial

    import numpy as np
    import optax
    from flax import linen as nn
    from jax import numpy as jnp

    monkeypatch.setattr(d2l.Classifier, "loss", d2l.Classifier.loss)  # the cell below replaces it

    def batch_norm(X, deterministic, gamma, beta, moving_mean, moving_var, eps, momentum):
        if deterministic:
            X_hat = (X - moving_mean.value) / jnp.sqrt(moving_var.value + eps)
        else:
            assert len(X.shape) in (2, 4)
            if len(X.shape) == 2:
                mean = X.mean(axis=0)
                var = ((X - mean) ** 2).mean(axis=0)
            else:
                mean = X.mean(axis=(0, 2, 3), keepdims=True)
                var = ((X - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
            X_hat = (X - mean) / jnp.sqrt(var + eps)
            moving_mean.value = momentum * moving_mean.value + (1.0 - momentum) * mean
            moving_var.value = momentum * moving_var.value + (1.0 - momentum) * var
        Y = gamma * X_hat + beta
        return Y

    class BatchNorm(nn.Module):
        num_features: int
        num_dims: int
        deterministic: bool = False

        @nn.compact
        def __call__(self, X):
            if self.num_dims == 2:
                shape = (1, self.num_features)
            else:
                shape = (1, 1, 1, self.num_features)
            gamma = self.param("gamma", jax.nn.initializers.ones, shape)
            beta = self.param("beta", jax.nn.initializers.zeros, shape)
            moving_mean = self.variable("batch_stats", "moving_mean", jnp.zeros, shape)
            moving_var = self.variable("batch_stats", "moving_var", jnp.ones, shape)
            Y = batch_norm(X, self.deterministic, gamma, beta, moving_mean, moving_var, eps=1e-5, momentum=0.9)
            return Y

    class BNLeNetScratch(d2l.Classifier):
        lr: float = 0.1
        num_classes: int = 10
        training: bool = True

        def setup(self):
            self.net = nn.Sequential([
                nn.Conv(6, kernel_size=(5, 5)),
                BatchNorm(6, num_dims=4, deterministic=not self.training),
                nn.sigmoid,
                lambda x: nn.avg_pool(x, window_shape=(2, 2), strides=(2, 2)),
                nn.Conv(16, kernel_size=(5, 5)),
                BatchNorm(16, num_dims=4, deterministic=not self.training),
                nn.sigmoid,
                lambda x: nn.avg_pool(x, window_shape=(2, 2), strides=(2, 2)),
                lambda x: x.reshape((x.shape[0], -1)),
                nn.Dense(120),
                BatchNorm(120, num_dims=2, deterministic=not self.training),
                nn.sigmoid,
                nn.Dense(84),
                BatchNorm(84, num_dims=2, deterministic=not self.training),
                nn.sigmoid,
                nn.Dense(self.num_classes)])  # fmt: skip

    @d2l.add_to_class(d2l.Classifier)
    @partial(jax.jit, static_argnums=(0, 5))
    def loss(self, params, X, Y, state, averaged=True):
        Y_hat, updates = state.apply_fn({"params": params, "batch_stats": state.batch_stats},
                                        *X, mutable=["batch_stats"], rngs={"dropout": state.dropout_rng})  # fmt: skip
        Y_hat = d2l.reshape(Y_hat, (-1, Y_hat.shape[-1]))
        Y = d2l.reshape(Y, (-1,))
        fn = optax.softmax_cross_entropy_with_integer_labels
        return (fn(Y_hat, Y).mean(), updates) if averaged else (fn(Y_hat, Y), updates)

    d2l.set_seed(0)
    trainer = d2l.Trainer(max_epochs=1, limit_train_batches=3, limit_val_batches=2, progress_bar=False)
    model = BNLeNetScratch(lr=0.1)
    trainer.fit(model, d2l.FashionMNIST(batch_size=32))
    assert np.isfinite([p.y for p in model.board.data["train_loss"] + model.board.data["val_loss"]]).all()
    stats = trainer.state.batch_stats["net"]
    assert not np.allclose(stats["layers_10"]["moving_mean"], 0)  # moved by the training batches
    # the book's axes (0, 2, 3) of an NHWC batch keep one statistic per row of the 28x28 image
    assert stats["layers_1"]["moving_mean"].shape == (1, 28, 1, 6)
    gamma = trainer.state.params["net"]["layers_1"]["gamma"].reshape((-1,))
    assert gamma.shape == (6,)


def test_scratch_batch_norm_takes_one_statistic_per_channel_of_an_nhwc_batch():
    """``d2l.batch_norm`` keeps the book's JAX signature (Flax variables, updated in place while training)
    but averages over axes (0, 1, 2) of an NHWC batch, where the book's cell uses (0, 2, 3)."""
    from types import SimpleNamespace

    import numpy as np
    from jax import numpy as jnp

    rng = np.random.default_rng(0)
    X = (rng.standard_normal((4, 5, 6, 3)) * [1.0, 4.0, 0.5] + [0.0, -2.0, 3.0]).astype(np.float32)
    mean = SimpleNamespace(value=jnp.zeros((1, 1, 1, 3)))
    var = SimpleNamespace(value=jnp.ones((1, 1, 1, 3)))
    gamma, beta = jnp.ones((1, 1, 1, 3)), jnp.zeros((1, 1, 1, 3))
    Y = d2l.batch_norm(jnp.asarray(X), False, gamma, beta, mean, var, eps=1e-5, momentum=0.9)
    np.testing.assert_allclose(np.asarray(Y).mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(Y).std(axis=(0, 1, 2)), 1, atol=1e-3)
    np.testing.assert_allclose(np.asarray(mean.value).reshape(-1), 0.1 * X.mean(axis=(0, 1, 2)), atol=1e-5)
    np.testing.assert_allclose(np.asarray(var.value).reshape(-1), 0.9 + 0.1 * X.var(axis=(0, 1, 2)), atol=1e-4)
    with pytest.raises(TypeError, match=r"batch_norm: moving_mean must be a Flax variable"):
        d2l.batch_norm(jnp.asarray(X), False, gamma, beta, jnp.zeros((1, 1, 1, 3)), var, 1e-5, 0.9)
    with pytest.raises(ValueError, match=r"BatchNorm\(num_features=4, num_dims=4\) got X of shape \(4, 5, 6, 3\)"):
        d2l.BatchNorm(4, 4).init(d2l.get_key(), jnp.asarray(X))


def test_googlenet_blocks_can_be_replaced_as_the_book_does(monkeypatch, capsys):
    """``setup`` calls ``b1``-``b5``, so a cell with ``@d2l.add_to_class(d2l.GoogleNet)`` changes the network."""
    from flax import linen as nn

    monkeypatch.setattr(d2l.GoogleNet, "b2", d2l.GoogleNet.b2)

    @d2l.add_to_class(d2l.GoogleNet)
    def b2(self):
        return nn.Sequential([nn.Conv(192, kernel_size=(1, 1)), nn.relu])  # no pooling: stays 24x24

    d2l.GoogleNet().layer_summary((1, 96, 96, 1), key=d2l.get_key())
    shapes = [line.split("\t")[-1].strip() for line in capsys.readouterr().out.splitlines()]
    assert shapes[:3] == ["(1, 24, 24, 64)", "(1, 24, 24, 192)", "(1, 12, 12, 480)"]


def test_layer_summary_works_in_training_mode_and_computes_only_shapes(capsys):
    """The book summarises its dropout models with ``training=False``; d2lx's summary also runs a model in
    training mode (dropout draws from the key), and traces shapes without compiling (AlexNet at 224: well
    under a second here, where running the layers op by op took half a minute)."""
    import time

    start = time.perf_counter()
    d2l.AlexNet().layer_summary((1, 224, 224, 1), key=d2l.get_key())
    assert time.perf_counter() - start < 10
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Conv output shape:\t (1, 54, 54, 96)" and lines[-1] == "Dense output shape:\t (1, 10)"


def test_apply_init_compiles_init_in_one_piece_and_makes_flaxs_values():
    """``apply_init`` traces ``init`` into one program (a chapter 8 network's op-by-op init took a minute
    on two cores); the values are Flax's own, to float32 rounding."""
    import numpy as np

    from d2lx.jax import module

    model = d2l.ResNet(arch=((1, 64), (1, 8)), lr=0.1)
    X = jax.numpy.ones((2, 32, 32, 1))
    keys = {"params": jax.random.key(1), "dropout": jax.random.key(2)}
    compiled, traced = module.jax.jit, []
    with pytest.MonkeyPatch.context() as patch:  # record that the one-program path ran
        patch.setattr(module.jax, "jit", lambda f, **kw: traced.append(f) or compiled(f, **kw))
        variables = model.apply_init((X,), key=keys)
    assert len(traced) == 1
    reference = model.init(keys, X)
    pairs = zip(jax.tree_util.tree_leaves(variables), jax.tree_util.tree_leaves(reference), strict=True)
    for got, want in pairs:
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-7)


def test_a_model_that_branches_on_its_inputs_values_is_initialised_op_by_op():
    """Such a forward pass cannot be traced: ``apply_init`` falls back to Flax's ``init`` and the seeded
    stream is drawn once, as if nothing had been tried first."""
    import numpy as np

    from d2lx.jax.models import normal_init
    from d2lx.utils import seeded_normal

    class Branches(d2l.Classifier):
        lr: float = 0.1

        def setup(self):
            self.W = self.param("W", normal_init(0.5), (3, 2))

        def forward(self, X):
            return X @ self.W if float(X.sum()) > 0 else -(X @ self.W)  # a Python branch on a value

    d2l.set_seed(5)
    variables = Branches().apply_init((jax.numpy.ones((4, 3)),), key=jax.random.key(0))
    d2l.set_seed(5)
    np.testing.assert_array_equal(np.asarray(variables["params"]["W"]), seeded_normal((3, 2), 0.5))


@pytest.mark.parametrize("groups", [2, 5, 12])
def test_grouped_convolution_on_the_cpu_gives_xlas_values_and_gradients(groups):
    """ResNeXtBlock's grouped 3x3 convolution runs as ordinary convolutions on the CPU (10-25x faster
    there): a block-diagonal kernel up to 8 groups, one convolution per group above. Both give what
    XLA's grouped convolution gives, forward and backward, with the same kernel."""
    from jax import lax
    from jax import numpy as jnp

    from d2lx.jax.modern_cnn import grouped_conv_general_dilated

    if jax.default_backend() != "cpu":  # elsewhere the function is XLA's grouped convolution itself
        pytest.skip(f"the CPU path of the grouped convolution: JAX runs on {jax.default_backend()} here")
    channels = 4 * groups
    X = jax.random.normal(jax.random.key(0), (3, 7, 7, channels))
    kernel = jax.random.normal(jax.random.key(1), (3, 3, channels // groups, 2 * channels))
    numbers = ("NHWC", "HWIO", "NHWC")

    def loss(conv, X, kernel):
        Y = conv(X, kernel, (2, 2), "SAME", feature_group_count=groups, dimension_numbers=numbers)
        return (Y * jnp.arange(Y.size).reshape(Y.shape) / Y.size).sum(), Y

    (_, expected), expected_grads = jax.value_and_grad(lambda *a: loss(lax.conv_general_dilated, *a),
                                                       argnums=(0, 1), has_aux=True)(X, kernel)  # fmt: skip
    (_, got), got_grads = jax.value_and_grad(lambda *a: loss(grouped_conv_general_dilated, *a),
                                             argnums=(0, 1), has_aux=True)(X, kernel)  # fmt: skip
    assert got.shape == expected.shape == (3, 4, 4, 2 * channels)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    for g, e in zip(got_grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-4)


@pytest.mark.gpu(backend="jax")
def test_on_a_gpu_the_grouped_convolution_stays_xlas_and_computes_the_reference(monkeypatch):
    """Off the CPU, ``grouped_conv_general_dilated`` hands XLA one grouped convolution, whose values are
    the numpy reference's (``test_block_numbers.conv``), at float32 precision (no TF32)."""
    from jax import lax
    from test_block_numbers import conv

    from d2lx.jax.modern_cnn import grouped_conv_general_dilated

    groups, channels = 4, 16
    X = jax.random.normal(jax.random.key(0), (2, 7, 7, channels))
    kernel = jax.random.normal(jax.random.key(1), (3, 3, channels // groups, 8))
    seen, xla = [], lax.conv_general_dilated

    def recording(*args, **kwargs):
        seen.append(kwargs.get("feature_group_count", 1))
        return xla(*args, **kwargs)

    monkeypatch.setattr(lax, "conv_general_dilated", recording)
    with jax.default_matmul_precision("float32"):
        Y = grouped_conv_general_dilated(
            X, kernel, (2, 2), "SAME", feature_group_count=groups, dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
    assert seen == [groups] and {d.platform for d in Y.devices()} == {"gpu"}
    bias = np.zeros(8)
    expected = conv(np.asarray(X).transpose(0, 3, 1, 2), (np.asarray(kernel).transpose(3, 2, 0, 1), bias),
                    stride=2, padding=1, groups=groups)  # fmt: skip
    np.testing.assert_allclose(np.asarray(Y).transpose(0, 3, 1, 2), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.gpu(backend="jax")
def test_on_a_gpu_the_compiled_epochs_keep_the_images_on_it(monkeypatch):
    """``Trainer(jit_compile=True, num_gpus=1)`` puts the resident images and labels on the GPU once
    (``CompiledEpochs._placed``), and trains there."""
    from d2lx.jax import trainer as trainer_module

    placed, place = [], trainer_module.CompiledEpochs._placed
    monkeypatch.setattr(
        trainer_module.CompiledEpochs,
        "_placed",
        staticmethod(lambda arrays, gpus: placed.append(place(arrays, gpus)) or placed[-1]),
    )
    d2l.set_seed(0)
    data, model = d2l.FashionMNIST(batch_size=256), d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
    trainer = d2l.Trainer(max_epochs=2, limit_train_batches=20, num_gpus=1, jit_compile=True)
    trainer.fit(model, data)
    gpu = trainer.gpus[0]
    assert placed and all(array.devices() == {gpu} for arrays in placed for array in arrays)
    assert all(leaf.devices() == {gpu} for leaf in jax.tree_util.tree_leaves(trainer.state.params))
    losses = [float(p.y) for p in model.board.data["train_loss"]]
    assert losses[-1] < 0.8 * losses[0], losses


def test_resnext_block_keeps_flaxs_grouped_kernel():
    block = d2l.ResNeXtBlock(32, 2, 1)
    variables = block.init(jax.random.key(0), jax.numpy.ones((1, 8, 8, 32)))
    assert variables["params"]["conv2"]["kernel"].shape == (3, 3, 16, 32)  # 2 groups of 16 input channels


def test_padding_mask_and_clipping_run_under_jit():
    """Under ``jax.jit`` ``valid_len``'s values are unknown: the mask checks its shape only, and the numbers
    are the eager ones."""
    jnp = jax.numpy
    X, lengths = jnp.arange(6.0).reshape(2, 3), jnp.array([1, 2])
    masked = jax.jit(lambda x, v: d2l.sequence_mask(x, v, -1))(X, lengths)
    assert np.asarray(masked).tolist() == [[0, -1, -1], [3, 4, -1]]
    loss = jax.jit(lambda p, y, v: d2l.MaskedSoftmaxCELoss()(p, y, v))(
        jnp.ones((2, 3, 4)), jnp.ones((2, 3), int), jnp.array([3, 0])
    )
    np.testing.assert_allclose(np.asarray(loss), [np.log(4), 0], rtol=1e-6)
    clipped = jax.jit(d2l.grad_clipping)([jnp.array([3.0, 4.0])], 1.0)
    np.testing.assert_allclose(np.asarray(clipped[0]), [0.6, 0.8], rtol=1e-6)
    with pytest.raises(ValueError, match="valid_len must hold one length per row of X, shape \\(2,\\), got \\(3,\\)"):
        jax.jit(d2l.sequence_mask)(X, jnp.array([1, 2, 3]))
