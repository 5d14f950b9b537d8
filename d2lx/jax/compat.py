"""JAX, Flax and Orbax: the book's calls that today's releases refuse, kept working (see ``d2lx/compat.py``).

Each shim adds behaviour only where today's release raises an error, so code written for today's
JAX runs as before:

* ``x.device()``: ``jax.Array.device`` became a property, so the book's call raises ``TypeError:
  'Device' object is not callable``; calling a device now gives the device itself. The devices of
  ``d2l.cpu()``, ``d2l.gpu()`` and ``d2l.try_gpu()`` are the same objects, so nothing in
  ``devices.py`` needs to know. (Only ``callable(device)`` changes, from False to True; no JAX, Flax
  or Optax code asks it of a device.)
* a Flax module field whose default is an array (the book's ``FixedHiddenMLP.rand_weight``): Python
  3.11+ refuses unhashable dataclass defaults (``ValueError: mutable default ... use
  default_factory``); the field gets a ``default_factory`` that returns that same array, which is
  what the book's Python did with it (one array, drawn when the class was defined).
* ``checkpoints.save_checkpoint('ckpt_dir', ...)`` and ``restore_checkpoint('ckpt_dir', ...)``:
  Flax saves through Orbax, which raises ``ValueError: Checkpoint path should be absolute`` for a
  relative directory; when Flax uses Orbax, a relative local directory is made absolute first
  (against the current directory, where Flax's own writer puts it). ``restore_checkpoint`` still
  returns ``target`` (here ``None``) where there is no checkpoint, as Flax documents. Installed when a cell imports
  ``flax.training.checkpoints`` (it imports Orbax, too slow for every ``from d2lx import jax``).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys

import jax
from flax import linen as nn

from d2lx.compat import Shim, is_marked, mark
from d2lx.imports import after_import


def _device_itself(self):
    """``x.device()`` as the book writes it: the device, now ``x.device``."""
    return self


def _callable_devices() -> bool:
    if any("__call__" in vars(cls) for cls in jax.Device.__mro__):  # not hasattr: a class is callable itself
        return False
    jax.Device.__call__ = mark(_device_itself)
    return True


def _array_defaults_as_factories(cls) -> None:
    """Turn ``name: T = <jax array>`` in ``cls``'s own body into ``dataclasses.field(default_factory=...)``."""
    annotations = cls.__dict__.get("__annotations__", {})
    for name in annotations:
        value = cls.__dict__.get(name)
        if isinstance(value, jax.Array) and type(value).__hash__ is None:  # what dataclasses refuses
            setattr(cls, name, dataclasses.field(default_factory=functools.partial(_same, value)))


def _same(value):
    return value


def _array_field_defaults() -> bool:
    if sys.version_info < (3, 11):  # Python 3.10 takes an array default as it is: nothing to absorb
        return False
    original = nn.Module.__dict__["__init_subclass__"]  # a classmethod, as Python makes every __init_subclass__
    function = original.__func__ if isinstance(original, classmethod) else original
    if is_marked(function):
        return False

    def __init_subclass__(cls, **kwargs):
        _array_defaults_as_factories(cls)
        function(cls, **kwargs)

    nn.Module.__init_subclass__ = classmethod(mark(__init_subclass__, function))
    return True


def _absolute(directory):
    """A relative local directory as an absolute one; anything else (``gs://...``, absolute) unchanged."""
    if isinstance(directory, (str, os.PathLike)):
        text = os.fspath(directory)
        if isinstance(text, str) and "://" not in text and not os.path.isabs(text):
            return os.path.abspath(text)
    return directory


def _with_absolute_directory(function):
    @functools.wraps(function)
    def wrapper(ckpt_dir, *args, **kwargs):
        if _through_orbax(kwargs):
            ckpt_dir = _absolute(ckpt_dir)
        return function(ckpt_dir, *args, **kwargs)

    return mark(wrapper, function)


def _through_orbax(kwargs) -> bool:
    """Whether Flax hands this call to Orbax, the one that refuses a relative directory. Flax's own
    writer takes one, and its ``save_checkpoint`` returns the path as given: left alone."""
    import flax

    return kwargs.get("orbax_checkpointer") is not None or bool(
        getattr(flax.config, "flax_use_orbax_checkpointing", True)
    )


def _patch_checkpoints(module) -> bool:
    patched = False
    for name in ("save_checkpoint", "restore_checkpoint"):
        function = getattr(module, name, None)
        if function is not None and not is_marked(function):
            setattr(module, name, _with_absolute_directory(function))
            patched = True
    return patched


def _relative_checkpoint_directories() -> bool:
    name = "flax.training.checkpoints"
    if name in sys.modules:
        return _patch_checkpoints(sys.modules[name])
    return after_import(name, _patch_checkpoints)


SHIMS = (
    Shim(
        backend="jax",
        patches="jax.Device.__call__",
        book="6.7 GPUs: x.device(), jax.tree_util.tree_map(lambda x: x.device(), params)",
        changed_in="JAX 0.4.x (2024): jax.Array.device is a property",
        install=_callable_devices,
    ),
    Shim(
        backend="jax",
        patches="flax.linen.Module.__init_subclass__ (array field defaults)",
        book="6.1 layers and modules: rand_weight: jnp.array = jax.random.uniform(d2l.get_key(), (20, 20))",
        changed_in="Python 3.11: dataclass fields refuse unhashable defaults",
        install=_array_field_defaults,
    ),
    Shim(
        backend="jax",
        patches="flax.training.checkpoints.save_checkpoint / restore_checkpoint (relative directory)",
        book="6.6 file I/O: checkpoints.save_checkpoint('ckpt_dir', params, step=1, overwrite=True), "
        "checkpoints.restore_checkpoint('ckpt_dir', target=None)",
        changed_in="Flax 0.7 (Orbax as the default), Orbax 0.12: absolute paths only",
        install=_relative_checkpoint_directories,
    ),
)
