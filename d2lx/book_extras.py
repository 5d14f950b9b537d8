"""Is this environment ready for the book's own notebooks? ``python -m d2lx book-check --backend NAME``.

The book's cells import a few libraries besides the framework and ``d2l`` (the registry's
``book_imports``: torchvision for PyTorch, TensorFlow and TensorFlow Datasets for JAX, TensorFlow
Probability for TensorFlow; on every framework ``COMMON_BOOK_IMPORTS``, ``matplotlib_inline`` with
IPython, for section 2.4). The pip extra ``<backend>-book`` installs them. This check imports the
backend and each of them and makes one small call with each, offline, the way the book's cells use
it, so that a broken pair (PyPI's torchvision beside a CPU-only torch, TensorFlow Probability without
tf-keras) shows up here with the fix, not halfway through a chapter. CI runs it in the ``book-*``
nox sessions.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from d2lx import backends


def _torchvision(module) -> str:
    import numpy as np

    image = module.transforms.ToTensor()(np.zeros((28, 28), dtype=np.uint8))  # as section 4.2's loader does
    if tuple(image.shape) != (1, 28, 28):
        raise RuntimeError(f"transforms.ToTensor gave shape {tuple(image.shape)}, not (1, 28, 28)")
    return "transforms.ToTensor on a 28x28 image"


def _tensorflow(module) -> str:
    if int(module.reduce_sum(module.constant([1, 2])).numpy()) != 3:
        raise RuntimeError("tf.reduce_sum([1, 2]) is not 3")
    return "tf.reduce_sum"


def _tensorflow_datasets(module) -> str:
    if "fashion_mnist" not in module.list_builders():
        raise RuntimeError("tfds.list_builders() has no fashion_mnist")
    return "fashion_mnist among tfds.list_builders()"


def _tensorflow_probability(module) -> str:
    value = float(module.distributions.Normal(0.0, 1.0).log_prob(0.0))
    if abs(value + 0.9189385) > 1e-5:  # -log(2 pi) / 2
        raise RuntimeError(f"tfp.distributions.Normal(0, 1).log_prob(0) is {value}")
    return "tfp.distributions.Normal(0, 1).log_prob"


def _matplotlib_inline(module) -> str:
    backend_inline = importlib.import_module("matplotlib_inline.backend_inline")  # imports IPython, or fails
    backend_inline.set_matplotlib_formats("svg")  # section 2.4's use_svg_display
    return "backend_inline.set_matplotlib_formats('svg')"


# what each companion must do, as the book's cells use it; ``import torchvision`` alone would pass
# the broken torch pair, whose failure surfaces at the first transform
CHECKS: dict[str, Callable] = {
    "torchvision": _torchvision,
    "tensorflow": _tensorflow,
    "tensorflow_datasets": _tensorflow_datasets,
    "tensorflow_probability": _tensorflow_probability,
    "matplotlib_inline": _matplotlib_inline,
}


def check(name: str, report: Callable[[str], None] = print) -> list[str]:
    """Import backend ``name`` and what its book's cells import; call each once. Returns the failures,
    each a line that names the module, what went wrong and the extra to install."""
    backend = backends.get(name)
    install = f"pip install 'd2lx[{backend.book_extra}]'"
    failures = []
    for module_name in (backend.module, *backends.COMMON_BOOK_IMPORTS, *backend.book_imports):
        try:
            module = importlib.import_module(module_name)
            done = CHECKS[module_name](module) if module_name in CHECKS else "imported"
        except Exception as err:  # every failure is reported, with its type
            failures.append(f"{module_name}: {type(err).__name__}: {err} (the book's cells need it: {install})")
            continue
        version = getattr(module, "__version__", "")
        report(f"ok {module_name} {version}".rstrip() + f": {done}")
    return failures
