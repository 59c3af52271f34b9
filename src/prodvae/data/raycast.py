"""Closed-form ray casting for the ``orbit`` scene: camera rays, the pixel window an object
can cover, and ray hits with a cube, cylinder, sphere and cone standing on the floor.

Vectors are kept as separate x, y, z planes ``[n, H, W]``, several times faster than
``[..., 3]`` tensors. Masks are float tensors of 0 and 1 made by comparisons written into a
float output, and choices are blends (``lerp``, adding ``MISS``): on the CPU a boolean
``torch.where`` costs about 25 multiplications per element, a float comparison one.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from prodvae.data.raster import pixel_grid

CAMERA_DISTANCE = 4.0
TARGET_HEIGHT = 0.45
HALF_FIELD_OF_VIEW = math.radians(21.0)
_LIGHT = (0.45, 0.25, 0.86)
LIGHT = tuple(c / math.hypot(*_LIGHT) for c in _LIGHT)  # unit vector towards the light
MISS = 1e30  # depth of a ray that misses; added, not assigned, so it stays a blend
WINDOW_SAMPLES = 64


class Rays(NamedTuple):
    """Origins ``o* [n, 1, 1]`` and unit directions ``d* [n, H, W]`` (world frame, z up)."""

    ox: torch.Tensor
    oy: torch.Tensor
    oz: torch.Tensor
    dx: torch.Tensor
    dy: torch.Tensor
    dz: torch.Tensor

    def window(self, images: slice, rows: slice, cols: slice) -> Rays:
        """The rays of ``images`` through the pixel window ``rows x cols`` (views)."""
        origins = [part[images] for part in self[:3]]
        return Rays(*origins, *(part[images, rows, cols] for part in self[3:]))


class Hit(NamedTuple):
    depth: torch.Tensor  # [n, H, W], MISS or more where the ray misses
    lambert: torch.Tensor  # [n, H, W] cosine between the normal and the light (unclamped)


def is_less(a: torch.Tensor, b: torch.Tensor | float) -> torch.Tensor:
    """``1.0`` where ``a < b`` and ``0.0`` elsewhere (NaN compares false), as a float tensor."""
    # an empty output takes the broadcast shape, laid out as ``a`` (torch.broadcast_shapes,
    # in Python, took a tenth of an orbit render)
    return torch.lt(a, b, out=a.new_empty(0))


def camera_basis(azimuth: torch.Tensor, elevation: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Unit vectors ``back, right, up`` of cameras at ``azimuth, elevation [n]``, as nine
    tensors ``[n]`` (x, y, z of each); ``back`` points from the target to the camera."""
    ca, sa, ce, se = azimuth.cos(), azimuth.sin(), elevation.cos(), elevation.sin()
    return ce * ca, ce * sa, se, -sa, ca, torch.zeros_like(ca), -se * ca, -se * sa, ce


def camera_rays(azimuth: torch.Tensor, elevation: torch.Tensor, size: int) -> Rays:
    """Pinhole rays of cameras at ``azimuth, elevation [n]`` looking at the target.

    The direction through pixel ``(u, v)`` (in tangent units) is ``-back + u right + v up``,
    whose length ``sqrt(1 + u^2 + v^2)`` is the same for every camera, so it is normalised
    on the pixel grid once instead of per image.
    """
    pixels = pixel_grid(size, device=azimuth.device) * math.tan(HALF_FIELD_OF_VIEW)
    u, v = pixels[..., 0], pixels[..., 1]
    inverse_length = (1.0 + u * u + v * v).rsqrt()
    u, v, w = u * inverse_length, v * inverse_length, -inverse_length
    col = [c[:, None, None] for c in camera_basis(azimuth, elevation)]
    dx = w * col[0] + u * col[3] + v * col[6]
    dy = w * col[1] + u * col[4] + v * col[7]
    dz = w * col[2] + v * col[8]  # right has no z
    origin = [CAMERA_DISTANCE * col[i] for i in range(3)]
    origin[2] = origin[2] + TARGET_HEIGHT
    return Rays(*origin, dx, dy, dz)


