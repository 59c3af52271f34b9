"""Read the topology of one path: persistent homology of its Vietoris-Rips filtration.

A *path* is what one factor traces when it alone varies: points ``[n, D]`` (embedded images,
or latent codes) at the factor's values ``[n]``, in order. Its Rips filtration (gudhi), with
distances divided by the path's diameter so that every number below is a fraction of it,
gives two barcodes:

- **H1**: a path that closes on itself has one long 1-cycle. It is a **loop** when the
  leading H1 bar lasts at least :data:`LOOP_PERSISTENCE` (a round circle's lasts
  ``sqrt(3)/2``, an open arc's nothing);
- **H0**: the merge heights of the components. A few far-apart groups (each a single image on
  a grid, a run of identical images when a renderer is sampled between its grid values, or a
  tight cluster of codes) give a few long bars and short ones after them: **points** when the
  bars split so (:attr:`Barcodes.split`). Otherwise the images move by small steps along the
  values: a **segment**.

On a grid whose neighbouring images do not overlap, a segment's bars are all long and it reads
as points; a set of points whose images change gradually in the order of their labels reads as
a segment. Sampling a renderer between its grid values settles both (:mod:`.paths`).

A loop's **symmetry order** ``k`` is the largest ``k <= MAX_SYMMETRY`` for which shifting the
value by ``period / k`` moves the images by at most :data:`SYMMETRY_RATIO` of one step
between neighbouring values (plus the fraction of a step by which the nearest value misses the
exact shift): the images repeat ``k`` times per period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gudhi
import numpy as np

from prodvae.spaces import Kind

#: Leading H1 bar, as a fraction of the diameter, from which a path is a loop.
LOOP_PERSISTENCE = 0.2
#: H0 bar, as a fraction of the diameter, from which groups of points may stand apart.
GROUP_FLOOR = 0.25
#: ... and from which single points stand apart when every point is a group of its own.
POINTS_SEPARATION = 0.5
#: Groups are points when the first bar after the long ones is at most this times the last.
CLUSTER_GAP = 0.5
#: A shift by ``period / k`` repeats the images when it moves them at most this many steps.
SYMMETRY_RATIO = 0.5
#: The largest symmetry order looked for.
MAX_SYMMETRY = 12
#: Paths longer than this are read on this many evenly spaced points (the Rips complex up to
#: triangles grows with the cube of the points).
MAX_POINTS = 128


@dataclass(frozen=True)
class Barcodes:
    """The finite bars of a path's Rips filtration, as fractions of its diameter."""

    h0: np.ndarray  # [n - 1] merge heights, longest first
    h1: np.ndarray  # [m, 2] (birth, death), longest first
    diameter: float  # in the input's units

    @property
    def h1_lengths(self) -> np.ndarray:
        return self.h1[:, 1] - self.h1[:, 0] if len(self.h1) else np.zeros(0)

    @property
    def loop(self) -> float:
        """The leading H1 bar's length."""
        lengths = self.h1_lengths
        return float(lengths[0]) if lengths.size else 0.0

    @property
    def loop_gap(self) -> float:
        """How much longer the leading H1 bar is than the next."""
        lengths = np.append(self.h1_lengths, [0.0, 0.0])
        return float(lengths[0] - lengths[1])

    @property
    def split(self) -> tuple[int, float, float]:
        """``(groups, separation, spread)``: how the H0 bars cut the points into groups.

        A cut after the ``c`` longest bars is a split into ``c + 1`` groups when the last of
        them reaches :data:`GROUP_FLOOR`, the next bar (0 if none) is at most
        :data:`CLUSTER_GAP` times it, and, when every bar is long (each point a group of its
        own), the shortest reaches :data:`POINTS_SEPARATION`. Of the cuts that qualify, the
        one with the largest drop is taken. ``separation`` is the shortest bar between groups,
        ``spread`` the longest within one; without a split, ``(1, 0.0, longest bar)``.
        """
        bars = np.append(self.h0, 0.0)
        best, drop = 0, 0.0
        for c in range(1, len(bars)):
            last, after = bars[c - 1], bars[c]
            alone = c == len(bars) - 1
            if last < (POINTS_SEPARATION if alone else GROUP_FLOOR):
                break
            if after <= CLUSTER_GAP * last and last - after > drop:
                best, drop = c, last - after
        if best == 0:
            return 1, 0.0, float(bars[0])
        return best + 1, float(bars[best - 1]), float(bars[best])


