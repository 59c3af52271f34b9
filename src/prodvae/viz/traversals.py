"""Latent traversals that follow each factor's topology.

Each latent factor is moved along its low-energy set while the others stay at a base code
(:meth:`ProductSpace.traverse`): a loop goes once around its circle and ends on its first
frame, a point set visits each of its points, a segment runs from one end to the other, and
a Euclidean axis sweeps from -2 to +2 prior standard deviations. The rows are decoded in one
batch and drawn as one grid with a row per factor (and per axis of a Euclidean block).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from prodvae.spaces import Factor, ProductSpace
from prodvae.viz.canvas import Box, FigureFile, add_axes_px, figure_style, new_figure, save_png
from prodvae.viz.tiles import PAD, as_images, display_scale, tile_grid

#: A decoder: codes ``[n, dim]`` to images ``[n, C, H, W]`` in [0, 1].
Decode = Callable[[Tensor], Tensor]


class TraversalPath(NamedTuple):
    """The codes of one traversal row, before decoding."""

    label: str  # e.g. "z0 loop: radius=3, width=0.5"
    topology: str
    codes: Tensor  # [steps, dim]
    positions: np.ndarray  # [steps] where each step is along the factor
    position_name: str  # what ``positions`` measure, for the axis label


class Traversal(NamedTuple):
    """One decoded traversal row."""

    path: TraversalPath
    images: np.ndarray  # [steps, H, W, 3] floats in [0, 1]


def factor_label(index: int, factor: Factor, axis: int | None = None) -> str:
    """``"z{index} {name} [{topology}]: params"``, naming the axis of a multi-axis block."""
    kind = factor.name if factor.topology == factor.name else f"{factor.name} [{factor.topology}]"
    params = ", ".join(f"{key}={value:g}" for key, value in factor.params().items())
    where = f" axis {axis}" if axis is not None else ""
    return f"z{index} {kind}{where}: {params}"


def _angle_degrees(block: Tensor) -> np.ndarray:
    """Unwrapped angle of the first two axes in degrees, starting in [0, 360)."""
    angle = np.unwrap(np.arctan2(block[:, 1].numpy(), block[:, 0].numpy()))
    return np.degrees(angle - 2 * math.pi * math.floor(angle[0] / (2 * math.pi)))


def _positions(factor: Factor, block: Tensor, axis: int) -> tuple[np.ndarray, str]:
    """Where each step of ``block [steps, d]`` lies along ``factor``, and what that measures."""
    reading = factor.reading
    if reading.columns in ("angle", "direction") and block.shape[1] >= 2:
        return _angle_degrees(block), "angle (degrees)"
    if reading.is_index:
        return factor.coordinate(block).numpy().astype(np.float64), "point index"
    if reading.per_axis:
        return block[:, axis].numpy(), f"axis {axis} (prior standard deviations)"
    return block[:, axis].numpy(), "latent value"


def traversal_paths(
    space: ProductSpace, num_steps: int = 9, base: Tensor | None = None
) -> list[TraversalPath]:
    """One :class:`TraversalPath` per factor (per axis for a Euclidean block), in order.

    ``base [dim]`` is the code the other factors are held at (default: the projection of 0).
    """
    if num_steps < 2:
        raise ValueError(f"num_steps must be >= 2, got {num_steps}")
    if base is None:
        base = space.project(torch.zeros(1, space.dim, dtype=torch.float64))[0]
    base = torch.as_tensor(base, dtype=torch.float64).detach().cpu()
    if not torch.isfinite(base).all():
        raise ValueError("base contains non-finite values")
    paths = []
    for index, (factor, where) in enumerate(zip(space.factors, space.slices)):
        axes = range(factor.dim) if factor.reading.per_axis else [None]
        for axis in axes:
            codes = space.traverse(index, num_steps, base)
            if axis is not None:  # a Euclidean axis: sweep that column, hold the rest at base
                codes[:, where] = base[where]
                codes[:, where.start + axis] = factor.traverse(num_steps, axis=axis)[:, axis]
            label = factor_label(index, factor, axis if factor.dim > 1 else None)
            positions, name = _positions(factor, codes[:, where], axis or 0)
            paths.append(TraversalPath(label, factor.topology, codes, positions, name))
    return paths


def traverse_space(
    space: ProductSpace,
    decode: Decode,
    num_steps: int = 9,
    base: Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> list[Traversal]:
    """Decode every traversal row of ``space`` in one batch.

    ``decode`` maps codes ``[n, dim]`` (of ``dtype``) to images ``[n, C, H, W]`` in [0, 1].
    """
    paths = traversal_paths(space, num_steps, base)
    codes = torch.cat([path.codes for path in paths]).to(dtype)
    with torch.no_grad():
        images = as_images(decode(codes), "decoded traversal images")
    if len(images) != len(codes):
        raise ValueError(f"decode returned {len(images)} images for {len(codes)} codes")
    sizes = [len(path.codes) for path in paths]
    chunks = np.split(images, np.cumsum(sizes)[:-1])
    return [Traversal(path, chunk) for path, chunk in zip(paths, chunks)]


#: Layout of the traversal grid in pixels.
LEFT, RIGHT, TOP, ROW_TITLE, ROW_TICKS, MIN_WIDTH = 16, 16, 36, 20, 40, 480


def plot_traversals(traversals: list[Traversal], path: Path | str) -> FigureFile:
    """Write the traversal grid (a row per traversal, titled with factor name and kind)."""
    if not traversals:
        raise ValueError("traversals must not be empty")
    height, width = traversals[0].images.shape[1:3]
    scale = display_scale(height)
    num_columns = max(len(t.images) for t in traversals)
    strip_w = (num_columns * (width + PAD) + PAD) * scale
    strip_h = (height + 2 * PAD) * scale
    row_h = ROW_TITLE + strip_h + ROW_TICKS
    fig_w = max(MIN_WIDTH, LEFT + strip_w + RIGHT)
    with figure_style():
        fig = new_figure(fig_w, TOP + row_h * len(traversals))
        fig.suptitle("Latent traversals (each row moves one factor along its topology)", y=0.995)
        for row, traversal in enumerate(traversals):
            box = Box(LEFT, TOP + row * row_h + ROW_TITLE, strip_w, strip_h)
            _draw_row(add_axes_px(fig, box), traversal, num_columns)
        return save_png(fig, path)


def _draw_row(axes, traversal: Traversal, num_columns: int) -> None:
    """One traversal strip with its title and position ticks."""
    strip = tile_grid([traversal.images], num_columns)
    height, width = traversal.images.shape[1:3]
    axes.imshow(strip, interpolation="nearest", extent=(0, strip.shape[1], strip.shape[0], 0))
    centres = [PAD + (width + PAD) * c + width / 2 for c in range(len(traversal.images))]
    axes.set_xticks(centres)
    axes.set_xticklabels([f"{p:.3g}" for p in traversal.path.positions])
    axes.set_yticks([])
    axes.set_xlabel(traversal.path.position_name, labelpad=1)
    axes.set_title(traversal.path.label, loc="left", pad=3)
