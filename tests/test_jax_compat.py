"""JAX only: the book's calls that d2lx keeps working on today's JAX, Flax and Orbax (d2lx/jax/compat.py).

Each test runs the book's cell as the book prints it; the last one shows that ``D2LX_COMPAT=0``
gives the frameworks' own errors back.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

jax = pytest.importorskip("jax")
d2l = pytest.importorskip("d2lx.jax")
nn = pytest.importorskip("flax.linen")
jnp = jax.numpy


def test_jax_tree_map_is_the_renamed_tree_util_tree_map():
    params = nn.Sequential([nn.Dense(4), nn.relu, nn.Dense(2)]).init(d2l.get_key(), jnp.zeros((2, 3)))
    assert jax.tree_map is jax.tree_util.tree_map
    assert jax.tree_map(lambda x: x.shape, params) == {
        "params": {"layers_0": {"bias": (4,), "kernel": (3, 4)}, "layers_2": {"bias": (2,), "kernel": (4, 2)}}
    }


def test_the_books_device_calls():
    x = jnp.array([1, 2, 3])  # the book's 6.7 cells
    assert x.device() is x.device
    net = nn.Sequential([nn.Dense(1)])
    key1, key2 = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(key1, (10,))  # Dummy input
    params = net.init(key2, x)  # Initialization call
    devices = jax.tree_util.tree_map(lambda x: x.device(), params)
    assert jax.tree_util.tree_leaves(devices) == [d2l.cpu(), d2l.cpu()]
    assert d2l.try_gpu()() is d2l.try_gpu() and d2l.cpu()() is d2l.cpu()
    assert callable(d2l.cpu()) and d2l.cpu().platform == "cpu"
    with pytest.raises(TypeError):
        d2l.cpu()(0)  # only the book's call, with no argument


def test_the_books_fixed_hidden_mlp_with_an_array_default():
    class FixedHiddenMLP(nn.Module):  # the book's 6.1 cell
        # Random weight parameters that will not compute gradients and
        # therefore keep constant during training
        rand_weight: jnp.array = jax.random.uniform(d2l.get_key(), (20, 20))

        def setup(self):
            self.dense = nn.Dense(20)

        def __call__(self, X):
            X = self.dense(X)
            X = nn.relu(X @ self.rand_weight + 1)
            # Reuse the fully connected layer. This is equivalent to sharing
            # parameters with two fully connected layers
            X = self.dense(X)
            # Control flow
            while jnp.abs(X).sum() > 1:
                X /= 2
            return X.sum()

    X = jax.random.uniform(d2l.get_key(), (2, 20))
    net = FixedHiddenMLP()
    params = net.init(d2l.get_key(), X)
    out = net.apply(params, X)
    assert out.shape == () and 0 < abs(float(out)) <= 1
    assert FixedHiddenMLP().rand_weight is net.rand_weight  # one array, drawn once, as the book's Python had it
    other = jnp.ones((20, 20))
    assert FixedHiddenMLP(rand_weight=other).rand_weight is other
    shapes = jax.tree_util.tree_map(lambda x: x.shape, params)
    assert shapes == {"params": {"dense": {"bias": (20,), "kernel": (20, 20)}}}  # a constant, not a parameter

    class Today(nn.Module):  # code written for today's Flax is untouched
        w: jnp.ndarray = dataclasses.field(default_factory=lambda: jnp.zeros(2))
        scale: float = 2.0
        constant = jnp.ones(3)  # no annotation: a class attribute, not a field

        def __call__(self, X):
            return X * self.scale

    assert [f.name for f in dataclasses.fields(Today) if f.name not in ("parent", "name")] == ["w", "scale"]
    assert Today().w is not Today().w and Today.constant.shape == (3,)


def test_the_books_checkpoint_cells_with_a_relative_directory(tmp_path, monkeypatch):
    flax = pytest.importorskip("flax")
    from flax.training import checkpoints

    monkeypatch.chdir(tmp_path)
    net = nn.Dense(3)
    X = jnp.ones((2, 4))
    Y, params = net.init_with_output(jax.random.PRNGKey(0), X)
    assert checkpoints.save_checkpoint("ckpt_dir", params, step=1, overwrite=True) == str(  # fmt: skip
        tmp_path / "ckpt_dir" / "checkpoint_1"
    )
    clone = nn.Dense(3)
    cloned_params = flax.core.freeze(checkpoints.restore_checkpoint('ckpt_dir',  # fmt: skip
                                                                    target=None))  # fmt: skip
    np.testing.assert_array_equal(clone.apply(cloned_params, X), Y)
    # Flax's own writer (Orbax off) takes a relative directory and returns it as given: left alone
    flax.config.update("flax_use_orbax_checkpointing", False)
    try:
        assert checkpoints.save_checkpoint("legacy_dir", params, step=1) == os.path.join("legacy_dir", "checkpoint_1")
    finally:
        flax.config.update("flax_use_orbax_checkpointing", True)
    # Flax's answer for a directory without a checkpoint is unchanged: the target
    assert checkpoints.restore_checkpoint("no_such_dir", target=None) is None
    assert checkpoints.restore_checkpoint(str(tmp_path / "no_such_dir"), target={"a": 1}) == {"a": 1}


_BOOK_CALLS_WITHOUT_SHIMS = """
import os, re
from d2lx import jax as d2l
import jax, jax.numpy as jnp
from flax import linen as nn