def window_extents(
    azimuth: torch.Tensor, elevation: torch.Tensor, reach: torch.Tensor, height: torch.Tensor
) -> torch.Tensor:
    """Screen extents ``[n, 4]`` = ``(-u_min, u_max, -v_min, v_max)`` (in units of the half
    field, so the frame spans ``[-1, 1]``) of an object standing on the floor inside the upright
    cylinder of radius ``reach [n]`` and height ``height [n]``; ``inf`` for a camera inside it.

    The cylinder's silhouette is bounded by its top and bottom circles (the projection of a
    vertical segment is monotone along it), sampled at ``WINDOW_SAMPLES`` angles; the pixel of
    margin added by :func:`pixel_window` covers the chords.
    """
    angle = torch.linspace(0.0, 2 * math.pi, WINDOW_SAMPLES + 1, device=azimuth.device)[:-1]
    reach, height = reach[:, None], height[:, None]
    basis = [c[:, None] for c in camera_basis(azimuth, elevation)]
    planar = (reach * angle.cos(), reach * angle.sin())
    us, vs, depths = [], [], []
    for top in (torch.zeros_like(height), height):
        # from the camera to points of the circle at height ``top``
        w = (
            planar[0] - CAMERA_DISTANCE * basis[0],
            planar[1] - CAMERA_DISTANCE * basis[1],
            top - CAMERA_DISTANCE * basis[2] - TARGET_HEIGHT,
        )
        depth = -(w[0] * basis[0] + w[1] * basis[1] + w[2] * basis[2])
        us.append((w[0] * basis[3] + w[1] * basis[4]) / depth)
        vs.append((w[0] * basis[6] + w[1] * basis[7] + w[2] * basis[8]) / depth)
        depths.append(depth)
    u, v = torch.cat(us, dim=1), torch.cat(vs, dim=1)
    extents = torch.stack([-u.amin(1), u.amax(1), -v.amin(1), v.amax(1)], dim=1)
    extents = extents / math.tan(HALF_FIELD_OF_VIEW)
    inside = torch.cat(depths, dim=1).amin(1) <= 1e-3
    return extents.masked_fill(inside[:, None], math.inf)


def pixel_window(extents: torch.Tensor, size: int) -> tuple[slice, slice]:
    """Rows and columns of the smallest window of a ``size`` frame holding the screen extents
    ``[n, 4]`` of :func:`window_extents` of every image, with a pixel of margin."""
    left, right, down, up = (min(e, 2.0) for e in extents.amax(0).tolist())
    half = size / 2.0

    def span(before: float, after: float) -> slice:
        # pixel j's centre sits at (j + 1/2) / half - 1 from the frame's centre (downwards
        # for rows); keep the j whose centre lies in [-before, after]
        first = min(size, max(0, math.floor(half * (1.0 - before) - 0.5) - 1))
        last = min(size, math.ceil(half * (1.0 + after) - 0.5) + 2)
        return slice(first, max(first, last))

    return span(up, down), span(left, right)


def _nearest(t: torch.Tensor, miss: torch.Tensor) -> torch.Tensor:
    """Depth ``t``, pushed past ``MISS`` where ``miss`` is 1 or ``t`` is not ahead."""
    return torch.add(t, torch.maximum(miss, is_less(t, 1e-12)), alpha=MISS)


