"""Small files in the real schemas of the standard datasets, with images drawn to show each
factor with its declared topology.

These are SYNTHETIC images, not the real datasets (which cannot be downloaded here). Each
writer puts into a folder the file its loader reads, under the real file name, keys, array
layout and label convention (reduced grids where the loader accepts them), and draws every
image with numpy so that a reader of the images could tell each factor's topology:

- a **loop** is a hue running round the colour circle or an asymmetric object turning a full
  circle;
- a **segment** is a position, size, tilt or foreshortening changing monotonically in small
  steps, each image overlapping its neighbours;
- **points** are clearly different, unrelated shapes, colours or light patterns, not a
  graded sequence.

Tests built on them check the loaders plus the discovery pipeline (:mod:`prodvae.discover`)
end to end; they say nothing about what discovery finds on the real datasets. Some drawing
choices were made so that the model-free reading (blurred pixel distances, persistent
homology) sees what a person sees, and may not hold for the real images:

- dSprites' sprites are binary, as in the public file, and large (the square's side is 36 px
  of 64 at scale 1): a small binary square turning reads as noise, not as a loop;
- Cars3D's cars carry their mass towards the tail and are seen from 30 to 60 degrees, and
  smallNORB's toys stand off the turntable's axis: an elongated object turning about its
  middle looks nearly alike half a turn apart, which hides the loop;
- every point factor is tested with 2 or 3 values (4 for Shapes3D's shapes): six colours
  or shapes are not all far apart from each other, and read as a segment.

Each ``write_*`` takes the folder and the number of values per factor (in the loader's factor
order; 1 keeps a factor constant) and returns the path written.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from prodvae.data import get_dataset

# --- drawing ----------------------------------------------------------------------------
# Images live on [-1, 1]^2 (x to the right, y down, pixel centres); shapes are signed
# distance functions (negative inside), turned into anti-aliased coverage per pixel.


def plane(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(x, y)``, each ``[size, size]``, on ``[-1, 1]``."""
    axis = (np.arange(size) + 0.5) / size * 2 - 1
    y, x = np.meshgrid(axis, axis, indexing="ij")
    return x, y


def coverage(sd: np.ndarray, size: int) -> np.ndarray:
    """Anti-aliased coverage in ``[0, 1]`` of a shape with signed distance ``sd``."""
    return np.clip(0.5 - sd * size / 2, 0.0, 1.0)


def rotated(x: np.ndarray, y: np.ndarray, cx: float, cy: float, angle: float):
    """Coordinates relative to ``(cx, cy)`` in a frame turned by ``angle`` (radians)."""
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = x - cx, y - cy
    return c * dx + s * dy, -s * dx + c * dy


def disc(x, y, cx, cy, r):
    return np.hypot(x - cx, y - cy) - r


def box(x, y, cx, cy, half_w, half_h, angle=0.0):
    u, v = rotated(x, y, cx, cy, angle)
    return np.maximum(np.abs(u) - half_w, np.abs(v) - half_h)


def stadium(x, y, cx, cy, half_length, r, angle=0.0):
    u, v = rotated(x, y, cx, cy, angle)
    return np.hypot(np.maximum(np.abs(u) - half_length, 0.0), v) - r


def convex_hull(points: np.ndarray) -> np.ndarray:
    """The convex hull ``[m, 2]`` of ``points [n, 2]``, counter-clockwise (monotone chain)."""
    pts = sorted({(float(px), float(py)) for px, py in points})
    if len(pts) < 3:
        return np.asarray(pts)

    def half(seq):
        chain: list[tuple[float, float]] = []
        for p in seq:
            while len(chain) >= 2:
                (ax, ay), (bx, by) = chain[-2], chain[-1]
                if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) > 0:
                    break
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(pts[::-1])
    return np.asarray(lower[:-1] + upper[:-1])  # fewer than 3 points when all in a line


