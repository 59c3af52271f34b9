"""Tiny synthetic images for objective tests: a bright blob placed by angles on circles."""

from __future__ import annotations

import math

import torch


def blob_images(angles: torch.Tensor, size: int = 32, sigma: float = 0.2) -> torch.Tensor:
    """One blob per column of ``angles [n, k]``, on circles of radius 0.6 · (1 - 0.35 i).

    Returns float images ``[n, 1, size, size]`` in [0, 1].
    """
    axis = torch.linspace(-1, 1, size, dtype=torch.float32)
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    image = torch.zeros(angles.shape[0], size, size)
    for i in range(angles.shape[1]):
        radius = 0.6 * (1 - 0.35 * i)
        cx = radius * torch.cos(angles[:, i])[:, None, None]
        cy = radius * torch.sin(angles[:, i])[:, None, None]
        image = torch.maximum(image, torch.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2)))
    return image[:, None]


def ring_angles(n: int, k: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
    """``[n, k]`` angles uniform on the circle."""
    return 2 * math.pi * torch.rand(n, k, generator=generator)
