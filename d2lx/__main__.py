"""``python -m d2lx demo --backend torch``: train the book's chapter 3-4 models and report.

``python -m d2lx data list|download|import|verify`` manages the book's data files (``d2lx/data_cli.py``).

Trains linear regression (from scratch and concise) on synthetic data and
softmax regression on the real Fashion-MNIST, prints the recovered parameters
and the validation accuracy, and saves each training curve as a PNG.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from d2lx import backends, data_cli
from d2lx.plotting import to_numpy

BACKENDS = backends.names()
TRUE_W, TRUE_B = [2.0, -3.4], 4.2


def _load_backend(name: str):
    try:
        return importlib.import_module(f"d2lx.{name}")
    except ModuleNotFoundError as err:
        if err.name == f"d2lx.{name}":
            raise SystemExit(f"error: this version of d2lx has no {name} backend yet") from None
        raise SystemExit(f"error: {err}") from None
    except ImportError as err:
        raise SystemExit(f"error: {err}") from None


def run_demo(backend: str, out_dir: str, linreg_epochs: int, softmax_epochs: int, seed: int) -> dict:
    d2l = _load_backend(backend)
    d2l.set_seed(seed)
    os.makedirs(out_dir, exist_ok=True)
    results = {}
    for name, make in (
        ("linreg_scratch", lambda: d2l.LinearRegressionScratch(2, lr=0.03)),
        ("linreg_concise", lambda: d2l.LinearRegression(lr=0.03)),
    ):
        data = d2l.SyntheticRegressionData(w=d2l.tensor(TRUE_W), b=TRUE_B)
        model = make()
        d2l.Trainer(max_epochs=linreg_epochs).fit(model, data)
        w, b = (to_numpy(t).reshape(-1) for t in model.get_w_b())
        results[name] = {"w": w.tolist(), "b": float(b[0])}
        w_text = ", ".join(f"{v:.4f}" for v in w)
        errors = ", ".join(f"{v:+.4f}" for v in np.array(TRUE_W) - w)
        print(
            f"{name}: w = [{w_text}] (true {TRUE_W}), b = {b[0]:.4f} (true {TRUE_B}); "
            f"errors in w [{errors}], in b {TRUE_B - b[0]:+.4f}"
        )
        print(f"  curve saved to {model.board.save(os.path.join(out_dir, f'{name}.png'))}")
    data = d2l.FashionMNIST(batch_size=256)
    for name, make in (
        ("softmax_scratch", lambda: d2l.SoftmaxRegressionScratch(784, 10, lr=0.1)),
        ("softmax_concise", lambda: d2l.SoftmaxRegression(10, lr=0.1)),
    ):
        model = make()
        d2l.Trainer(max_epochs=softmax_epochs).fit(model, data)
        accuracy = model.board.data["val_acc"][-1].y
        results[name] = {"val_acc": accuracy}
        print(f"{name}: validation accuracy after {softmax_epochs} epochs = {accuracy:.4f}")
        print(f"  curve saved to {model.board.save(os.path.join(out_dir, f'{name}.png'))}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m d2lx", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train linear and softmax regression and save their curves")
    demo.add_argument("--backend", choices=BACKENDS, default="torch")
    demo.add_argument("--out", default="d2lx-demo", help="folder for the PNG curves (default: ./d2lx-demo)")
    demo.add_argument("--linreg-epochs", type=int, default=3)
    demo.add_argument("--softmax-epochs", type=int, default=10)
    demo.add_argument("--seed", type=int, default=0)
    parity = commands.add_parser("parity", help="seeded workloads on one backend (--backend) or a report (--report)")
    parity.add_argument("--backend", choices=BACKENDS)
    parity.add_argument("--out", help="JSON file for this backend's numbers (default: print them)")
    parity.add_argument("--seed", type=int, default=0)
    parity.add_argument("--report", nargs="+", metavar="JSON", help="compare runs written by --out")
    book = commands.add_parser("book-check", help="is this environment ready for the book's notebooks of a backend?")
    book.add_argument("--backend", choices=BACKENDS, required=True)
    data_cli.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "data":
        return data_cli.run(args)
    if args.command == "book-check":
        from d2lx import book_extras

        failures = book_extras.check(args.backend)
        for failure in failures:
            print(f"FAILED {failure}", file=sys.stderr)
        return 1 if failures else 0
    if args.command == "demo":
        run_demo(args.backend, args.out, args.linreg_epochs, args.softmax_epochs, args.seed)
        return 0
    from d2lx import parity as parity_module

    if args.report:
        return parity_module.report(args.report)
    if args.backend is None:
        parser.error("parity needs --backend NAME (to run) or --report FILE... (to compare)")
    _load_backend(args.backend)
    result = json.dumps(parity_module.run_workloads(args.backend, args.seed), indent=1)
    if args.out:
        Path(args.out).write_text(result)
    else:
        print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