def check_distances(distances: np.ndarray) -> np.ndarray:
    """``distances`` as a float64 ``[n, n]`` symmetric matrix with a zero diagonal, or an error."""
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape[0] < 2:
        raise ValueError(f"distances must be a square matrix of >= 2 points, got {d.shape}")
    if not np.isfinite(d).all():
        raise ValueError("distances must be finite (got NaN or inf)")
    if (d < 0).any():
        raise ValueError("distances must be >= 0")
    return (d + d.T) / 2 * (1 - np.eye(len(d)))


def barcodes(distances: np.ndarray) -> Barcodes:
    """The H0 and H1 bars of the Rips filtration on ``distances [n, n]``, as fractions of the
    diameter (which must be positive)."""
    d = check_distances(distances)
    diameter = float(d.max())
    if diameter <= 0:
        raise ValueError("every point is the same: a path that does not move has no topology")
    tree = gudhi.RipsComplex(distance_matrix=d / diameter).create_simplex_tree(max_dimension=2)
    tree.compute_persistence()
    h0 = tree.persistence_intervals_in_dimension(0)
    h0 = h0[np.isfinite(h0[:, 1]), 1] if len(h0) else np.zeros(0)
    # gudhi leaves out bars of length 0 (points at distance 0): n points merge n - 1 times
    h0 = np.sort(np.append(h0, np.zeros(len(d) - 1 - len(h0))))[::-1]
    h1 = tree.persistence_intervals_in_dimension(1).reshape(-1, 2)
    h1 = h1[np.argsort(h1[:, 0] - h1[:, 1], kind="stable")]
    return Barcodes(h0=h0, h1=h1, diameter=diameter)


def pairwise_distances(points: np.ndarray) -> np.ndarray:
    """Euclidean distances ``[n, n]`` between the rows of ``points [n, D]`` (float64)."""
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"points must have shape [n, D], got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("points must be finite (got NaN or inf)")
    squared = (x * x).sum(axis=1)
    gram = squared[:, None] + squared[None, :] - 2 * x @ x.T
    return np.sqrt(np.clip(gram, 0.0, None))


@dataclass(frozen=True)
class PathReading:
    """What one path says about its factor."""

    kind: Kind
    symmetry: int  # 1 unless a loop whose images repeat
    loop: float  # leading H1 bar / diameter
    loop_gap: float  # leading H1 bar minus the next
    groups: int  # groups of points the H0 bars split into (1: none)
    separation: float  # shortest H0 bar between the groups
    spread: float  # longest H0 bar within a group
    num_points: int

    @classmethod
    def from_bars(cls, bars: Barcodes, symmetry: int = 1) -> PathReading:
        """The reading the bars give (:func:`classify`), with a loop's ``symmetry``."""
        groups, separation, spread = bars.split
        return cls(
            kind=classify(bars),
            symmetry=symmetry,
            loop=bars.loop,
            loop_gap=bars.loop_gap,
            groups=groups,
            separation=separation,
            spread=spread,
            num_points=len(bars.h0) + 1,
        )


def classify(bars: Barcodes) -> Kind:
    """The kind the bars show (see the module docstring)."""
    if bars.loop >= LOOP_PERSISTENCE:
        return "loop"
    return "points" if bars.split[0] >= 2 else "segment"


