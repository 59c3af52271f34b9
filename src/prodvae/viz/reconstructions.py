"""The reconstruction grid: inputs on the top row, their reconstructions below."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from prodvae.viz.canvas import Box, FigureFile, add_axes_px, figure_style, new_figure, save_png
from prodvae.viz.tiles import PAD, as_images, display_scale, tile_grid

#: Margins of the grid figure in pixels: room for row labels on the left, a title on top.
LEFT, RIGHT, TOP, BOTTOM = 110, 12, 34, 12


def image_pair(
    inputs: torch.Tensor | np.ndarray, reconstructions: torch.Tensor | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and reconstructions ``[n, C, H, W]`` as checked float ``[n, H, W, 3]`` arrays."""
    top = as_images(inputs, "inputs")
    bottom = as_images(reconstructions, "reconstructions")
    if top.shape != bottom.shape:
        raise ValueError(
            f"inputs {tuple(top.shape)} and reconstructions {tuple(bottom.shape)} differ in shape"
        )
    return top, bottom


def reconstruction_grid(
    inputs: torch.Tensor | np.ndarray, reconstructions: torch.Tensor | np.ndarray
) -> np.ndarray:
    """The two-row picture ``[2*(H+PAD)+PAD, n*(W+PAD)+PAD, 3]`` of inputs over reconstructions.

    ``inputs`` and ``reconstructions`` are ``[n, C, H, W]`` images in [0, 1] (or uint8).
    """
    return tile_grid(list(image_pair(inputs, reconstructions)))


def plot_reconstructions(
    inputs: torch.Tensor | np.ndarray,
    reconstructions: torch.Tensor | np.ndarray,
    path: Path | str,
) -> FigureFile:
    """Write the reconstruction grid of ``[n, C, H, W]`` images to the PNG ``path``.

    Each image is shown at an integer enlargement (about 128 pixels tall); the title gives
    the number of images and the mean squared error per pixel.
    """
    top, bottom = image_pair(inputs, reconstructions)
    grid = tile_grid([top, bottom])
    num_images, height = top.shape[:2]
    scale = display_scale(height)
    error = float(np.mean((top - bottom) ** 2))
    box = Box(LEFT, TOP, grid.shape[1] * scale, grid.shape[0] * scale)
    with figure_style():
        fig = new_figure(int(LEFT + box.width + RIGHT), int(TOP + box.height + BOTTOM))
        axes = add_axes_px(fig, box)
        axes.imshow(grid, interpolation="nearest", extent=(0, grid.shape[1], grid.shape[0], 0))
        axes.set_yticks([PAD + (height + PAD) * r + height / 2 for r in range(2)])
        axes.set_yticklabels(["input", "reconstruction"])
        axes.set_xticks([])
        axes.set_title(f"Reconstructions of {num_images} images (mean squared error {error:.4f})")
        return save_png(fig, path)