def report(name, call):
    try:
        call()
        print(name, "runs")
    except Exception as error:
        print(name, type(error).__name__, str(error).splitlines()[0])

report("tree_map", lambda: jax.tree_map)
report("device", lambda: jnp.array([1, 2, 3]).device())
def fixed_hidden_mlp():
    class FixedHiddenMLP(nn.Module):
        rand_weight: jnp.array = jax.random.uniform(d2l.get_key(), (20, 20))
report("FixedHiddenMLP", fixed_hidden_mlp)
def checkpoint():
    from flax.training import checkpoints
    checkpoints.save_checkpoint("ckpt_dir", {"w": jnp.ones(2)}, step=1, overwrite=True)
report("checkpoint", checkpoint)
"""


@pytest.mark.parametrize("switch", ["D2LX_COMPAT", "D2LX_RENAMED_ALIASES"])
def test_d2lx_compat_0_gives_the_frameworks_their_own_behaviour_back(tmp_path, switch):
    """In a fresh process, since the shims are installed at import: ``D2LX_COMPAT=0`` turns off every
    shim and the renames; ``D2LX_RENAMED_ALIASES=0`` only the renames."""
    script = tmp_path / "book_calls.py"
    script.write_text(textwrap.dedent(_BOOK_CALLS_WITHOUT_SHIMS))
    env = {**os.environ, switch: "0", "D2LX_RENAMED_ALIASES": "0"} if switch == "D2LX_RENAMED_ALIASES" else {
        **os.environ, "D2LX_COMPAT": "0", "D2LX_RENAMED_ALIASES": "1"  # D2LX_COMPAT=0 wins
    }  # fmt: skip
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines() if " " in line)
    renamed_off = "AttributeError module 'jax' has no attribute 'tree_map'"
    if switch == "D2LX_RENAMED_ALIASES":
        assert lines == {"tree_map": renamed_off, "device": "runs", "FixedHiddenMLP": "runs", "checkpoint": "runs"}
        return
    # Python 3.11 names the type 'Device', 3.13 by its module too ('jaxlib._jax.Device')
    assert re.fullmatch(r"TypeError '([\w.]+\.)?Device' object is not callable", lines.pop("device")), run.stdout
    assert lines == {
        "tree_map": renamed_off,
        "FixedHiddenMLP": "ValueError mutable default <class 'jaxlib._jax.ArrayImpl'> for field rand_weight is not "
        "allowed: use default_factory",
        "checkpoint": "ValueError Checkpoint path should be absolute. Got ckpt_dir/checkpoint_1.orbax-checkpoint-tmp",
    }, run.stdout