def polygon(x, y, vertices) -> np.ndarray:
    """Signed distance of the convex hull of ``vertices``: the nearest edge outside, the
    largest edge half-plane distance inside (exact up to the rounding of its corners)."""
    v = convex_hull(np.asarray(vertices, dtype=np.float64))
    if len(v) < 3:  # a flat polygon covers nothing
        return np.full(x.shape, np.inf)
    inside = np.full(x.shape, -np.inf)
    outside = np.full(x.shape, np.inf)
    for (ax, ay), (bx, by) in zip(v, np.roll(v, -1, axis=0)):
        ex, ey = bx - ax, by - ay
        squared = ex * ex + ey * ey
        # the hull runs counter-clockwise: the inside is on the left of every edge
        inside = np.maximum(inside, (ey * (x - ax) - ex * (y - ay)) / math.sqrt(squared))
        t = np.clip(((x - ax) * ex + (y - ay) * ey) / squared, 0.0, 1.0)
        outside = np.minimum(outside, np.hypot(x - ax - t * ex, y - ay - t * ey))
    return np.where(inside > 0, outside, inside)


def polygon_coverage(vertices, size: int) -> np.ndarray:
    """The coverage ``[size, size]`` of a convex polygon, worked out only around it."""
    v = np.asarray(vertices, dtype=np.float64)
    cover = np.zeros((size, size))
    lo = np.clip(np.floor((v.min(axis=0) + 1) * size / 2 - 1), 0, size).astype(int)
    hi = np.clip(np.ceil((v.max(axis=0) + 1) * size / 2 + 1), 0, size).astype(int)
    if (hi <= lo).any():
        return cover
    axis = (np.arange(size) + 0.5) / size * 2 - 1
    y, x = np.meshgrid(axis[lo[1] : hi[1]], axis[lo[0] : hi[0]], indexing="ij")
    cover[lo[1] : hi[1], lo[0] : hi[0]] = coverage(polygon(x, y, v), size)
    return cover


def paint(image: np.ndarray, colour, cover: np.ndarray) -> None:
    """Paint ``colour`` (a scalar or an RGB triple in ``[0, 1]``) over ``image`` where
    ``cover`` says, in place."""
    cover = cover[..., None] if image.ndim == 3 else cover
    image *= 1 - cover
    image += cover * np.asarray(colour, dtype=np.float64)


def hsv(hue: float, saturation: float, value: float) -> np.ndarray:
    return np.asarray(colorsys.hsv_to_rgb(hue % 1.0, saturation, value))


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


def span(lo: float, hi: float, n: int, single: float | None = None) -> np.ndarray:
    """``n`` evenly spaced values from ``lo`` to ``hi``; when ``n == 1``, ``single`` (by
    default their middle)."""
    if n > 1:
        return np.linspace(lo, hi, n)
    return np.array([(lo + hi) / 2 if single is None else single])


def cycle(period: float, n: int) -> np.ndarray:
    """``n`` evenly spaced values over one period, without the end point."""
    return np.arange(n) * (period / n)


def product(*axes: Sequence[float]) -> np.ndarray:
    """Every combination of ``axes`` as rows ``[N, K]``, the last axis fastest."""
    mesh = np.meshgrid(*[np.asarray(a, dtype=np.float64) for a in axes], indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def check_sizes(sizes: Sequence[int], count: int, name: str) -> tuple[int, ...]:
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) != count or min(sizes) < 1:
        raise ValueError(f"{name}: need {count} positive sizes, got {sizes}")
    return sizes


# --- Shapes3D ---------------------------------------------------------------------------
#: loader factor order: floor_hue, wall_hue, object_hue, scale, shape, orientation
SHAPES3D_SIZES = (12, 12, 12, 1, 1, 1)


def shapes3d_image(floor, wall, obj, scale, shape, orientation, size=32) -> np.ndarray:
    """A room: wall above a floor whose edge tilts with ``orientation`` (degrees), an object
    of hue ``obj`` on the floor, its silhouette by ``shape`` (cube, cylinder, sphere,
    capsule) and its size by ``scale``."""
    x, y = plane(size)
    image = np.empty((size, size, 3))
    image[:] = hsv(wall, 0.7, 0.95)
    edge = -0.1 + math.tan(math.radians(orientation)) * x
    paint(image, hsv(floor, 0.7, 0.7), coverage(edge - y, size))
    r = 0.32 * scale
    cy = 0.3
    silhouettes = {
        0: lambda: box(x, y, 0, cy, 0.85 * r, 0.85 * r),  # cube
        1: lambda: box(x, y, 0, cy, 0.45 * r, 1.15 * r),  # cylinder, standing
        2: lambda: disc(x, y, 0, cy, r),  # sphere
        3: lambda: stadium(x, y, 0, cy, 0.9 * r, 0.45 * r),  # capsule, lying
    }
    paint(image, hsv(obj, 0.9, 0.9), coverage(silhouettes[int(shape)](), size))
    return to_uint8(image)