def evenly_spaced(n: int, most: int = MAX_POINTS) -> np.ndarray:
    """At most ``most`` evenly spaced indices into ``n`` items (all of them when ``n <= most``)."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, most)).astype(np.int64))


def symmetry_order(
    distances: np.ndarray, values: np.ndarray, period: float, most: int = MAX_SYMMETRY
) -> int:
    """How many times per ``period`` the path repeats: the largest ``k`` whose shift by
    ``period / k`` moves the points at most :data:`SYMMETRY_RATIO` neighbouring steps."""
    v = np.mod(np.asarray(values, dtype=np.float64), period)
    order = np.argsort(v, kind="stable")
    v, d = v[order], np.asarray(distances)[np.ix_(order, order)]
    n = len(v)
    if n < 4:
        return 1
    following = np.roll(np.arange(n), -1)
    step = float(np.median(d[np.arange(n), following]))
    spacing = float(np.median(np.diff(np.append(v, v[0] + period))))
    if step <= 0:
        return 1
    for k in range(min(most, n // 2), 1, -1):
        target = np.mod(v + period / k, period)
        gap = np.abs(target[:, None] - v[None, :])
        gap = np.minimum(gap, period - gap)
        partner = gap.argmin(axis=1)
        offset = gap[np.arange(n), partner] / spacing  # in steps between values
        close = offset <= 0.5 + 1e-9
        if close.mean() < 0.5:  # the values do not reach a shift this fine
            continue
        # a partner ``offset`` steps off the exact shift is that much further even if the
        # images repeat: allow for it
        moved = d[np.arange(n), partner][close] / (step * (SYMMETRY_RATIO + offset[close]))
        if float(np.median(moved)) <= 1.0:
            return k
    return 1


def read_path(points: np.ndarray, values: np.ndarray, period: float | None = None) -> PathReading:
    """Read one path: ``points [n, D]`` at factor ``values [n]`` (see :func:`read_distances`)."""
    x = np.asarray(points, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or len(x) != len(v):
        raise ValueError(f"points [n, D] and values [n] disagree: {x.shape} and {v.shape}")
    keep = evenly_spaced(len(v))
    return read_distances(pairwise_distances(x[keep]), v[keep], period)


def read_distances(
    distances: np.ndarray, values: np.ndarray, period: float | None = None
) -> PathReading:
    """Read one path from the distances ``[n, n]`` between its points at ``values [n]``.

    ``period`` is the factor's period when it is known to be circular; otherwise a loop's
    period is taken as the span of the values plus one median step between them (the path
    is assumed to close after its last value as evenly as it moves before).
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    d = check_distances(distances)
    if len(d) != len(v):
        raise ValueError(f"distances {d.shape} and values [{len(v)}] disagree")
    bars = barcodes(d)
    symmetry = 1
    if classify(bars) == "loop":
        if period is None:
            distinct = np.unique(v)
            step = float(np.median(np.diff(distinct))) if len(distinct) > 1 else 0.0
            period = float(distinct[-1] - distinct[0]) + step
        if period > 0 and math.isfinite(period):
            symmetry = symmetry_order(d, v, period)
    return PathReading.from_bars(bars, symmetry)


def farthest_points(points: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """Indices of ``count`` landmarks of ``points [N, D]``: each the farthest from those
    before it, from a seeded random start (all indices when ``N <= count``)."""
    x = np.asarray(points, dtype=np.float64)
    n = len(x)
    if n <= count:
        return np.arange(n)
    chosen = [int(np.random.default_rng(seed).integers(n))]
    nearest = np.linalg.norm(x - x[chosen[0]], axis=1)
    for _ in range(count - 1):
        chosen.append(int(nearest.argmax()))
        nearest = np.minimum(nearest, np.linalg.norm(x - x[chosen[-1]], axis=1))
    return np.sort(np.asarray(chosen))


def read_cloud(points: np.ndarray, seed: int = 0) -> PathReading:
    """Read a cloud of points without values (a latent block's codes over a dataset): the kind
    its bars show, on at most :data:`MAX_POINTS` farthest-point landmarks (symmetry 1: without
    values there is no period to repeat in)."""
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"points must have shape [n >= 2, D], got {x.shape}")
    keep = farthest_points(x, MAX_POINTS, seed)
    return PathReading.from_bars(barcodes(pairwise_distances(x[keep])))
