"""``ProgressBoard``: the book's live training curves, without the book's side effects.

d2l 1.0.3 redraws a pyplot figure on every point, which in a script prints
``<Figure size 350x250 with 1 Axes>`` each time, may open a blocking window,
and slows down as lines pile up. Here the board keeps the points as data and
draws only where someone is looking:

* in Jupyter it renders one image per cell and updates it in place;
* elsewhere it draws nothing until ``save(path)`` writes a PNG or SVG file.

Figures are built with ``matplotlib.figure.Figure`` (not pyplot), so no GUI
backend is touched and nothing is shown twice.
"""

from __future__ import annotations

import collections
import io
import os
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from d2lx import display
from d2lx.hparams import HyperParameters


class Point(NamedTuple):
    x: float
    y: float


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


class ProgressBoard(HyperParameters):
    """Plot data points as smoothed curves: ``board.draw(x, y, label, every_n)``.

    Every ``every_n`` points of a label are averaged into one point of its
    curve. ``data[label]`` holds the drawn (averaged) points, ``raw_points``
    the ones still waiting to be averaged, as in d2l 1.0.

    In Jupyter the picture is redrawn at most every ``redraw_interval``
    seconds, so training speed does not depend on how often ``draw`` is
    called; the last state is always drawn when the cell finishes.
    ``board.display = False`` turns drawing off.
    """

    redraw_interval: float = 0.5

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        xlim=None,
        ylim=None,
        xscale: str = "linear",
        yscale: str = "linear",
        ls: Sequence[str] = ("-", "--", "-.", ":"),
        colors: Sequence[str] = ("C0", "C1", "C2", "C3"),
        fig=None,
        axes=None,
        figsize: tuple[float, float] = (3.5, 2.5),
        display: bool = True,
    ):
        self.save_hyperparameters()
        self.raw_points: collections.OrderedDict[str, list[Point]] = collections.OrderedDict()
        self.data: collections.OrderedDict[str, list[Point]] = collections.OrderedDict()
        self._lines: dict[str, Any] = {}
        self._handle = None
        self._handle_cell = None
        self._dirty = False
        self._last_render = float("-inf")
        self._flush_scheduled = False

    def draw(self, x, y, label: str, every_n: int = 1) -> None:
        """Add the point ``(x, y)`` to the curve ``label``, averaging every ``every_n`` points."""
        every_n = max(int(every_n), 1)
        points = self.raw_points.setdefault(label, [])
        line = self.data.setdefault(label, [])
        points.append(Point(float(x), float(y)))
        if len(points) < every_n:
            return
        line.append(Point(_mean([p.x for p in points]), _mean([p.y for p in points])))
        points.clear()
        self._request_redraw()

    def _request_redraw(self) -> None:
        """New points arrived: redraw now, or at the end of the cell if the last picture is too recent."""
        if self.display and display.in_notebook():
            self._dirty = True
            if time.perf_counter() - self._last_render >= self.redraw_interval:
                self.flush()
            else:
                self._flush_after_cell()

    def flush(self) -> None:
        """Redraw now if points arrived since the last picture (Jupyter only)."""
        if self._dirty and self.display and display.in_notebook():
            self._show_in_notebook()
            self._dirty = False
            self._last_render = time.perf_counter()

    def _flush_after_cell(self) -> None:
        if self._flush_scheduled:
            return
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            return

        def flush_once(*_):
            shell.events.unregister("post_run_cell", flush_once)
            self._flush_scheduled = False
            self.flush()

        shell.events.register("post_run_cell", flush_once)
        self._flush_scheduled = True

    # --- drawing -------------------------------------------------------------
    def _ensure_axes(self):
        if self.axes is None:
            if self.fig is None:
                from matplotlib.figure import Figure

                self.fig = Figure(figsize=self.figsize)
            self.axes = self.fig.add_subplot()
        return self.axes

    def render(self):
        """Bring the figure up to date with ``data`` and return it (a matplotlib ``Figure``)."""
        axes = self._ensure_axes()
        for position, (label, points) in enumerate(self.data.items()):
            xs, ys = [p.x for p in points], [p.y for p in points]
            if label in self._lines:
                self._lines[label].set_data(xs, ys)
            else:
                self._lines[label] = self._new_line(axes, label, position, xs, ys)
        axes.relim()
        axes.autoscale_view()
        self._decorate(axes)
        return axes.figure

    def _new_line(self, axes, label: str, position: int, xs, ys):
        """The line of curve ``label``, the ``position``-th curve drawn (styles cycle through ``ls`` and ``colors``)."""
        style = {"linestyle": self.ls[position % len(self.ls)], "color": self.colors[position % len(self.colors)]}
        return axes.plot(xs, ys, label=label, **style)[0]

    def _decorate(self, axes) -> None:
        """Limits, scales, axis labels and legend."""
        if self.xlim:
            axes.set_xlim(self.xlim)
        if self.ylim:
            axes.set_ylim(self.ylim)
        axes.set_xscale(self.xscale)
        axes.set_yscale(self.yscale)
        axes.set_xlabel(self.xlabel or "")
        axes.set_ylabel(self.ylabel or "")
        if any(not label.startswith("_") for label in self._lines):  # matplotlib leaves "_..." names out
            axes.legend(loc="best")

    def save(self, path: str | os.PathLike, **savefig_kwargs) -> str:
        """Write the curves to ``path``; the suffix (``.png``, ``.svg``, ``.pdf``) picks the format."""
        path = os.fspath(path)
        figure = self.render()
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        figure.savefig(path, bbox_inches="tight", **savefig_kwargs)
        return path

    def _show_in_notebook(self) -> None:
        from IPython import display as ipy_display
        from IPython import get_ipython

        figure = self.render()
        fmt = display.figure_format()
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, bbox_inches="tight")
        image = ipy_display.SVG(buffer.getvalue()) if fmt == "svg" else ipy_display.Image(buffer.getvalue())
        cell = getattr(get_ipython(), "execution_count", None)
        if self._handle is None or cell != self._handle_cell:
            self._handle = ipy_display.display(image, display_id=True)
            self._handle_cell = cell
        else:
            self._handle.update(image)
