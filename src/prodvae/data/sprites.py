"""``sprites``: 64x64 RGB 2-D sprites with a full-turn rotation loop and a hue loop.

In the spirit of dSprites (Matthey et al. 2017), but every shape lacks rotational symmetry,
so each rotation in ``[0, 2*pi)`` is visible, and the colour runs round the hue circle.
Shapes are exact signed distance functions (unions and intersections of boxes, discs and
half-planes) and are antialiased analytically from the distance.
"""

from __future__ import annotations

import math

import torch

from prodvae.data.procedural import (
    ProceduralDataset,
    check_image_size,
    check_sizes,
    grid_values,
)
from prodvae.data.raster import coverage, hsv_to_rgb, pixel_grid
from prodvae.data.registry import register_dataset
from prodvae.data.spec import FactorSpec

SHAPES = ("ell", "tee", "half_disc", "sector")
#: radius of a sprite of scale 1, in image half-widths
MAX_RADIUS = 0.36


def box(p: torch.Tensor, centre: tuple[float, float], half: tuple[float, float]) -> torch.Tensor:
    """Signed distance ``[...]`` from points ``[..., 2]`` to an axis-aligned box."""
    q = (p - p.new_tensor(centre)).abs() - p.new_tensor(half)
    outside = q.clamp(min=0.0).norm(dim=-1)
    return outside + q.amax(dim=-1).clamp(max=0.0)


def disc(p: torch.Tensor, centre: tuple[float, float], radius: float) -> torch.Tensor:
    return (p - p.new_tensor(centre)).norm(dim=-1) - radius


def ell(p: torch.Tensor) -> torch.Tensor:
    """An L: a vertical bar and a foot to the right (no rotational symmetry)."""
    return torch.minimum(box(p, (-0.35, 0.0), (0.25, 0.8)), box(p, (0.15, -0.55), (0.55, 0.25)))


def tee(p: torch.Tensor) -> torch.Tensor:
    """A T: a top bar over a stem."""
    return torch.minimum(box(p, (0.0, 0.55), (0.8, 0.22)), box(p, (0.0, -0.15), (0.22, 0.7)))


def half_disc(p: torch.Tensor) -> torch.Tensor:
    """The upper half of a disc."""
    return torch.maximum(disc(p, (0.0, -0.35), 0.9), -(p[..., 1] + 0.35))


def sector(p: torch.Tensor) -> torch.Tensor:
    """A disc with a right-angled wedge cut out on the right (a Pac-Man)."""
    # the wedge is the quadrant {u > 0, v > 0} in coordinates turned by 45 degrees
    c = math.sqrt(0.5)
    u = c * (p[..., 0] - p[..., 1])
    v = c * (p[..., 0] + p[..., 1])
    uv = torch.stack([u, v], dim=-1)
    quadrant = (-uv).clamp(min=0.0).norm(dim=-1) + torch.maximum(-u, -v).clamp(max=0.0)
    return torch.maximum(disc(p, (0.0, 0.0), 0.9), -quadrant)


DISTANCES = (ell, tee, half_disc, sector)


@register_dataset("sprites")
class Sprites(ProceduralDataset):
    """2-D sprites; factors shape (points), scale (segment), rotation (loop, radians),
    hue (loop, period 1), x and y (segments in ``[0, 1]``).

    Args:
        image_size: height and width in pixels.
        factor_sizes: grid sizes of (shape, scale, rotation, hue, x, y); at most 4 shapes.
            Default ``(4, 6, 36, 8, 12, 12)``: about a million images, like dSprites.
    """

    def __init__(self, image_size: int = 64, factor_sizes: tuple[int, ...] | None = None) -> None:
        sizes = check_sizes(factor_sizes, (4, 6, 36, 8, 12, 12))
        if sizes[0] > len(SHAPES):
            raise ValueError(f"factor_sizes[0] (shapes) must be <= {len(SHAPES)}, got {sizes[0]}")
        spec = (
            FactorSpec("shape", "points", tuple(range(sizes[0]))),
            FactorSpec("scale", "segment", grid_values("segment", sizes[1], 0.5, 1.0)),
            FactorSpec(
                "rotation", "loop", grid_values("loop", sizes[2], 0, 2 * math.pi), 2 * math.pi
            ),
            FactorSpec("hue", "loop", grid_values("loop", sizes[3], 0.0, 1.0), 1.0),
            FactorSpec("x", "segment", grid_values("segment", sizes[4], 0.0, 1.0)),
            FactorSpec("y", "segment", grid_values("segment", sizes[5], 0.0, 1.0)),
        )
        super().__init__(spec, check_image_size(image_size))

    def draw(self, values: torch.Tensor) -> torch.Tensor:
        pixel = 2.0 / self.image_size
        points = pixel_grid(self.image_size, device=values.device)  # [H, W, 2]
        shape, scale, rotation, hue, x, y = values.unbind(dim=1)
        radius = MAX_RADIUS * scale  # [n]
        reach = 1.0 - MAX_RADIUS - pixel  # centres stay inside the frame
        centre = torch.stack([(2 * x - 1) * reach, (2 * y - 1) * reach], dim=-1)
        # shape coordinates: undo the translation, the rotation (counter-clockwise) and scale
        cos, sin = torch.cos(rotation), torch.sin(rotation)
        d = points[None] - centre[:, None, None, :]  # [n, H, W, 2]
        local_x = cos[:, None, None] * d[..., 0] + sin[:, None, None] * d[..., 1]
        local_y = -sin[:, None, None] * d[..., 0] + cos[:, None, None] * d[..., 1]
        local = torch.stack([local_x, local_y], dim=-1) / radius[:, None, None, None]
        distance = torch.empty(local.shape[:3], device=values.device, dtype=values.dtype)
        which = shape.round().long().clamp(0, len(SHAPES) - 1)
        for index, signed_distance in enumerate(DISTANCES):
            chosen = (which == index).nonzero().squeeze(1)
            if chosen.numel():
                distance[chosen] = signed_distance(local[chosen])
        alpha = coverage(distance * radius[:, None, None], pixel)  # [n, H, W]
        colour = hsv_to_rgb(hue, saturation=0.9, value=1.0)  # [n, 3]
        return alpha[:, None] * colour[:, :, None, None]
