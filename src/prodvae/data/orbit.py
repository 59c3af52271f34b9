"""``orbit``: a ray-cast 3-D scene in the spirit of Shapes3D, with a camera that orbits.

An object (cube, cylinder, sphere or cone) stands on an infinite floor under a fixed
directional light; the camera looks at it from any azimuth (a full orbit, a loop) and a
range of elevations (a segment). Ray intersections are solved in closed form per pixel, in
batches, with torch (:mod:`prodvae.data.raycast`), and only inside the window of pixels each
shape's objects can cover. The floor's brightness rises with the world angle round the
object (a sawtooth with its seam along +x), so every azimuth sees a different floor: the
landmark that makes the orbit identifiable even for an object that is symmetric about the
vertical axis.
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
from prodvae.data.raster import hsv_to_rgb
from prodvae.data.raycast import (
    HALF_FIELD_OF_VIEW,
    HITS,
    MISS,
    REACH,
    Rays,
    camera_rays,
    is_less,
    pixel_window,
    window_extents,
)
from prodvae.data.registry import register_dataset
from prodvae.data.spec import FactorSpec

SHAPES = ("cube", "cylinder", "sphere", "cone")
BASE_HALF_SIZE = 0.5  # object half-width at scale 1; every object is 2 half-widths tall
SKY = (0.78, 0.84, 0.92)


def ground(rays: Rays, floor_rgb: torch.Tensor, elevation: torch.Tensor) -> torch.Tensor:
    """Floor or sky colour ``[n, 3, H, W]`` of every ray, as if the object were absent;
    ``floor_rgb [n, 3]``, camera ``elevation [n]``."""
    # the floor point o + t d with t = -oz / dz, scaled by -dz > 0, which keeps its angle
    x = rays.oz * rays.dx - rays.ox * rays.dz
    y = rays.oz * rays.dy - rays.oy * rays.dz
    turn = torch.atan2(y, x).mul_(1 / (2 * math.pi))
    turn = turn.sub_(turn.floor())  # the sawtooth: [0, 1) from the seam round
    image = floor_rgb[:, :, None, None] * turn.mul_(0.45).add_(0.5)[:, None]
    # a ray rises (dz >= 0) iff its pixel is above tan(elevation) in tangent units, so the
    # sky is confined to the top rows; blend it there only
    size = image.shape[-1]
    horizon = math.tan(elevation.min().item()) / math.tan(HALF_FIELD_OF_VIEW)
    rows = min(size, max(0, math.ceil(size / 2.0 * (1.0 - horizon)) + 1))
    if rows:
        sky = torch.tensor(SKY, device=image.device)[:, None, None]
        rising = (1.0 - is_less(rays.dz[:, :rows], 0.0))[:, None]
        image[:, :, :rows].lerp_(sky.expand(image[:, :, :rows].shape), rising)
    return image


@register_dataset("orbit")
class Orbit(ProceduralDataset):
    """Ray-cast object on a floor; factors shape (points), object_hue and floor_hue (loops,
    period 1), scale (segment), azimuth (loop, radians) and elevation (segment, radians).

    Args:
        image_size: height and width in pixels.
        factor_sizes: grid sizes of (shape, object_hue, floor_hue, scale, azimuth, elevation);
            default ``(4, 10, 10, 8, 30, 5)``, 480,000 images like Shapes3D.
    """

    def __init__(self, image_size: int = 64, factor_sizes: tuple[int, ...] | None = None) -> None:
        sizes = check_sizes(factor_sizes, (4, 10, 10, 8, 30, 5))
        if sizes[0] > len(SHAPES):
            raise ValueError(f"factor_sizes[0] (shapes) must be <= {len(SHAPES)}, got {sizes[0]}")
        spec = (
            FactorSpec("shape", "points", tuple(range(sizes[0]))),
            FactorSpec("object_hue", "loop", grid_values("loop", sizes[1], 0.0, 1.0), 1.0),
            FactorSpec("floor_hue", "loop", grid_values("loop", sizes[2], 0.0, 1.0), 1.0),
            FactorSpec("scale", "segment", grid_values("segment", sizes[3], 0.75, 1.25)),
            FactorSpec(
                "azimuth", "loop", grid_values("loop", sizes[4], 0.0, 2 * math.pi), 2 * math.pi
            ),
            FactorSpec(
                "elevation",
                "segment",
                grid_values("segment", sizes[5], math.radians(10), math.radians(50)),
            ),
        )
        super().__init__(spec, check_image_size(image_size))

    def draw(self, values: torch.Tensor) -> torch.Tensor:
        groups = group_by_shape(values, len(SHAPES))
        shape, object_hue, floor_hue, scale, azimuth, elevation = groups.values.unbind(dim=1)
        rays = camera_rays(azimuth, elevation, self.image_size)
        image = ground(rays, hsv_to_rgb(floor_hue, 0.6, 1.0), elevation)
        paint = hsv_to_rgb(object_hue, 0.85, 1.0)[:, :, None, None]
        radius = BASE_HALF_SIZE * scale
        reach = torch.tensor(REACH, device=values.device)[groups.shape] * radius
        extents = window_extents(azimuth, elevation, reach, 2 * radius)
        for hit, group in zip(HITS, groups.slices):
            if group.start == group.stop:
                continue
            # ray-cast only the pixels where this shape's objects can appear
            rows, cols = pixel_window(extents[group], self.image_size)
            depth, lambert = hit(rays.window(group, rows, cols), radius[group, None, None])
            light = lambert.clamp(0.0, 1.0).nan_to_num_(0.0).mul_(0.65).add_(0.35)
            on_object = is_less(depth, 0.5 * MISS)[:, None]
            window = image[group, :, rows, cols]
            window.lerp_(paint[group] * light[:, None], on_object)
        return image.index_select(0, groups.restore)