def write_shapes3d(folder: Path, sizes: Sequence[int] = SHAPES3D_SIZES, size: int = 32) -> Path:
    """``3dshapes.h5``: ``images`` (N, size, size, 3) uint8 and ``labels`` (N, 6) float64.

    Hues are ``k / n`` (loops of period 1, as the real file's ten), scale runs over 0.75..1.25
    and orientation over -30..30 degrees (segments), shape takes the values 0, 1, 2, 3.
    """
    n = check_sizes(sizes, 6, "shapes3d")
    if n[4] > 4:
        raise ValueError("shapes3d has 4 shapes")
    labels = product(
        cycle(1.0, n[0]),
        cycle(1.0, n[1]),
        cycle(1.0, n[2]),
        span(0.75, 1.25, n[3]),
        np.arange(n[4]),
        span(-30.0, 30.0, n[5]),
    )
    images = np.stack([shapes3d_image(*row, size=size) for row in labels])
    path = Path(folder) / "3dshapes.h5"
    with h5py.File(path, "w") as handle:
        handle["images"], handle["labels"] = images, labels
    return path


# --- dSprites ---------------------------------------------------------------------------
DSPRITES_FILE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5"
#: loader factor order: shape, scale, orientation (stored values, with the repeated end
#: point), posX, posY
DSPRITES_SIZES = (3, 1, 40, 1, 1)


def dsprites_sprite(shape, scale, orientation, pos_x, pos_y, size=64) -> np.ndarray:
    """A binary sprite: shape 1 a square (repeats every quarter turn), 2 an ellipse (every
    half turn), 3 a heart (never), turned by ``orientation`` (radians) about its position.

    The heart is drawn off its turning point, shifted towards its lobes: three compact
    shapes of one size centred alike differ mostly by how elongated they are, which makes the
    heart a step between the square and the ellipse once blurred, not a third point.
    """
    x, y = plane(size)
    u, v = rotated(x, y, -0.6 + 1.2 * pos_x, -0.6 + 1.2 * pos_y, orientation)
    r = 0.8 * scale
    if shape == 1:
        sd = np.maximum(np.abs(u), np.abs(v)) - 0.7 * r
    elif shape == 2:
        sd = (np.hypot(u / (1.1 * r), v / (0.35 * r)) - 1) * 0.35 * r
    else:  # two lobes above a point: mirror-symmetric, but no turn repeats it
        h, v = 0.9 * r, v + 0.5 * r
        lobes = np.minimum(np.hypot(u - 0.42 * h, v + 0.3 * h), np.hypot(u + 0.42 * h, v + 0.3 * h))
        tip = polygon(u, v, [(-0.86 * h, -0.3 * h), (0.86 * h, -0.3 * h), (0.0, 0.95 * h)])
        sd = np.minimum(lobes - 0.48 * h, tip)
    return (sd < 0).astype(np.uint8)


def write_dsprites(folder: Path, sizes: Sequence[int] = DSPRITES_SIZES, size: int = 64) -> Path:
    """The HDF5 copy: ``imgs`` (N, size, size) uint8 in {0, 1}, ``latents/values`` and
    ``latents/classes`` (N, 6): color, shape, scale, orientation, posX, posY (posY fastest).

    ``sizes[2]`` counts the stored orientations ``linspace(0, 2*pi, n)``, the last repeating
    the first as in the public file (which the loader drops): 40, as there, leaves 39 angles,
    about ten per quarter turn. (With 16 angles the square shows only four different images
    per turn, too few to close a loop.) Scale runs over 0.5..1 (1 when it is constant),
    positions over 0..1 (0.5).
    """
    n = check_sizes(sizes, 5, "dsprites")
    if n[0] > 3:
        raise ValueError("dsprites has 3 shapes")
    orientation = np.linspace(0, 2 * math.pi, n[2]) if n[2] > 1 else np.zeros(1)
    axes = ([1.0], 1.0 + np.arange(n[0]), span(0.5, 1.0, n[1], single=1.0), orientation)
    axes += (span(0.0, 1.0, n[3]), span(0.0, 1.0, n[4]))
    values = product(*axes)
    classes = product(*[np.arange(len(a)) for a in axes]).astype(np.int64)
    imgs = np.stack([dsprites_sprite(*row[1:], size=size) for row in values])
    path = Path(folder) / DSPRITES_FILE
    with h5py.File(path, "w") as handle:
        handle.create_dataset("imgs", data=imgs, chunks=(min(len(imgs), 32), size, size))
        handle["latents/values"], handle["latents/classes"] = values, classes
    return path


