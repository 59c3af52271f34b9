"""Deterministic figure files: a fixed style and dpi, exact pixel layouts, atomic writes.

Figures are built with :class:`matplotlib.figure.Figure` directly (the Agg renderer, never
``pyplot``), so drawing neither touches global state nor needs a display. PNGs carry no
software or date metadata, so the same inputs give byte-identical files.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib
from matplotlib.figure import Figure

from prodvae.atomic import atomic_write

#: Dots per inch of every figure; layouts are computed in pixels and divided by this.
DPI = 100

#: The style every figure is drawn with, whatever the user's matplotlibrc says.
STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "image.interpolation": "nearest",
    "path.simplify": False,
}


class FigureFile(NamedTuple):
    """A written figure: its path and its size in pixels."""

    path: Path
    width: int
    height: int


class Box(NamedTuple):
    """A rectangle in pixels from the figure's top-left corner."""

    left: float
    top: float
    width: float
    height: float


def new_figure(width_px: int, height_px: int) -> Figure:
    """An empty white figure of exactly ``width_px x height_px`` pixels."""
    return Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)


def add_axes_px(fig: Figure, box: Box) -> Any:
    """Axes placed at a pixel rectangle ``box`` of ``fig`` (top-left origin)."""
    width_px, height_px = fig.get_size_inches() * DPI
    rect = (
        box.left / width_px,
        1.0 - (box.top + box.height) / height_px,
        box.width / width_px,
        box.height / height_px,
    )
    return fig.add_axes(rect)


@contextmanager
def figure_style() -> Iterator[None]:
    """Draw with :data:`STYLE` regardless of the user's matplotlib settings."""
    with matplotlib.rc_context(STYLE):
        yield


def save_png(fig: Figure, path: Path | str) -> FigureFile:
    """Write ``fig`` as a PNG without metadata, atomically; return its path and pixel size."""
    width_px, height_px = (round(v) for v in fig.get_size_inches() * DPI)

    def write(tmp: Path) -> None:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})

    written = atomic_write(path, write)
    return FigureFile(written, width_px, height_px)
