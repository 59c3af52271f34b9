"""A start for loops from orbits: the images of one factor going round, with the rest held.

The plane start (:mod:`prodvae.objectives.anchor`) needs a plane of the images in which a
factor's pairs move them; a sprite turning in place has none (its pairs move the images in
no plane more than the other pairs do), so the plane start alone teaches no block it. The images of
one *orbit* -- every value of a loop factor, every other factor held -- still lie on a closed
curve: each is nearest to the images of the values next to it. Joined to its two nearest
neighbours, an orbit's images make one cycle, and the first two non-constant eigenvectors of
that graph's normalised Laplacian are the cosine and sine of the angle round it (a spectral
embedding, as Laplacian eigenmaps and diffusion maps make; Belkin & Niyogi 2003, Coifman &
Lafon 2006): :func:`orbit_angles`. The angle comes from the images alone, up to where it
starts and which way it runs.

Orbits are tied to each other by pairs: two orbits whose held factors differ in one factor
hold, value for value, pairs that change that factor alone (the weak pairs the recipe trains
on), and the turn and direction that best match one orbit's angles to the other's over those
pairs carry one orbit's frame to the next. :func:`chained_orbits` walks from orbit to orbit,
one held factor changed at each step, so every orbit's angles come out in the first one's
frame: on the procedural datasets (sprites, orbit, the dial) every loop's angles follow its
factor with circular alignment 0.99 to 1.00 over 100 orbits (``benchmarks/orbit_angles.py``).
The objective pulls each loop
block's codes of these images toward their angles on its ring
(:class:`~prodvae.objectives.product.ProductObjective`'s ``orbit_weight``), as labels would
be pulled, but the angles were read from the images and pairs, not from any label; it reads
them in one frame as training draws them (:class:`~prodvae.objectives.grid_orbits.OrbitFrame`).

An orbit whose images do not make one cycle gets no angles: too few distinct images (a factor
the images do not show) or a graph in pieces are an error. Images that repeat exactly (a
factor with a symmetry: a square's quarter turn gives the same pixels) share one angle, read
round their distinct images, so the angles go once round per repeat -- the factor's symmetry
harmonic, at which :mod:`prodvae.metrics.recovery` reads a loop. Views that repeat only
nearly (a symmetric object whose turned pixels do not land on the same grid: each image's
nearest neighbours are its own repeats, so the joins fall into one piece per view, every
piece tighter than the gaps between them) share the angle of their mean image, likewise.
Orbits whose symmetry differs (dSprites' square and heart) are linked at the harmonic that
relates them, from fewer repeats to more (:mod:`prodvae.objectives.orbit_repeats`). One whose
nearest neighbours are not the values beside it (images that barely change with the factor,
under noise) gives angles that do not agree with the next orbit's; the walk measures that
agreement (the circular alignment of the matched pairs) and a factor whose orbits do not
agree, on median, at :data:`AGREEMENT` or better gets no start, which the log says.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset
from prodvae.objectives.orbit_repeats import (
    coarser_frame,
    harmonic_reference,
    near_repeats,
    orbit_folds,
)

log = logging.getLogger(__name__)

#: Nearest neighbours each image of an orbit is joined to: 2 make a cycle of a loop's images.
NEIGHBOURS = 2
#: The smallest orbit read: fewer values cannot show a cycle.
MIN_VALUES = 5
#: Orbits drawn for a frame's reference before giving up when none makes a cycle.
REFERENCE_TRIES = 10
#: The median circular alignment between neighbouring orbits' angles over their matched
#: pairs below which a factor's orbits are taken to hold no cycle.
AGREEMENT = 0.9

Orbit = TypeVar("Orbit")


def orbit_angles(images: Tensor, neighbours: int = NEIGHBOURS) -> Tensor:
    """The angle of each image round the cycle its images make, float64 ``[n]``.

    ``images [n, ...]`` (any shape per image, compared as flat vectors): each joined to its
    ``neighbours`` nearest (the joins made symmetric), weighted by a Gaussian of the squared
    distance in units of the median squared distance to the nearest neighbour; the angle is
    ``atan2`` of the Laplacian's second and third eigenvectors (random-walk normalised).
    Images that repeat (the same pixels at several values: a factor with a symmetry, such
    as a square's quarter turn) share the angle their distinct images give, so the angles
    go round once per repeat; fewer than :data:`MIN_VALUES` distinct images make no cycle.
    So do images that nearly repeat, whose joins split them into pieces of the same view
    (:func:`~prodvae.objectives.orbit_repeats.near_repeats`): each piece's angle is that of
    its mean image round the others.
    """
    n = images.shape[0]
    if n < MIN_VALUES:
        raise ValueError(f"orbit_angles: need at least {MIN_VALUES} images, got {n}")
    if not 1 <= neighbours < n:
        raise ValueError(f"orbit_angles: neighbours must be in [1, {n - 1}], got {neighbours}")
    if images.is_floating_point() and not torch.isfinite(images).all():
        raise ValueError("orbit_angles: images hold NaN or infinite values")
    x = images.reshape(n, -1).double()
    gram = x @ x.T  # exact for 8-bit pixels: float64 holds every sum of their products
    norms = gram.diagonal()
    squared = (norms[:, None] + norms[None, :] - 2 * gram).clamp_min(0)
    others = squared + torch.diag(torch.full((n,), math.inf, dtype=x.dtype, device=x.device))
    if _may_repeat(others, norms, x.shape[1]):
        distinct, which = torch.unique(x, dim=0, return_inverse=True)  # the same pixels, once
        if len(distinct) < n:
            if len(distinct) < MIN_VALUES:
                raise ValueError(
                    f"orbit_angles: only {len(distinct)} distinct images of {n} (a factor that "
                    f"does not move them, or a symmetry of order {n // len(distinct)}): fewer "
                    f"than {MIN_VALUES} make no cycle"
                )
            return orbit_angles(distinct, min(neighbours, len(distinct) - 1))[which]
    nearest = others.sort(dim=1).values
    scale = nearest[:, 0].median()  # > 0: no two images are the same
    joined = others <= nearest[:, neighbours - 1 : neighbours]
    joined = joined | joined.T
    weights = torch.where(joined, torch.exp(-squared / (2 * scale)), 0.0)
    degree = weights.sum(1)
    reached = bool((degree > 0).all())  # else an image's every join weighs 0
    if reached:
        root = degree.sqrt()
        eye = torch.eye(n, dtype=x.dtype, device=x.device)
        values, vectors = torch.linalg.eigh(eye - weights / (root[:, None] * root[None, :]))
        # a graph in pieces has a second zero eigenvalue: its angles would be each piece's own
        if values[1] > n * torch.finfo(x.dtype).eps:
            vectors = vectors[:, 1:3] / root[:, None]
            return torch.atan2(vectors[:, 1], vectors[:, 0])
    # the joins that weigh something beside an image's strongest (as the eigenvalues see it)
    felt = weights > torch.finfo(x.dtype).eps * weights.amax(1, keepdim=True)
    pieces = near_repeats(felt | felt.T, squared, MIN_VALUES)
    if pieces is None:
        raise ValueError(
            "orbit_angles: the images' nearest neighbours make separate pieces"
            if reached
            else "orbit_angles: an image is too far from all the others to be joined"
        )
    means = torch.zeros(int(pieces.max()) + 1, x.shape[1], dtype=x.dtype, device=x.device)
    means.index_add_(0, pieces, x).div_(torch.bincount(pieces)[:, None])
    return orbit_angles(means, min(neighbours, len(means) - 1))[pieces]


def _may_repeat(others: Tensor, norms: Tensor, length: int) -> bool:
    """Whether two images may be the same: some squared distance of ``others`` (the diagonal
    excluded) within the rounding of the dot products it is made of (``length`` products each,
    float64; 0 exactly for 8-bit pixels), or not a number (products that overflowed). The
    cheap test before ``torch.unique``, which sorts the images' pixels and decides."""
    info = torch.finfo(others.dtype)
    slack = 4 * length * (info.eps * (norms[:, None] + norms[None, :]) + info.tiny)
    return bool((~(others > slack)).any())


class Frame(NamedTuple):
    """Angles turned into a reference's frame, and how well they then agree with it."""

    angles: Tensor
    agreement: float


def match_frame(reference: Tensor, angles: Tensor) -> Frame:
    """``angles`` turned (and reflected if that fits better) onto ``reference`` (both
    ``[n]``, row i of each an image of the same value), and how well they then agree: the
    circular alignment ``|mean exp(i (reference - angles'))|`` in [0, 1]."""
    if reference.shape != angles.shape or reference.dim() != 1:
        raise ValueError(
            f"match_frame: expected two [n] tensors, got {list(reference.shape)} and "
            f"{list(angles.shape)}"
        )
    return carry_frame(reference, angles, torch.arange(len(angles)))


def reference_orbit(
    pick: Callable[[], Orbit], read: Callable[[Orbit], Tensor]
) -> tuple[Orbit, Tensor]:
    """A frame's reference orbit and its angles: orbits drawn by ``pick`` and read by
    ``read`` until one makes a cycle, up to :data:`REFERENCE_TRIES` of them (the last
    one's error is raised when none does)."""
    for _ in range(REFERENCE_TRIES - 1):
        orbit = pick()
        try:
            return orbit, read(orbit)
        except ValueError:
            continue
    orbit = pick()  # the last try: its error is the one raised
    return orbit, read(orbit)


def carry_frame(reference: Tensor, angles: Tensor, rows: Tensor) -> Frame:
    """All of ``angles [n]`` turned (and reflected if that fits better) as best matches their
    ``rows`` to ``reference [len(rows)]`` (row i of ``reference`` an image of the same value
    as row ``rows[i]`` of ``angles``: the values two orbits share), and how well those rows
    then agree: the circular alignment ``|mean exp(i (reference - angles'[rows]))|``."""
    if angles.dim() != 1 or rows.dim() != 1 or reference.shape != rows.shape:
        raise ValueError(
            f"carry_frame: expected angles [n], rows [m] and reference [m], got "
            f"{list(angles.shape)}, {list(rows.shape)} and {list(reference.shape)}"
        )
    best: Frame | None = None
    for sign in (1.0, -1.0):
        turned = sign * angles
        offset = torch.angle(torch.exp(1j * (reference - turned[rows])).mean())
        fitted = turned + offset
        agreement = float(torch.exp(1j * (reference - fitted[rows])).mean().abs())
        if best is None or agreement > best.agreement:
            best = Frame(fitted, agreement)
    assert best is not None
    return best


@dataclass(frozen=True)
class Orbits:
    """The images of a chain of orbits of one factor, ``uint8 [m, C, H, W]``, their grid
    cells ``[m, K]``, their angles in the first orbit's frame, float64 ``[m]``, and the
    agreement of each link (float64, one per orbit after the first; 0 for an orbit left out).
    """

    images: Tensor
    cells: Tensor
    angles: Tensor
    agreement: Tensor

    @property
    def holds_cycle(self) -> bool:
        """Whether neighbouring orbits agree, on median, at :data:`AGREEMENT` or better."""
        return bool(self.agreement.numel()) and float(self.agreement.median()) >= AGREEMENT


def chained_orbits(
    dataset: GroundTruthDataset, factor: int, count: int, generator: torch.Generator
) -> Orbits:
    """``count`` orbits of ``factor`` of a grid dataset, each from the last with one other
    varying factor moved to another value, their angles carried into the first one's frame
    (see the module docstring). An orbit that makes no cycle (:func:`orbit_angles` fails) is
    left out and counts as a link that agrees at 0; the next is matched to the one before.
    Orbits whose views repeat different numbers of times are linked at the harmonic that
    relates them (:func:`chain_link`); one read from an orbit of more repeats stands in the
    first frame up to one of the turns that fit alike."""
    check_orbit_factor(dataset, factor)
    if count < 2:
        raise ValueError(f"chained_orbits: count must be >= 2, got {count}")
    sizes = list(dataset.factor_sizes)
    held = [k for k, size in enumerate(sizes) if k != factor and size > 1]
    cell = dataset.sample_factors(1, generator=generator)[0]
    images, cells, angles, agreement = [], [], [], []
    previous: Tensor | None = None
    for _ in range(count):
        grid = orbit_cells(cell, factor, sizes[factor])
        orbit = dataset.images_from_factors(grid)
        try:
            theta = orbit_angles(orbit)
            if previous is not None:  # at the harmonic that relates their repeats
                theta, agrees = chain_link(previous, theta)
        except ValueError:  # no cycle here: a failed link, and the next one skips this orbit
            agreement.append(0.0)
        else:
            if previous is not None:
                agreement.append(agrees)
            images.append(orbit)
            cells.append(grid)
            angles.append(theta)
            previous = theta
        # another value of one held factor: a link to the same orbit would agree for free
        moved = held[int(torch.randint(len(held), (1,), generator=generator))]
        step = 1 + int(torch.randint(sizes[moved] - 1, (1,), generator=generator))
        cell = cell.clone()
        cell[moved] = (int(cell[moved]) + step) % sizes[moved]
    if not images:
        raise ValueError(
            f"chained_orbits: none of {count} orbits of {dataset.spec[factor].name!r} makes a cycle"
        )
    agrees = torch.tensor(agreement, dtype=torch.float64)
    return Orbits(torch.cat(images), torch.cat(cells), torch.cat(angles), agrees)


def chain_link(previous: Tensor, angles: Tensor) -> tuple[Tensor, float]:
    """``angles`` matched to the ``previous`` orbit's at the harmonic that relates their
    repeats (:func:`~prodvae.objectives.orbit_repeats.harmonic_reference`), or, where they
    repeat fewer times, at one of the turns that fit alike
    (:func:`~prodvae.objectives.orbit_repeats.coarser_frame`); with how well they agree.
    ``ValueError`` where neither number of repeats divides the other."""
    folds, last = orbit_folds(angles), orbit_folds(previous)
    reference = harmonic_reference(previous, last, folds)
    if reference is not None:
        return match_frame(reference, angles)
    if last % folds == 0:
        return coarser_frame(previous, angles, last // folds)
    raise ValueError(f"views repeating {folds} and {last} times a turn: no harmonic links them")


class Draw(NamedTuple):
    """One orbit in a frame: its angles ``[n]`` (value i of the factor at row i), the worst
    agreement of a link on the chain that reached it (0 where an orbit on it had no angles),
    and how many times its views repeat a turn (:func:`orbit_folds`)."""

    angles: Tensor
    worst: float
    folds: int = 1


def orbit_cells(cell: Tensor, factor: int, size: int) -> Tensor:
    """The grid cells ``[size, K]`` of the orbit of ``factor`` through ``cell``, in order."""
    cells = cell.repeat(size, 1)
    cells[:, factor] = torch.arange(size)
    return cells


def check_orbit_factor(dataset: GroundTruthDataset, factor: int) -> None:
    """Raise ``ValueError`` unless ``factor`` of ``dataset`` has orbits to read."""
    if not dataset.is_grid:
        raise ValueError(
            "orbits need a grid dataset (every value of a factor with the others held)"
        )
    sizes = list(dataset.factor_sizes)
    if not 0 <= factor < len(sizes):
        raise ValueError(f"orbits: factor {factor} is out of range [0, {len(sizes)})")
    if sizes[factor] < MIN_VALUES:
        raise ValueError(
            f"orbits: factor {dataset.spec[factor].name!r} has {sizes[factor]} values; "
            f"an orbit needs at least {MIN_VALUES}"
        )
    if not any(size > 1 for k, size in enumerate(sizes) if k != factor):
        raise ValueError("orbits: no other factor varies, so there is one orbit only")