# --- MPI3D ------------------------------------------------------------------------------
#: loader factor order: object_color, object_shape, object_size, camera_height,
#: background_color, horizontal_axis, vertical_axis (the real grid: 6, 6, 2, 3, 3, 40, 40)
MPI3D_SIZES = (3, 3, 2, 1, 3, 1, 1)
#: white, green, red, blue, brown, olive
MPI3D_OBJECT_COLOURS = (
    (0.95, 0.95, 0.95),
    (0.1, 0.65, 0.2),
    (0.85, 0.1, 0.1),
    (0.15, 0.25, 0.9),
    (0.5, 0.3, 0.1),
    (0.5, 0.55, 0.1),
)
#: purple, sea green, salmon
MPI3D_BACKGROUNDS = ((0.45, 0.25, 0.6), (0.2, 0.6, 0.5), (0.95, 0.55, 0.45))


def mpi3d_object(x, y, shape, cx, cy, r):
    """Silhouettes of cone, cube, cylinder, hexagonal prism, pyramid, sphere, resting on the
    gripper at about ``y = cy + r``."""
    if shape == 0:
        return polygon(x, y, [(cx - 1.2 * r, cy + r), (cx + 1.2 * r, cy + r), (cx, cy - 1.2 * r)])
    if shape == 1:
        return box(x, y, cx, cy, 0.9 * r, 0.9 * r)
    if shape == 2:
        return box(x, y, cx, cy - 0.5 * r, 0.45 * r, 1.5 * r)
    if shape == 3:
        angles = np.arange(6) * math.pi / 3
        return polygon(x, y, np.c_[cx + r * np.cos(angles), cy + r * np.sin(angles)])
    if shape == 4:
        return polygon(x, y, [(cx - 1.4 * r, cy + r), (cx + 1.4 * r, cy + r), (cx, cy - 0.4 * r)])
    return disc(x, y, cx, cy, r)


def mpi3d_image(colour, shape, size_, height, background, horizontal, vertical, size=64):
    """A robot arm holding an object in front of a coloured wall. Factor values are
    fractions of their range (0..1) except the point factors, which are indices."""
    x, y = plane(size)
    image = np.empty((size, size, 3))
    image[:] = MPI3D_BACKGROUNDS[int(background)]
    shift = 0.3 * (height - 0.5)  # the camera higher: the scene lower in the image
    paint(image, (0.2, 0.2, 0.2), coverage(0.55 + shift - y, size))  # the table
    base = (0.0, 0.9 + shift)
    tip = (-0.55 + 1.1 * horizontal, -0.5 + 0.8 * vertical + shift)
    length = math.hypot(tip[0] - base[0], tip[1] - base[1])
    angle = math.atan2(tip[1] - base[1], tip[0] - base[0])
    middle = ((tip[0] + base[0]) / 2, (tip[1] + base[1]) / 2)
    arm = box(x, y, middle[0], middle[1], length / 2, 0.06, angle)
    paint(image, (0.6, 0.6, 0.6), coverage(arm, size))
    r = (0.14, 0.24)[int(size_)]
    obj = mpi3d_object(x, y, int(shape), tip[0], tip[1] - r, r)
    paint(image, MPI3D_OBJECT_COLOURS[int(colour)], coverage(obj, size))
    return to_uint8(image)


def write_mpi3d(
    folder: Path, sizes: Sequence[int] = MPI3D_SIZES, variant: str = "toy", size: int = 64
) -> Path:
    """``mpi3d_<variant>.npz`` holding ``images`` (N, size, size, 3) uint8 and no labels: row
    ``i`` is the cell ``unravel(i, sizes)`` (last factor fastest); load it with
    ``factor_sizes=sizes``."""
    n = check_sizes(sizes, 7, "mpi3d")
    if max(n[0], n[1]) > 6 or n[2] > 2:
        raise ValueError("mpi3d has 6 colours, 6 shapes and 2 sizes")
    cells = product(*[np.arange(k) for k in n])
    fractions = cells / np.maximum(np.asarray(n) - 1, 1)
    rows = np.where([True, True, True, False, True, False, False], cells, fractions)
    if n[3] == 1:  # the camera at its middle height
        rows[:, 3] = 0.5
    rows[:, 5:] = np.where(np.asarray(n[5:]) == 1, 0.5, rows[:, 5:])
    images = np.stack([mpi3d_image(*row, size=size) for row in rows])
    path = Path(folder) / f"mpi3d_{variant}.npz"
    np.savez(path, images=images)
    return path


