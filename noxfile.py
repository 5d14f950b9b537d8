"""The test matrix: one virtual environment per backend, plus lint.

Backends cannot share an environment (MXNet 1.9.1 needs numpy<1.24; JAX and
TensorFlow need numpy>=1.26), so each gets its own session. ``nox`` runs them
all; ``nox -s tests-torch`` runs one; ``nox -l`` lists them.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests-torch"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

# backend -> (python version, extra pip arguments such as a constraints file)
BACKENDS = {
    "torch": ("3.11", ["-c", ".ci/constraints-torch.txt"]),
}


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting, for the whole tree."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def _tests(session: nox.Session, backend: str) -> None:
    _, pip_args = BACKENDS[backend]
    session.install(*pip_args, "-e", f".[{backend},test]")
    session.run("pytest", "-q", "--backend", backend, *session.posargs, env={"MPLBACKEND": "Agg"})


for _backend, (_python, _) in BACKENDS.items():
    nox.session(python=_python, name=f"tests-{_backend}")(lambda session, b=_backend: _tests(session, b))
