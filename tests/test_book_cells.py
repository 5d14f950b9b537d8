"""Book cells that d2lx's own classes must take as d2l's do, on every backend."""

from __future__ import annotations

import os

import pytest


def test_data_modules_root_is_the_books_data_folder(backend, monkeypatch, tmp_path):
    """Section 4.2 (PyTorch) passes ``root=self.root`` to torchvision from its own ``d2l.DataModule``
    subclass: ``root`` must be a path, d2l's ``'../data'``, or ``$D2LX_DATA_DIR`` where it is set."""
    monkeypatch.delenv("D2LX_DATA_DIR", raising=False)
    assert backend.DataModule().root == os.path.join("..", "data")
    monkeypatch.setenv("D2LX_DATA_DIR", str(tmp_path))
    assert backend.DataModule().root == str(tmp_path)  # read when the module is made, not at import
    assert backend.DataModule(root="elsewhere").root == "elsewhere"

    class FashionMNIST(backend.DataModule):  # the shape of the book's cell, without torchvision
        def __init__(self, batch_size=64, resize=(28, 28)):
            super().__init__()
            self.save_hyperparameters()
            self.folder = os.path.join(self.root, "FashionMNIST")

    data = FashionMNIST(batch_size=32)
    assert (data.folder, data.batch_size) == (os.path.join(str(tmp_path), "FashionMNIST"), 32)


def test_use_svg_display_switches_the_figures_to_svg(backend, monkeypatch):
    """Section 2.4's ``d2l.use_svg_display()``: d2lx's boards and, through matplotlib-inline (which every
    book extra brings), Jupyter's pyplot figures."""
    backend_inline = pytest.importorskip("matplotlib_inline.backend_inline")
    from d2lx import display

    asked = []
    monkeypatch.setattr(backend_inline, "set_matplotlib_formats", lambda *formats: asked.append(formats))
    monkeypatch.setitem(display._FIGURE_FORMAT, "value", "png")
    backend.use_svg_display()
    assert (display.figure_format(), asked) == ("svg", [("svg",)])
