"""Framework-free data: synthetic regression arrays, Fashion-MNIST, and an index-batching loader."""

from d2lx.data.fashion_mnist import FASHION_MNIST_LABELS, DatasetNotFoundError, load_fashion_mnist
from d2lx.data.loader import ArrayLoader
from d2lx.data.synthetic import synthetic_regression

__all__ = [
    "FASHION_MNIST_LABELS",
    "ArrayLoader",
    "DatasetNotFoundError",
    "load_fashion_mnist",
    "synthetic_regression",
]
