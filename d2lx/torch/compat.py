"""PyTorch: no shim. The book's chapter 6-8 cells run on today's release; only those that need a real
CUDA device fail without one, which is right (see ``d2lx/compat.py`` for the policy)."""

SHIMS = ()
