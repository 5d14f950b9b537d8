"""d2lx: the *Dive into Deep Learning* library on today's PyTorch, MXNet, JAX and TensorFlow.

``import d2lx`` imports no framework. Pick one with
``from d2lx import torch as d2l`` (or ``mxnet``, ``jax``, ``tensorflow``);
only that framework is loaded.
"""

from d2lx.utils import set_seed

__version__ = "0.1.0"
__all__ = ["set_seed", "__version__"]
