"""Small torch helpers shared by the procedural renderers: pixel grids, coverage, colour."""

from __future__ import annotations

import torch


def pixel_grid(size: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Pixel-centre coordinates ``[size, size, 2]`` (x right, y up) spanning ``[-1, 1]``."""
    step = 2.0 / size
    ticks = -1.0 + step * (torch.arange(size, device=device, dtype=torch.float32) + 0.5)
    y, x = torch.meshgrid(-ticks, ticks, indexing="ij")
    return torch.stack([x, y], dim=-1)


def length(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sqrt(x^2 + y^2)`` of two planes ``[...]`` (about twice as fast as ``torch.hypot`` on
    the CPU; no care for overflow, which coordinates of a picture never reach)."""
    return (x * x).add_(y * y).sqrt_()


def coverage(distance: torch.Tensor, pixel: float) -> torch.Tensor:
    """Antialiased coverage of a shape from its signed distance (negative inside).

    A pixel of width ``pixel`` is half covered on the boundary; the ramp is one pixel wide,
    which is the box-filtered coverage of a straight edge crossing the pixel square.
    """
    return (0.5 - distance / pixel).clamp(0.0, 1.0)


def hsv_to_rgb(hue: torch.Tensor, saturation: float, value: float) -> torch.Tensor:
    """RGB ``[..., 3]`` of hues ``[...]`` (period 1) at fixed saturation and value.

    Uses the piecewise-linear HSV hexcone, which is continuous and 1-periodic in the hue.
    """
    hue = hue.remainder(1.0)
    offsets = torch.tensor([5.0, 3.0, 1.0], device=hue.device, dtype=hue.dtype)
    k = (offsets + 6.0 * hue[..., None]).remainder(6.0)
    ramp = torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)
    return value - value * saturation * ramp


def to_uint8(images: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Quantise images in ``[0, 1]`` to uint8 ``[0, 255]`` by rounding (halves up), into
    ``out`` when given; ``images`` is overwritten."""
    scaled = images.mul_(255.0).add_(0.5).clamp_(0.0, 255.0)
    if out is None:
        return scaled.to(torch.uint8)  # float to integer conversion truncates
    return out.copy_(scaled)