# --- objects seen from a camera (Cars3D, smallNORB) -------------------------------------
# An object is a list of parts: a footprint polygon on the ground (X to the right, Z away
# from the camera at azimuth 0) raised between two heights. The camera turns the object by
# the azimuth about the vertical axis and looks down at the elevation (orthographic): each
# part shows its sides (the hull of its bottom and top outlines) and its top face.


def project(points: np.ndarray, azimuth: float, elevation: float) -> np.ndarray:
    """Image coordinates ``[m, 2]`` of ``(X, Y up, Z)`` points ``[m, 3]``."""
    c, s = math.cos(azimuth), math.sin(azimuth)
    X, Y, Z = points.T
    x, z = c * X + s * Z, -s * X + c * Z
    return np.c_[x, -(Y * math.cos(elevation) + z * math.sin(elevation))]


def draw_part(
    image, footprint, low, high, tone, azimuth, elevation, light, centre=(0.0, 0.0), ambient=0.35
):
    """Paint one part over ``image [S, S(, 3)]``: the sides that face the camera, then the
    top, each shaded by how squarely it faces ``light`` (a unit ``(X, Y up, Z)`` vector in the
    camera's frame)."""
    size = image.shape[0]
    foot = np.asarray(footprint, dtype=np.float64)
    tone = np.asarray(tone, dtype=np.float64)
    shift = np.asarray(centre)
    middle = foot.mean(axis=0)
    c, s = math.cos(azimuth), math.sin(azimuth)
    for a, b in zip(foot, np.roll(foot, -1, axis=0)):
        nx, nz = b[1] - a[1], a[0] - b[0]
        if nx * ((a + b) / 2 - middle)[0] + nz * ((a + b) / 2 - middle)[1] < 0:
            nx, nz = -nx, -nz
        norm = math.hypot(nx, nz)
        nx, nz = (c * nx + s * nz) / norm, (-s * nx + c * nz) / norm  # as the camera sees it
        if nz > -0.05:  # faces away from the camera, or edge on
            continue
        face = np.array(
            [[a[0], low, a[1]], [b[0], low, b[1]], [b[0], high, b[1]], [a[0], high, a[1]]]
        )
        shade = ambient + (1 - ambient) * max(0.0, nx * light[0] + nz * light[2])
        outline = project(face, azimuth, elevation) + shift
        paint(image, shade * tone, polygon_coverage(outline, size))
    top = np.c_[foot[:, 0], np.full(len(foot), high), foot[:, 1]]
    shade = ambient + (1 - ambient) * max(0.0, light[1])
    outline = project(top, azimuth, elevation) + shift
    paint(image, shade * tone, polygon_coverage(outline, size))


def rectangle(x0, x1, z0, z1):
    return [(x0, z0), (x1, z0), (x1, z1), (x0, z1)]


# --- Cars3D -----------------------------------------------------------------------------
#: loader factor order: elevation (4), azimuth (24), car; the real grid is 4 x 24 x 183
CARS3D_SIZES = (4, 24, 3)
#: per car: body colour, footprint half-width at the nose and at the tail, half-length,
#: body height, cabin (front and back as fractions of the length from the tail) and height
CARS = (
    ((0.8, 0.1, 0.1), 0.24, 0.34, 0.75, 0.18, (0.05, 0.5), 0.34),  # a red saloon
    ((0.15, 0.3, 0.85), 0.2, 0.4, 0.6, 0.16, (0.0, 0.45), 0.42),  # a blue hatchback
    ((0.2, 0.7, 0.25), 0.12, 0.36, 0.8, 0.12, (0.05, 0.3), 0.26),  # a green wedge
)


