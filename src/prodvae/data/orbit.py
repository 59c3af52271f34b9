"""``orbit``: a ray-cast 3-D scene in the spirit of Shapes3D, with a camera that orbits.

An object (cube, cylinder, sphere or cone) stands on an infinite floor under a fixed
directional light; the camera looks at it from any azimuth (a full orbit, a loop) and a
range of elevations (a segment). Ray intersections are solved in closed form per pixel, in
batches, with torch; vectors are kept as separate x, y, z planes ``[n, H, W]``, which is
several times faster than ``[..., 3]`` tensors. The floor's brightness rises with the world
angle round the object (a sawtooth with its seam along +x), so every azimuth sees a
different floor: the landmark that makes the orbit identifiable even for an object that is
symmetric about the vertical axis.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from prodvae.data.procedural import ProceduralDataset, check_image_size, check_sizes, grid_values
from prodvae.data.raster import hsv_to_rgb, pixel_grid
from prodvae.data.registry import register_dataset
from prodvae.data.spec import FactorSpec

SHAPES = ("cube", "cylinder", "sphere", "cone")
BASE_HALF_SIZE = 0.5  # object half-width at scale 1; every object is 2 half-widths tall
CAMERA_DISTANCE = 4.0
TARGET_HEIGHT = 0.45
HALF_FIELD_OF_VIEW = math.radians(21.0)
_LIGHT = (0.45, 0.25, 0.86)
LIGHT = tuple(c / math.hypot(*_LIGHT) for c in _LIGHT)  # unit vector towards the light
SKY = (0.78, 0.84, 0.92)
MISS = float("inf")


class Rays(NamedTuple):
    """Origins ``o* [n, 1, 1]`` and unit directions ``d* [n, H, W]`` (world frame, z up)."""

    ox: torch.Tensor
    oy: torch.Tensor
    oz: torch.Tensor
    dx: torch.Tensor
    dy: torch.Tensor
    dz: torch.Tensor

    def select(self, chosen: torch.Tensor) -> Rays:
        return Rays(*(part[chosen] for part in self))


class Hit(NamedTuple):
    depth: torch.Tensor  # [n, H, W], inf where the ray misses
    lambert: torch.Tensor  # [n, H, W] cosine between the normal and the light (unclamped)


def camera_rays(azimuth: torch.Tensor, elevation: torch.Tensor, size: int) -> Rays:
    """Pinhole rays of cameras at ``azimuth, elevation [n]`` looking at the object."""
    ca, sa, ce, se = azimuth.cos(), azimuth.sin(), elevation.cos(), elevation.sin()
    back = (ce * ca, ce * sa, se)  # from the target to the camera
    right = (-sa, ca, torch.zeros_like(ca))
    up = (-se * ca, -se * sa, ce)  # right x forward
    pixels = pixel_grid(size, device=azimuth.device) * math.tan(HALF_FIELD_OF_VIEW)
    u, v = pixels[..., 0], pixels[..., 1]
    col = [c[:, None, None] for c in (*back, *right, *up)]
    d = [-col[i] + u * col[3 + i] + v * col[6 + i] for i in range(3)]
    inverse_length = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).rsqrt()
    origin = [CAMERA_DISTANCE * col[i] for i in range(3)]
    origin[2] = origin[2] + TARGET_HEIGHT
    return Rays(*origin, *(c * inverse_length for c in d))


def _nearest(t: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    return torch.where(ok & (t > 0), t, MISS)


def _root(discriminant: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``sqrt(max(discriminant, 0))`` and where it is real (a sqrt of negatives is slow)."""
    return discriminant.clamp(min=0.0).sqrt(), discriminant >= 0


def hit_sphere(rays: Rays, r: torch.Tensor) -> Hit:
    ox, oy, oz, dx, dy, dz = rays
    cz = oz - r  # the centre is at height r
    b = ox * dx + oy * dy + cz * dz
    root, real = _root(b * b - (ox * ox + oy * oy + cz * cz - r * r))
    t = _nearest(-b - root, real)
    # normal = (o + t d - centre) / r, dotted with the light
    constant = (ox * LIGHT[0] + oy * LIGHT[1] + cz * LIGHT[2]) / r
    along = (dx * LIGHT[0] + dy * LIGHT[1] + dz * LIGHT[2]) / r
    return Hit(t, constant + t.clamp(max=1e3) * along)


