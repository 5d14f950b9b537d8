"""MXNet: no shim. MXNet 1.9.1 is its last release, so nothing has changed under the book's cells
(see ``d2lx/compat.py`` for the policy)."""

SHIMS = ()