def car_image(elevation, azimuth, car, size=64) -> np.ndarray:
    """Car ``car`` seen from ``elevation`` (index 0..3: 30 to 60 degrees) turned by
    ``azimuth`` (radians): a body narrowing to its nose, a dark cabin towards the tail and
    yellow lights at the nose, on a white background."""
    colour, nose, tail, half, height, (back, front), roof = CARS[int(car)]
    colour = np.asarray(colour)
    angle = math.radians(30.0 + 10.0 * elevation)
    image = np.ones((size, size, 3))
    centre = (0.0, 0.2)
    body = [(-tail, -half), (tail, -half), (nose, half), (-nose, half)]
    width = lambda t: tail + (nose - tail) * t  # noqa: E731  half-width at t along the body
    cabin_z = (-half + 2 * half * back, -half + 2 * half * front)
    cabin = [
        (-0.85 * width(back), cabin_z[0]),
        (0.85 * width(back), cabin_z[0]),
        (0.75 * width(front), cabin_z[1]),
        (-0.75 * width(front), cabin_z[1]),
    ]
    lights = rectangle(-0.9 * nose, 0.9 * nose, half - 0.12, half)
    light = np.array([-0.6, 0.6, -0.5]) / math.sqrt(0.36 + 0.36 + 0.25)
    for footprint, low, high, tone in (
        (body, 0.0, height, colour),
        (cabin, height, roof, (0.3, 0.33, 0.45)),
        (lights, height, height + 0.01, (1.0, 0.9, 0.1)),
    ):
        draw_part(image, footprint, low, high, tone, azimuth, angle, light, centre)
    return to_uint8(image)


