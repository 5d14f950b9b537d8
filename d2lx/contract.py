"""The backend contract: every hook a framework supplies to d2lx, written down once.

Requirements, and the shape they give the code (after einops' ``_backends.py``):

* A backend is imported only when a learner asks for it (``from d2lx import torch as d2l``):
  frameworks are large, may be missing, and MXNet cannot share an environment with the others.
  So the core (``d2lx/*.py``) never imports a framework, and each backend is one folder,
  ``d2lx/<backend>/``, with the same file names as the others.
* Everything that reads the same on every framework lives in the core: the epoch loop, the
  progress bar and board, argument checks, the data readers, the index-batching loader, the
  ``try_gpu`` family, the 2.0 edition's loops. A backend supplies only the hooks below, which are
  what its framework forces: how tensors are made and gathered, how gradients are taken, which
  devices exist, how its generator is seeded.
* The names a learner sees come from one table (``d2lx/names.py``); a backend's ``__init__``
  fills its namespace from it with ``names.export``.

A fifth backend starts from this list. Each hook has a stub in the core that raises
``NotImplementedError`` naming the hook and the class, so a missing one is found at its first use.

Module-level functions (``d2lx/<backend>/devices.py``; ``d2lx.devices`` builds the rest, the
checked ``gpu(i)`` included):
    cpu()                 the CPU device, in the framework's own type
    _gpu(i)               GPU ``i``, for an ``i`` already checked to exist
    num_gpus()            how many GPUs the framework can use

The seed hook (``d2lx/<backend>/__init__.py``):
    register_seed_hook(f)  ``f(seed)`` seeds the framework's generator when ``d2l.set_seed`` runs

Methods (core class that holds the stub -> the backend class that overrides it):
    DataModuleBase._from_numpy(array)          a numpy array -> a resident framework tensor
    DataModuleBase._to_index(order)            optional: a numpy int vector -> an index ``_take`` accepts
    DataModuleBase._take(array, index)         optional: the rows ``index`` of ``array``
    DataModuleBase._index_dtype                optional: the numpy integer type of token indices (int64)
    FashionMNISTBase._make_dataset(X, y)       uint8 images and labels -> the dataset held as ``data.train``
    FashionMNISTBase._images(X)                a uint8 batch -> float32 in [0, 1], resized, with the channel axis
    FashionMNISTBase._scales_once              optional: True to hold the images as ``_images`` gives them, once,
                                               where they fit the float32 budget (``_make_dataset`` reads
                                               ``self.float32_images``; MXNet)
    TrainerBase._devices                       the backend's ``devices`` module (``_available_gpus`` reads it)
    TrainerBase.prepare_batch(batch)           a batch moved to the training device
    TrainerBase.prepare_model(model)           extend: also put the model on the device
    TrainerBase.fit_epoch()                    one epoch: forward, gradients, update; then validation;
                                               calls ``_inspect_batch(batch, train)`` on each batch first
    TrainerBase._parameter_arrays()            optional: the parameters the current step uses (the
                                               divergence guard reads them once a loss is not finite)
    TrainerBase._device_reads_block()          optional: True where reading a value back waits for the
                                               device (a GPU; MXNet's asynchronous engine, CPU too):
                                               ``Module.plot`` then reads a few calls late
    TrainerBase.clip_gradients(val, grads)     the gradients rescaled to joint norm ``val``
    TrainerBase._compile_plan()                optional: what ``fit_epoch`` compiles under ``jit_compile=True``
                                               (it reads it from ``_epoch_plan()``), or a string saying why
                                               not (default: the backend has no compiled path)
    TrainerBase._compiled_path_needs()         optional: ``(object, method, d2lx's own functions)`` for each
                                               method the compiled path replaces or inlines
    TrainerBase._cpu_devices(count)            optional: ``count`` CPU devices for ``Trainer(devices=count)``'s
                                               data parallelism in one process (d2lx/distributed.py)
    TrainerBase._set_up_workers()              optional: who shares each batch (default: the devices, in
                                               one process; PyTorch: the processes of a torchrun launch)
    Module (framework base + ModuleBase)       ``forward``/``__call__`` from the framework
    Classifier.loss(Y_hat, Y, averaged=True)   cross-entropy on logits
    Classifier.accuracy(Y_hat, Y, averaged=True)
    Module.configure_optimizers()
    Module.apply_init(inputs, init=None)       materialise lazily shaped layers, then re-initialise

The book's models are written once too, as mixins in the core that a backend's class lists before its
framework base class (``class RNNScratch(_Scratch, core.RNNScratchSteps, Module)``): the ``*Steps``,
``*Arch`` and ``*Base`` classes of ``d2lx/models.py``, ``mlp.py``, ``modern_cnn.py``, ``rnn.py``,
``seq2seq.py``, ``attention.py`` and ``transformer.py``. The backend's class keeps the book's name, signature
and attributes, makes its own layers, and gives the framework's calls as class attributes, each named in
its mixin's docstring:
    _ops                                       the backend's ``ops`` module (``d2l.matmul``, ``d2l.tanh``, ...),
                                               or an ``AttentionOps`` table (``attention.numpy_named_ops``)
    _normal(shape, sigma), _parameter          a seeded ``N(0, sigma)`` parameter; a tensor made trainable
                                               (``ScratchParameters``; MXNet gives ``_zeros`` instead)
    _softmax, _cross_entropy, _relu            the framework's functions, or the book's own written in them
                                               (PyTorch's ``DropoutMLPScratch``: a method calling its ``relu`` module)
    _concat_channels                           the framework's concatenation on its channel axis (Inception, DenseBlock)
    _dropout(H, dropout)                       the backend's ``dropout_layer`` (``DropoutMLPScratch``; JAX: a method
                                               drawing the mask's key from the model's ``'dropout'`` stream)
    _training(), _flatten(X)                   optional: whether the model trains (default: its ``training``; MXNet:
                                               ``autograd.is_training``); a batch as (batch, features) (TensorFlow:
                                               with a static width)
    _time_steps                                the time steps of a sequence (TensorFlow: ``tf.unstack``)
    _placed(array, device), _predicting()      a batch on a device; a no-gradient context (``EncoderDecoder``)

``REQUIRED`` below lists the hooks that have no default, per core class; a test checks that every
backend overrides each of them.
"""

from __future__ import annotations

from typing import Any

# core class name -> hooks a backend's subclass must override (no default in the core)
REQUIRED: dict[str, tuple[str, ...]] = {
    "DataModuleBase": ("_from_numpy",),
    "FashionMNISTBase": ("_make_dataset", "_images"),
    "TrainerBase": ("_devices", "prepare_batch", "fit_epoch", "clip_gradients"),
}
# module -> functions every backend's module of that name defines
REQUIRED_FUNCTIONS: dict[str, tuple[str, ...]] = {"devices": ("cpu", "gpu", "num_gpus")}


def not_implemented(obj: Any, hook: str) -> NotImplementedError:
    """The error a core stub raises: which hook is missing, on which class, and where it is described."""
    cls = obj if isinstance(obj, type) else type(obj)
    return NotImplementedError(
        f"{cls.__module__}.{cls.__qualname__} does not implement the backend hook {hook!r}: "
        "every backend supplies it (see the list in d2lx/contract.py)"
    )
