"""Same seed, same numbers: run the book's workloads on one backend, compare backends side by side.

Each backend lives in its own environment, so the comparison has two halves:

* ``python -m d2lx parity --backend torch --out torch.json`` (run in torch's environment)
  trains the seeded workloads and writes w, b, losses and accuracies as JSON;
* ``python -m d2lx parity --report torch.json jax.json ...`` prints one table, backends side by
  side, with the largest difference, and fails when a backend does not recover the true
  parameters or when backends disagree by more than float32 round-off allows.

``nox -s parity`` does both for every backend of the matrix.
"""

from __future__ import annotations

import importlib
import json
import math
import platform
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from d2lx.plotting import to_numpy

TRUE_W, TRUE_B = [2.0, -3.4], 4.2
LINREG = {
    "scratch": lambda d2l: d2l.LinearRegressionScratch(2, lr=0.03),
    "concise": lambda d2l: d2l.LinearRegression(lr=0.03),
}
RECOVERY_TOLERANCE = 0.3  # every error in w and b after 3 epochs
LINREG_AGREEMENT = 1e-4  # |w_a - w_b| and |b_a - b_b| between backends
SOFTMAX_AGREEMENT = {"val_acc": 2e-3, "val_loss": 1e-3, "train_loss": 1e-3}


def _final(board, label: str) -> float:
    return float(board.data[label][-1].y)


def run_workloads(backend: str, seed: int = 0) -> dict:
    """Train every workload on ``backend`` from ``set_seed(seed)``; return the numbers as plain data."""
    d2l = importlib.import_module(f"d2lx.{backend}")
    results: dict = {}
    conventions: dict = {}
    for kind, make in LINREG.items():
        for epochs in (3, 10):
            d2l.set_seed(seed)
            data = d2l.SyntheticRegressionData(w=d2l.tensor(TRUE_W), b=TRUE_B)
            model = make(d2l)
            d2l.Trainer(max_epochs=epochs, progress_bar=False).fit(model, data)
            w, b = (to_numpy(t).reshape(-1).astype(float) for t in model.get_w_b())
            conventions[kind] = _loss_of_unit_error(d2l, model)
            results[f"linreg_{kind}_{epochs}ep"] = {
                "w": w.tolist(),
                "b": float(b[0]),
                "train_loss": _final(model.board, "train_loss"),
                "val_loss": _final(model.board, "val_loss"),
            }
    d2l.set_seed(seed)
    data = d2l.FashionMNIST(batch_size=256)
    model = d2l.SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=0.1)
    d2l.Trainer(max_epochs=2, progress_bar=False).fit(model, data)
    results["softmax_scratch_2ep"] = {
        label: _final(model.board, label) for label in ("train_loss", "val_loss", "val_acc")
    }
    return {
        "backend": backend,
        "seed": seed,
        "python": platform.python_version(),
        "loss_of_unit_error": conventions,
        "results": results,
    }


def _loss_of_unit_error(d2l, model) -> float:
    """The model's loss for a prediction off by exactly 1: 0.5 for half squared error, 1.0 for MSE.

    The book's concise models follow each framework's habit (``nn.MSELoss`` and Keras'
    ``MeanSquaredError`` on torch and TensorFlow, ``L2Loss``/``optax.l2_loss``, half of it, on
    MXNet and JAX), so only backends with the same loss can be expected to agree.
    """
    one, zero = d2l.tensor([[1.0]]), d2l.tensor([[0.0]])
    try:
        return float(to_numpy(model.loss(one, zero)))
    except TypeError:  # JAX's loss(params, X, y, state) predicts with state.apply_fn: predict X itself
        echo = SimpleNamespace(apply_fn=lambda variables, *X: X[0])
        return float(to_numpy(model.loss(None, (one,), zero, echo)))


def _rows(runs: list[dict]) -> list[tuple[str, list[float]]]:
    """(quantity, value per backend) for every number the runs have in common."""
    rows = []
    for workload, first in runs[0]["results"].items():
        for key, value in first.items():
            values = [np.atleast_1d(np.asarray(run["results"][workload][key], dtype=float)) for run in runs]
            for i in range(values[0].size):
                name = f"{workload}.{key}" + (f"[{i}]" if values[0].size > 1 else "")
                rows.append((name, [float(v[i]) for v in values]))
    return rows


def _loss_groups(runs: list[dict], kind: str) -> list[list[int]]:
    """Indices of runs whose ``kind`` model uses the same loss (see ``_loss_of_unit_error``)."""
    groups: dict[float, list[int]] = {}
    for i, run in enumerate(runs):
        groups.setdefault(run.get("loss_of_unit_error", {}).get(kind, 0.5), []).append(i)
    return list(groups.values())


def compare(runs: list[dict]) -> tuple[str, list[str]]:
    """The side-by-side table and the list of failures (empty when everything agrees).

    Linear regression must agree to ``LINREG_AGREEMENT`` between backends whose
    model uses the same loss; the table's "max diff" column spans all backends.
    """
    names = [run["backend"] for run in runs]
    failures = []
    for run in runs:
        for kind in LINREG:
            result = run["results"][f"linreg_{kind}_3ep"]
            errors = np.abs(np.array(TRUE_W) - np.array(result["w"])).tolist() + [abs(TRUE_B - result["b"])]
            if not max(errors) < RECOVERY_TOLERANCE:
                failures.append(f"{run['backend']}: linreg {kind} after 3 epochs has errors {errors}")
    lines = [" | ".join(["quantity", *names, "max diff"]), " | ".join(["---"] * (len(names) + 2))]
    for name, values in _rows(runs):
        spread = max(values) - min(values) if all(math.isfinite(v) for v in values) else math.inf
        lines.append(" | ".join([name, *(f"{v:.6f}" for v in values), f"{spread:.1e}"]))
        workload, key = name.split(".", 1)
        key = key.split("[")[0]
        limit = LINREG_AGREEMENT if workload.startswith("linreg") and key in ("w", "b") else None
        if workload.startswith("softmax"):
            limit = SOFTMAX_AGREEMENT.get(key)
        if limit is None:
            continue
        kind = workload.split("_")[1] if workload.startswith("linreg") else None
        for group in _loss_groups(runs, kind) if kind else [list(range(len(runs)))]:
            subset = [values[i] for i in group]
            group_spread = max(subset) - min(subset) if all(math.isfinite(v) for v in subset) else math.inf
            if not group_spread <= limit:
                who = ", ".join(names[i] for i in group)
                failures.append(f"{name}: {who} differ by {group_spread:.2e} (allowed {limit:.0e})")
    for kind in LINREG:
        groups = _loss_groups(runs, kind)
        if len(groups) > 1:
            described = "; ".join(
                f"{', '.join(names[i] for i in g)}: loss(1 off) = {runs[g[0]]['loss_of_unit_error'][kind]:g}"
                for g in groups
            )
            lines.append(
                f"\nlinreg_{kind}: the backends' losses differ as in the book ({described}); "
                "agreement is checked within each group"
            )
    return "\n".join(lines), failures


def report(paths: list[str]) -> int:
    runs = [json.loads(Path(p).read_text()) for p in paths]
    table, failures = compare(runs)
    print(table)
    if failures:
        print("\nPARITY FAILED:\n" + "\n".join(f"  - {f}" for f in failures))
        return 1
    print(
        f"\nparity ok across {', '.join(r['backend'] for r in runs)}: linear regression agrees within "
        f"{LINREG_AGREEMENT:.0e}, softmax regression within {SOFTMAX_AGREEMENT}"
    )
    return 0