def write_cars3d(folder: Path, sizes: Sequence[int] = CARS3D_SIZES, size: int = 64) -> Path:
    """``cars3d.npz``: ``images`` (N, size, size, 3) uint8 and ``labels`` (N, 3) int64:
    elevation index, azimuth index (0..23, in 15 degree steps; ``sizes[1]`` of them evenly
    spread), car index; rows in the C order of elevation, azimuth, car."""
    n = check_sizes(sizes, 3, "cars3d")
    if n[0] > 4 or n[2] > len(CARS) or 24 % n[1]:
        raise ValueError(f"cars3d: at most 4 elevations and {len(CARS)} cars, azimuths dividing 24")
    labels = product(np.arange(n[0]), np.arange(0, 24, 24 // n[1]), np.arange(n[2]))
    labels = labels.astype(np.int64)
    images = np.stack([car_image(e, math.radians(15.0 * a), c, size=size) for e, a, c in labels])
    path = Path(folder) / "cars3d.npz"
    np.savez(path, images=images, labels=labels)
    return path


# --- smallNORB --------------------------------------------------------------------------
#: loader factor order: category, instance, elevation, azimuth, lighting; the real grid is
#: 5 x 10 x 9 x 18 x 6
SMALLNORB_SIZES = (3, 1, 5, 18, 1)


def norb_parts(category: int, instance: int) -> list[tuple[list, float, float]]:
    """The parts ``(footprint, low, high)`` of a toy: category 0 a four-legged animal, 1 a
    human figure, 2 an aeroplane, 3 a truck, 4 a car, each facing +Z; an instance adds one
    feature of its own, a block at one of ten places round it (the first three a third of a
    turn apart), so that instances differ alike rather than by degrees."""
    r = rectangle
    bodies = {
        0: [  # animal: legs, a body, a raised head in front, a tail behind
            *[
                (r(sx * 0.2 - 0.05, sx * 0.2 + 0.05, sz * 0.3 - 0.05, sz * 0.3 + 0.05), 0, 0.2)
                for sx in (-1, 1)
                for sz in (-1, 1)
            ],
            (r(-0.22, 0.22, -0.42, 0.4), 0.2, 0.38),
            (r(-0.12, 0.12, 0.4, 0.62), 0.3, 0.5),
            (r(-0.04, 0.04, -0.7, -0.42), 0.3, 0.36),
        ],
        1: [  # human: legs, a torso, a head, both arms reaching forward
            (r(-0.24, -0.04, -0.12, 0.1), 0, 0.35),
            (r(0.04, 0.24, -0.12, 0.1), 0, 0.35),
            (r(-0.3, 0.3, -0.16, 0.14), 0.35, 0.7),
            (r(-0.14, 0.14, -0.12, 0.16), 0.7, 0.9),
            (r(-0.42, -0.28, -0.1, 0.5), 0.5, 0.64),
            (r(0.28, 0.42, -0.1, 0.5), 0.5, 0.64),
        ],
        2: [  # aeroplane: a fuselage, delta wings, a tail fin
            ([(-0.14, -0.7), (0.14, -0.7), (0.1, 0.7), (-0.1, 0.7)], 0.1, 0.3),
            ([(-0.7, -0.3), (0.7, -0.3), (0.12, 0.45), (-0.12, 0.45)], 0.14, 0.2),
            ([(-0.04, -0.7), (0.04, -0.7), (0.04, -0.4), (-0.04, -0.4)], 0.3, 0.55),
        ],
        3: [  # truck: a tall cargo box behind a lower cab
            (r(-0.28, 0.28, -0.7, 0.2), 0.0, 0.55),
            (r(-0.26, 0.26, 0.25, 0.6), 0.0, 0.38),
        ],
        4: [  # car: a body narrowing to its nose, a cabin towards the tail
            ([(-0.34, -0.6), (0.34, -0.6), (0.22, 0.6), (-0.22, 0.6)], 0.0, 0.2),
            ([(-0.28, -0.55), (0.28, -0.55), (0.24, 0.05), (-0.24, 0.05)], 0.2, 0.4),
        ],
    }
    angle = math.radians((90, 210, 330, 30, 150, 270, 0, 120, 240, 60)[instance])
    cx, cz = 0.5 * math.sin(angle), 0.5 * math.cos(angle)
    return [*bodies[category], (r(cx - 0.09, cx + 0.09, cz - 0.09, cz + 0.09), 0.0, 0.3)]


#: per lighting: the direction towards the light (X, Y up, Z away from the camera, in the
#: camera's frame): from the left, the right, behind, above, the front left, the front right
NORB_LIGHTS = (
    (-0.75, 2.0, -0.35),
    (0.75, 2.0, -0.35),
    (0.0, 2.0, 0.85),
    (0.0, 1.0, 0.0),
    (-0.5, 2.0, -0.6),
    (0.5, 2.0, -0.6),
)
#: how far ahead of the turntable's axis a toy stands (before scaling), and its scale
NORB_OFFSET, NORB_SCALE = 0.5, 0.75
#: grey of the shadows (the floor is 0.55) and of the toys, and the toys' unlit share
NORB_SHADOW, NORB_TONE, NORB_AMBIENT = 0.45, 0.95, 0.7


def norb_image(category, instance, elevation, azimuth, lighting, size=96) -> np.ndarray:
    """A grey toy on a grey floor, lit from one of six directions (which its shadow and the
    shading of its faces show), seen from ``elevation`` (degrees) turned by ``azimuth``
    (radians), its parts drawn from the lowest up."""
    light = np.asarray(NORB_LIGHTS[int(lighting)], dtype=np.float64)
    light /= np.linalg.norm(light)
    # the toy stands off the turntable's axis, its middle ahead of it, so that its turning
    # moves it round a circle: elongated toys otherwise look nearly alike half a turn apart
    parts = [
        ((np.asarray(f) + (0.0, NORB_OFFSET)) * NORB_SCALE, low * NORB_SCALE, high * NORB_SCALE)
        for f, low, high in norb_parts(int(category), int(instance))
    ]
    angle = math.radians(elevation)
    centre = (0.0, 0.15)
    image = np.full((size, size), 0.55)
    c, s = math.cos(azimuth), math.sin(azimuth)
    for footprint, low, high in parts:  # shadows on the floor, cast along the light
        foot = np.asarray(footprint, dtype=np.float64)
        turned = np.c_[c * foot[:, 0] + s * foot[:, 1], -s * foot[:, 0] + c * foot[:, 1]]
        ground = [turned - light[[0, 2]] * h / light[1] for h in (low, high)]
        floor = np.c_[
            np.concatenate(ground)[:, 0], np.zeros(2 * len(foot)), np.concatenate(ground)[:, 1]
        ]
        paint(image, NORB_SHADOW, polygon_coverage(project(floor, 0.0, angle) + centre, size))
    # lower parts first, whatever the view: an order that changed with the azimuth (far
    # parts first) would make the images jump where it changes
    for footprint, low, high in sorted(parts, key=lambda part: (part[2], part[1])):
        draw_part(
            image, footprint, low, high, NORB_TONE, azimuth, angle, light, centre, NORB_AMBIENT
        )
    return to_uint8(image)


def write_smallnorb(folder: Path, sizes: Sequence[int] = SMALLNORB_SIZES, size: int = 96) -> Path:
    """``smallnorb.npz``: ``images`` (N, size, size) uint8 grey and ``labels`` (N, 5) int64 as
    in the originals: category, instance, elevation (0..8: 30 to 70 degrees; ``sizes[2]`` of
    them evenly spread, 4 when one), azimuth (0, 2, ..., 34 in units of 10 degrees;
    ``sizes[3]`` of them evenly spread, 6 when one), lighting; rows in C order."""
    n = check_sizes(sizes, 5, "smallnorb")
    if n[0] > 5 or n[1] > 10 or n[2] > 9 or 18 % n[3] or n[4] > 6:
        raise ValueError(
            "smallnorb: at most 5 categories, 10 instances, 9 elevations and "
            "6 lightings; azimuths dividing 18"
        )
    elevations = np.round(np.linspace(0, 8, n[2])) if n[2] > 1 else np.array([4])
    azimuths = np.arange(0, 36, 36 // n[3]) if n[3] > 1 else np.array([6])
    labels = product(np.arange(n[0]), np.arange(n[1]), elevations, azimuths, np.arange(n[4]))
    labels = labels.astype(np.int64)
    images = np.stack(
        [
            norb_image(cat, ins, 30.0 + 5.0 * el, math.radians(10.0 * az), li, size=size)
            for cat, ins, el, az, li in labels
        ]
    )
    path = Path(folder) / "smallnorb.npz"
    np.savez(path, images=images, labels=labels)
    return path


# --- the cases the tests and benchmarks/discover.py read ------------------------------------
@dataclass(frozen=True)
class Case:
    name: str  # the registered dataset
    write: object  # the fixture writer
    sizes: tuple[int, ...]  # values per factor written
    loaded: tuple[int, ...]  # factor sizes the loader should find
    options: dict = field(default_factory=dict)  # for the loader
    num_bases: int = 8  # base points per factor (fewer than the command's 16, for time)

    @property
    def id(self) -> str:
        return f"{self.name}-{'x'.join(map(str, self.sizes))}"


CASES = [
    # the three hue loops; then scale and orientation (segments) and the four shapes
    Case("shapes3d", write_shapes3d, (12, 12, 12, 1, 1, 1), (12, 12, 12, 1, 1, 1)),
    Case("shapes3d", write_shapes3d, (1, 1, 1, 8, 4, 15), (1, 1, 1, 8, 4, 15)),
    # the public file's 40 stored orientations, 39 once the loader drops the repeated one.
    # Every path from one shape is alike here, so the symmetry of each shape is read only if
    # the bases hit all three shapes: 8 bases miss one with probability 3 * (2/3)^8 = 12%,
    # 16 with 0.5%
    Case("dsprites", write_dsprites, (3, 1, 40, 1, 1), (3, 1, 39, 1, 1), num_bases=16),
    Case("dsprites", write_dsprites, (3, 6, 1, 1, 1), (3, 6, 1, 1, 1)),
    Case("dsprites", write_dsprites, (3, 1, 1, 8, 8), (3, 1, 1, 8, 8)),
    # the point factors; then camera height and the two arm axes (segments)
    Case(
        "mpi3d_toy",
        write_mpi3d,
        (3, 3, 2, 1, 3, 1, 1),
        (3, 3, 2, 1, 3, 1, 1),
        {"factor_sizes": (3, 3, 2, 1, 3, 1, 1)},
    ),
    Case(
        "mpi3d_toy",
        write_mpi3d,
        (1, 1, 2, 5, 1, 6, 6),
        (1, 1, 2, 5, 1, 6, 6),
        {"factor_sizes": (1, 1, 2, 5, 1, 6, 6)},
    ),
    # the real 4 elevations and 24 azimuths, three cars
    Case("cars3d", write_cars3d, (4, 24, 3), (4, 24, 3)),
    # the real 18 azimuths, 5 of the 9 elevations, three categories; then the point factors
    Case("smallnorb", write_smallnorb, (3, 1, 5, 18, 1), (3, 1, 5, 18, 1)),
    Case("smallnorb", write_smallnorb, (3, 3, 1, 1, 3), (3, 3, 1, 1, 3)),
]


def load(case: Case, folder: Path):
    """Write ``case``'s file into ``folder`` and open it with the dataset's loader."""
    case.write(folder, case.sizes)
    return get_dataset(case.name, data_dir=folder, **case.options)
