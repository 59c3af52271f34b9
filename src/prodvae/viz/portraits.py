"""Latent portraits: each latent factor's codes drawn against its best ground-truth factor.

A loop (or any 2-D block) is drawn as a scatter in its own plane, where a learned loop shows
up as a ring, coloured by the best-matching ground-truth factor -- with the cyclic colour map
``twilight`` when that factor is itself a loop, so that a full turn of colour going once
around the ring is what recovery looks like. A one-dimensional code (a segment or a point
set) is plotted against the value of its best factor, with the low-energy set (the segment's
ends, the points) drawn as reference lines.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.patches import Circle
from torch import Tensor

from prodvae.data import FactorSpec
from prodvae.spaces import Factor, ProductSpace, is_circular
from prodvae.viz.association import Association
from prodvae.viz.canvas import Box, FigureFile, add_axes_px, figure_style, new_figure, save_png

#: Panel layout in pixels: the plot square, its margins and the colour bar.
PLOT, MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM, BAR = 250, 64, 44, 78, 50, 12
NUM_COLUMNS = 3


def colour_scale(spec: FactorSpec, values: np.ndarray) -> tuple[str, float, float]:
    """Colour map and range for a ground-truth factor: cyclic over one period for a loop."""
    if is_circular(spec.kind) and spec.period is not None:
        return "twilight", 0.0, float(spec.period)
    low, high = float(values.min()), float(values.max())
    return "viridis", low, high if high > low else low + 1.0


def _reference_radius(factor: Factor) -> float | None:
    """Radius of the low-energy circle of a 2-D factor, if it has one."""
    for name in ("radius", "tau"):
        if name in factor.params():
            return float(factor.params()[name])
    return None


def _kind(panel: Panel) -> str:
    """``"z{index} name"``, with the topology where it differs and the axis of a block."""
    factor = panel.factor
    kind = factor.name if factor.name == factor.topology else f"{factor.name} [{factor.topology}]"
    axis = "" if panel.axis is None else f" axis {panel.axis}"
    return f"z{panel.index} {kind}{axis}"


def _plane_panel(axes, panel: Panel, block, truth, spec, fig, bar_box) -> None:
    """Scatter of two code columns ``block [N, 2]`` coloured by the ground truth ``truth``."""
    values = np.mod(truth, spec.period) if is_circular(spec.kind) and spec.period else truth
    cmap, low, high = colour_scale(spec, values)
    dots = axes.scatter(block[:, 0], block[:, 1], c=values, cmap=cmap, vmin=low, vmax=high, s=6)
    radius = _reference_radius(panel.factor)
    if radius is not None:
        axes.add_patch(Circle((0, 0), radius, fill=False, ls="--", lw=0.8, color="0.4"))
    limit = max(float(np.abs(block[:, :2]).max()), radius or 0.0) * 1.1 or 1.0
    axes.set_xlim(-limit, limit)
    axes.set_ylim(-limit, limit)
    axes.set_aspect("equal", adjustable="box")
    axes.set_xlabel(f"z[{panel.columns[0]}]")
    axes.set_ylabel(f"z[{panel.columns[1]}]")
    bar = fig.colorbar(dots, cax=add_axes_px(fig, bar_box))
    bar.set_label(f"{spec.name} ({spec.kind})")


def _line_panel(axes, panel: Panel, block, truth, spec) -> None:
    """A 1-D code against the ground-truth value, with the factor's low-energy set marked."""
    axes.scatter(truth, block[:, 0], s=6, alpha=0.5, color="tab:blue")
    for level in panel.factor.reading.levels:
        axes.axhline(level, ls="--", lw=0.8, color="0.4")
    axes.set_xlabel(f"{spec.name} ({spec.kind})")
    axes.set_ylabel(f"z[{panel.columns[0]}]")


class Panel(NamedTuple):
    """One portrait: ambient code columns drawn against the best partner of some units."""

    index: int  # latent factor
    factor: Factor
    columns: list[int]  # two columns for a plane, one for a line
    units: list[int]  # latent units (columns of the association matrix) it stands for
    axis: int | None = None  # the axis of a multi-axis Euclidean block


def portrait_panels(space: ProductSpace, association: Association) -> list[Panel]:
    """A panel per latent factor, and per axis of a multi-axis Euclidean block."""
    owners = association.units.factor_of_unit
    panels = []
    for index, (factor, where) in enumerate(zip(space.factors, space.slices)):
        units = [u for u, owner in enumerate(owners) if owner == index]
        if factor.reading.per_axis and factor.dim > 1:
            panels += [Panel(index, factor, [where.start + a], [u], a) for a, u in enumerate(units)]
        elif factor.dim >= 2:
            panels.append(Panel(index, factor, [where.start, where.start + 1], units))
        else:
            panels.append(Panel(index, factor, [where.start], units))
    return panels


def plot_portraits(
    space: ProductSpace,
    codes: Tensor | np.ndarray,
    factors: Tensor | np.ndarray,
    spec: tuple[FactorSpec, ...],
    association: Association,
    path: Path | str,
) -> FigureFile:
    """Portraits of ``codes [N, dim]`` against ``factors [N, K]`` (see :func:`portrait_panels`).

    ``association`` (from :func:`prodvae.viz.association.associate` on the same rows)
    chooses each panel's ground-truth partner: the factor of highest NMI with its units.
    """
    codes = np.asarray(codes, dtype=np.float64)
    truth = np.asarray(factors, dtype=np.float64)
    if len(codes) != len(truth):
        raise ValueError(f"codes ({len(codes)}) and factors ({len(truth)}) differ in length")
    panels = portrait_panels(space, association)
    columns = min(NUM_COLUMNS, len(panels))
    cell_w = MARGIN_LEFT + PLOT + MARGIN_RIGHT
    cell_h = MARGIN_TOP + PLOT + MARGIN_BOTTOM
    with figure_style():
        fig = new_figure(cell_w * columns, cell_h * math.ceil(len(panels) / columns) + 30)
        fig.suptitle("Latent portraits: each latent factor against its best ground-truth factor")
        for number, panel in enumerate(panels):
            left = (number % columns) * cell_w + MARGIN_LEFT
            top = 30 + (number // columns) * cell_h + MARGIN_TOP
            axes = add_axes_px(fig, Box(left, top, PLOT, PLOT))
            scores = association.matrix[:, panel.units].max(axis=1)
            k = int(scores.argmax())
            block = codes[:, panel.columns]
            if len(panel.columns) == 2:
                bar_box = Box(left + PLOT + 8, top, BAR, PLOT)
                _plane_panel(axes, panel, block, truth[:, k], spec[k], fig, bar_box)
            else:
                _line_panel(axes, panel, block, truth[:, k], spec[k])
            axes.set_title(
                f"{_kind(panel)} ~ {spec[k].name} ({spec[k].kind}), NMI {scores[k]:.2f}",
                fontsize=9,
            )
        return save_png(fig, path)
