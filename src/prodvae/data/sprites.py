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
    group_by_shape,
)
from prodvae.data.raster import coverage, hsv_to_rgb, length, pixel_grid
from prodvae.data.registry import register_dataset
from prodvae.data.spec import FactorSpec

SHAPES = ("ell", "tee", "half_disc", "sector")
#: radius of a sprite of scale 1, in image half-widths
MAX_RADIUS = 0.36


def box(
    x: torch.Tensor, y: torch.Tensor, centre: tuple[float, float], half: tuple[float, float]
) -> torch.Tensor:
    """Signed distance ``[...]`` from points ``(x, y)`` (each ``[...]``) to an axis-aligned box."""
    qx, qy = (x - centre[0]).abs_().sub_(half[0]), (y - centre[1]).abs_().sub_(half[1])
    inside = torch.maximum(qx, qy).clamp_(max=0.0)
    return length(qx.clamp_(min=0.0), qy.clamp_(min=0.0)).add_(inside)


def disc(x: torch.Tensor, y: torch.Tensor, centre: tuple[float, float], radius: float):
    return length(x - centre[0], y - centre[1]).sub_(radius)


def ell(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """An L: a vertical bar and a foot to the right (no rotational symmetry)."""
    return torch.minimum(
        box(x, y, (-0.35, 0.0), (0.25, 0.8)), box(x, y, (0.15, -0.55), (0.55, 0.25))
    )


def tee(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A T: a top bar over a stem."""
    return torch.minimum(box(x, y, (0.0, 0.55), (0.8, 0.22)), box(x, y, (0.0, -0.15), (0.22, 0.7)))


def half_disc(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The upper half of a disc."""
    return torch.maximum(disc(x, y, (0.0, -0.35), 0.9), (y + 0.35).neg_())


def sector(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A disc with a right-angled wedge cut out on the right (a Pac-Man)."""
    # the wedge is the quadrant {u > 0, v > 0} in coordinates turned by 45 degrees
    c = math.sqrt(0.5)
    u, v = c * (x - y), c * (x + y)
    inside = torch.minimum(u, v).neg_().clamp_(max=0.0)
    quadrant = length(u.neg().clamp_(min=0.0), v.neg().clamp_(min=0.0)).add_(inside)
    return torch.maximum(disc(x, y, (0.0, 0.0), 0.9), quadrant.neg_())


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
        groups = group_by_shape(values, len(SHAPES))
        shape, scale, rotation, hue, x, y = groups.values.unbind(dim=1)
        radius = (MAX_RADIUS * scale)[:, None, None]  # [n, 1, 1]
        reach = 1.0 - MAX_RADIUS - pixel  # centres stay inside the frame
        # shape coordinates: undo the translation, the rotation (counter-clockwise) and scale
        dx = points[..., 0] - ((2 * x - 1) * reach)[:, None, None]  # [n, H, W]
        dy = points[..., 1] - ((2 * y - 1) * reach)[:, None, None]
        cos, sin = torch.cos(rotation)[:, None, None], torch.sin(rotation)[:, None, None]
        local_x, local_y = (cos * dx + sin * dy) / radius, (cos * dy - sin * dx) / radius
        distance = torch.empty_like(local_x)
        for signed_distance, group in zip(DISTANCES, groups.slices):
            if group.start != group.stop:
                distance[group] = signed_distance(local_x[group], local_y[group])
        alpha = coverage(distance * radius, pixel)  # [n, H, W]
        colour = hsv_to_rgb(hue, saturation=0.9, value=1.0)  # [n, 3]
        image = alpha[:, None] * colour[:, :, None, None]
        return image.index_select(0, groups.restore)
