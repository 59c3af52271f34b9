"""Image batches as arrays: checking, converting and tiling them into one picture."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

#: Pixels between tiles.
PAD = 2
#: Tiles are enlarged by an integer factor until they are about this tall on screen.
TARGET_TILE_PX = 128


def as_images(images: torch.Tensor | np.ndarray, name: str = "images") -> np.ndarray:
    """Images ``[n, C, H, W]`` (floats in [0, 1] or uint8) as float32 ``[n, H, W, 3]``.

    One-channel images become grey RGB. Raises ``ValueError`` naming ``name`` for a wrong
    shape, a channel count other than 1 or 3, non-finite values or floats outside [0, 1].
    """
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[1] not in (1, 3) or 0 in array.shape:
        raise ValueError(
            f"{name} must have shape [n, C, H, W] with n >= 1 and C in (1, 3), got {array.shape}"
        )
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    else:
        array = array.astype(np.float32)
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contain non-finite values")
        low, high = float(array.min()), float(array.max())
        if low < -1e-4 or high > 1.0 + 1e-4:
            raise ValueError(f"{name} must lie in [0, 1], got values in [{low:.4g}, {high:.4g}]")
        array = np.clip(array, 0.0, 1.0)
    array = np.moveaxis(array, 1, -1)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return array


def display_scale(height: int) -> int:
    """Integer enlargement that shows an image of ``height`` pixels about 128 pixels tall."""
    return max(1, round(TARGET_TILE_PX / height))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] as uint8 (round to nearest)."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def enlarge(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement of ``[H, W, C]`` by an integer ``scale``."""
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def tile_grid(
    rows: Sequence[np.ndarray], num_columns: int | None = None, fill: float = 1.0
) -> np.ndarray:
    """Rows of images ``[n_r, H, W, 3]`` as one picture ``[R*(H+PAD)+PAD, C*(W+PAD)+PAD, 3]``.

    Rows shorter than ``num_columns`` (default: the longest row) are padded with ``fill``.
    """
    if not rows:
        raise ValueError("tile_grid needs at least one row")
    height, width = rows[0].shape[1:3]
    if any(row.shape[1:] != rows[0].shape[1:] for row in rows):
        raise ValueError("all tiles must have the same [H, W, C] shape")
    num_columns = num_columns or max(len(row) for row in rows)
    canvas = np.full(
        (len(rows) * (height + PAD) + PAD, num_columns * (width + PAD) + PAD, 3),
        fill,
        dtype=np.float32,
    )
    for r, row in enumerate(rows):
        for c, image in enumerate(row[:num_columns]):
            top, left = PAD + r * (height + PAD), PAD + c * (width + PAD)
            canvas[top : top + height, left : left + width] = image
    return canvas