def hit_cube(rays: Rays, r: torch.Tensor) -> Hit:
    ox, oy, oz, dx, dy, dz = rays
    entries, exits = [], []
    for o, d, low, high in ((ox, dx, -r, r), (oy, dy, -r, r), (oz, dz, torch.zeros_like(r), 2 * r)):
        inverse = 1.0 / d
        a, b = (low - o) * inverse, (high - o) * inverse
        entries.append(torch.minimum(a, b))
        exits.append(torch.maximum(a, b))
    near = torch.maximum(torch.maximum(entries[0], entries[1]), entries[2])
    far = torch.minimum(torch.minimum(exits[0], exits[1]), exits[2])
    # the face entered is the slab entered last; its outward normal opposes the ray
    facing = [-d.sign() * light for d, light in zip((dx, dy, dz), LIGHT)]
    lambert = torch.where(
        near == entries[0], facing[0], torch.where(near == entries[1], facing[1], facing[2])
    )
    return Hit(_nearest(near, near <= far), lambert)


def hit_cylinder(rays: Rays, r: torch.Tensor) -> Hit:
    """A vertical cylinder of radius ``r`` and height ``2 r`` standing on the floor."""
    ox, oy, oz, dx, dy, dz = rays
    a = dx * dx + dy * dy
    b = ox * dx + oy * dy
    root, real = _root(b * b - a * (ox * ox + oy * oy - r * r))
    side = (-b - root) / a
    z = oz + side * dz
    side = _nearest(side, real & (z >= 0) & (z <= 2 * r))
    cap = (2 * r - oz) / dz
    cx, cy = ox + cap * dx, oy + cap * dy
    cap = _nearest(cap, cx * cx + cy * cy <= r * r)
    s = side.clamp(max=1e3)
    radial = ((ox + s * dx) * LIGHT[0] + (oy + s * dy) * LIGHT[1]) / r
    return Hit(torch.minimum(side, cap), torch.where(cap < side, LIGHT[2], radial))


def hit_cone(rays: Rays, r: torch.Tensor) -> Hit:
    """An upright cone of base radius ``r`` and height ``2 r`` standing on the floor:
    ``x^2 + y^2 = k^2 (h - z)^2`` with ``k = 1/2``."""
    ox, oy, oz, dx, dy, dz = rays
    height, k2 = 2 * r, 0.25
    w = height - oz
    a = dx * dx + dy * dy - k2 * dz * dz
    b = ox * dx + oy * dy + k2 * w * dz
    root, real = _root(b * b - a * (ox * ox + oy * oy - k2 * w * w))
    best = torch.full_like(a, MISS)
    for t in ((-b - root) / a, (-b + root) / a):
        z = oz + t * dz
        best = torch.minimum(best, _nearest(t, real & (z >= 0) & (z <= height)))
    t = best.clamp(max=1e3)
    px, py, pz = ox + t * dx, oy + t * dy, oz + t * dz
    gz = k2 * (height - pz)  # gradient (x, y, k^2 (h - z)), normalised below
    lambert = (px * LIGHT[0] + py * LIGHT[1] + gz * LIGHT[2]) * (
        px * px + py * py + gz * gz
    ).rsqrt()
    return Hit(best, lambert)


HITS = (hit_cube, hit_cylinder, hit_sphere, hit_cone)


def ground(rays: Rays, floor_rgb: torch.Tensor) -> list[torch.Tensor]:
    """Floor or sky colour planes ``3 x [n, H, W]`` where a ray misses the object."""
    t = (-rays.oz / rays.dz).clamp(min=0.0, max=1e3)
    turn = torch.atan2(rays.oy + t * rays.dy, rays.ox + t * rays.dx) / (2 * math.pi)
    shade = 0.5 + 0.45 * turn.remainder(1.0)
    below = rays.dz < 0
    return [torch.where(below, floor_rgb[:, c, None, None] * shade, SKY[c]) for c in range(3)]


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
        shape, object_hue, floor_hue, scale, azimuth, elevation = values.unbind(dim=1)
        rays = camera_rays(azimuth, elevation, self.image_size)
        radius = (BASE_HALF_SIZE * scale)[:, None, None]
        depth = torch.full_like(rays.dx, MISS)
        lambert = torch.zeros_like(rays.dx)
        which = shape.round().long().clamp(0, len(SHAPES) - 1)
        for index, hit in enumerate(HITS):
            chosen = (which == index).nonzero().squeeze(1)
            if chosen.numel():
                depth[chosen], lambert[chosen] = hit(rays.select(chosen), radius[chosen])
        light = 0.35 + 0.65 * lambert.clamp(min=0.0)
        paint = hsv_to_rgb(object_hue, 0.85, 1.0)
        background = ground(rays, hsv_to_rgb(floor_hue, 0.6, 1.0))
        on_object = torch.isfinite(depth)
        planes = [
            torch.where(on_object, paint[:, c, None, None] * light, background[c]) for c in range(3)
        ]
        return torch.stack(planes, dim=1)