def _root(discriminant: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``sqrt(max(discriminant, 0))`` and the mask where it is imaginary."""
    return discriminant.clamp(min=0.0).sqrt(), is_less(discriminant, 0.0)


def _outside(z: torch.Tensor, low: torch.Tensor | float, high: torch.Tensor) -> torch.Tensor:
    """Mask of ``z`` outside ``[low, high]``."""
    return torch.maximum(is_less(z, low), is_less(high, z))


def hit_sphere(rays: Rays, r: torch.Tensor) -> Hit:
    """A sphere of radius ``r [n, 1, 1]`` resting on the floor."""
    ox, oy, oz, dx, dy, dz = rays
    cz = oz - r  # the centre is at height r
    b = ox * dx + oy * dy + cz * dz
    root, imaginary = _root(b * b - (ox * ox + oy * oy + cz * cz - r * r))
    t = _nearest(-b - root, imaginary)
    # normal = (o + t d - centre) / r, dotted with the light
    constant = (ox * LIGHT[0] + oy * LIGHT[1] + cz * LIGHT[2]) / r
    along = (dx * LIGHT[0] + dy * LIGHT[1] + dz * LIGHT[2]) / r
    return Hit(t, constant + t.clamp(max=1e3) * along)


def hit_cube(rays: Rays, r: torch.Tensor) -> Hit:
    """An axis-aligned cube of half-width ``r [n, 1, 1]`` standing on the floor."""
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
    facing = [d.sign() * -light for d, light in zip((dx, dy, dz), LIGHT)]
    lambert = torch.lerp(facing[2], facing[1], torch.eq(near, entries[1]).to(near.dtype))
    lambert = torch.lerp(lambert, facing[0], torch.eq(near, entries[0]).to(near.dtype))
    return Hit(_nearest(near, is_less(far, near)), lambert)


def hit_cylinder(rays: Rays, r: torch.Tensor) -> Hit:
    """A vertical cylinder of radius ``r [n, 1, 1]`` and height ``2 r`` on the floor."""
    ox, oy, oz, dx, dy, dz = rays
    a = dx * dx + dy * dy
    b = ox * dx + oy * dy
    root, imaginary = _root(b * b - a * (ox * ox + oy * oy - r * r))
    side = (-b - root) / a
    side = _nearest(side, torch.maximum(imaginary, _outside(oz + side * dz, 0.0, 2 * r)))
    cap = (2 * r - oz) / dz
    cx, cy = ox + cap * dx, oy + cap * dy
    cap = _nearest(cap, is_less(r * r, cx * cx + cy * cy))
    s = side.clamp(max=1e3)
    radial = ((ox + s * dx) * LIGHT[0] + (oy + s * dy) * LIGHT[1]) / r
    on_cap = is_less(cap, side)
    return Hit(torch.fmin(side, cap), torch.lerp(radial, torch.full_like(radial, LIGHT[2]), on_cap))


def hit_cone(rays: Rays, r: torch.Tensor) -> Hit:
    """An upright cone of base radius ``r [n, 1, 1]`` and height ``2 r`` on the floor:
    ``x^2 + y^2 = k^2 (h - z)^2`` with ``k = 1/2``."""
    ox, oy, oz, dx, dy, dz = rays
    height, k2 = 2 * r, 0.25
    w = height - oz
    a = dx * dx + dy * dy - k2 * dz * dz
    b = ox * dx + oy * dy + k2 * w * dz
    root, imaginary = _root(b * b - a * (ox * ox + oy * oy - k2 * w * w))
    roots = [
        _nearest(t, torch.maximum(imaginary, _outside(oz + t * dz, 0.0, height)))
        for t in ((-b - root) / a, (-b + root) / a)
    ]
    best = torch.fmin(*roots)
    t = best.clamp(max=1e3)
    px, py, pz = ox + t * dx, oy + t * dy, oz + t * dz
    gz = k2 * (height - pz)  # gradient (x, y, k^2 (h - z)), normalised below
    lambert = (px * LIGHT[0] + py * LIGHT[1] + gz * LIGHT[2]) * (
        px * px + py * py + gz * gz
    ).rsqrt()
    return Hit(best, lambert)


HITS = (hit_cube, hit_cylinder, hit_sphere, hit_cone)
# horizontal reach of each shape over its half-width: a cube's corners are sqrt(2) out
REACH = (math.sqrt(2.0), 1.0, 1.0, 1.0)
