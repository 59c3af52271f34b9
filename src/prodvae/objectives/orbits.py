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
be pulled, but the angles were read from the images and pairs, not from any label.

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
    fewest_repeats,
    harmonic_reference,
    near_repeats,
    orbit_folds,
    spare_generator,
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
    if folds % last == 0:
        return match_frame(previous if folds == last else folds // last * previous, angles)
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


class OrbitFrame:
    """Orbits of one factor of a grid dataset, each in one reference orbit's frame.

    The reference orbit is drawn once. Every orbit read since is kept (its angles, and the
    worst agreement on its chain), and a new one is matched (:func:`match_frame`) to a kept
    orbit that differs from it in one held factor, found in a random order; when none does,
    the new orbit is reached from the reference by a path that changes the held factors
    that differ one at a time (in an order drawn at random), every orbit on the path kept.
    Only a well-linked orbit (agreement at least :data:`AGREEMENT` all the way) is linked
    from; one reached through a poor link is read again the next time it is drawn. The
    chains so grow longer than ``K - 1`` links; after 2000 draws their orbits follow the truth
    as well as a chain's do (``benchmarks/orbit_angles.py``).
    Every step of training can so read new orbits at about one link each (a fixed set of
    orbits is learnt by heart: on sprites, 200 fixed orbits' own pull fell to 1.8 while
    fresh sprites' rotation read 0.13). What is kept depends on the draws made, so a run
    resumed from a checkpoint reads its orbits over the paths it draws after.
    """

    def __init__(self, dataset: GroundTruthDataset, factor: int, generator: torch.Generator):
        check_orbit_factor(dataset, factor)
        self.dataset, self.factor = dataset, factor
        self.size = dataset.factor_sizes[factor]
        self.held = [k for k, n in enumerate(dataset.factor_sizes) if k != factor and n > 1]
        self.kept: dict[tuple[int, ...], Draw] = {}
        self._last: tuple[tuple[int, ...], Tensor] | None = None  # the orbit rendered last
        found = reference_orbit(
            lambda: dataset.sample_factors(1, generator=generator)[0],
            lambda cell: orbit_angles(self._whole(cell)),
        )
        spare = spare_generator(generator)  # more draws where its views repeat
        self.cell, angles, folds = fewest_repeats(
            found,
            lambda: dataset.sample_factors(1, generator=spare)[0],
            lambda cell: orbit_angles(self._whole(cell)),
            REFERENCE_TRIES,
        )
        self.angles = angles
        self.kept[self.key(self.cell)] = Draw(angles, 1.0, folds)

    def draw(self, generator: torch.Generator) -> Tensor:
        """A random grid cell: the orbit through it (its factor's own value is ignored)."""
        return self.dataset.sample_factors(1, generator=generator)[0]

    def count(self, cell: Tensor) -> int:
        """How many values an orbit holds: every value of the factor."""
        return self.size

    def key(self, cell: Tensor) -> tuple[int, ...]:
        """The held factors' values of ``cell``: which orbit it lies on."""
        return tuple(int(cell[k]) for k in self.held)

    def images(self, cell: Tensor, rows: Tensor | None = None) -> Tensor:
        """The orbit's images ``uint8 [n, C, H, W]`` through ``cell``, in the factor's order
        (the values ``rows`` only, when given). The whole orbit rendered last is kept, so the
        rows pulled from an orbit just read are not rendered twice (a copy is returned)."""
        if rows is None:
            return self._whole(cell).clone()
        if self._last is not None and self._last[0] == self.key(cell):
            return self._last[1][rows]
        return self.dataset.images_from_factors(orbit_cells(cell, self.factor, self.size)[rows])

    def _whole(self, cell: Tensor) -> Tensor:
        """The whole orbit through ``cell``, rendered once and kept until the next (not to
        be modified: :meth:`images` hands out copies)."""
        key = self.key(cell)
        if self._last is None or self._last[0] != key:
            cells = orbit_cells(cell, self.factor, self.size)
            self._last = (key, self.dataset.images_from_factors(cells))
        return self._last[1]

    def _link(self, cell: Tensor, known: Draw) -> Draw | None:
        """The orbit through ``cell`` matched to ``known``, a kept orbit one factor away, at
        the harmonic that relates their repeats; None (and nothing kept) where ``known``'s
        are no divisor of its own (:func:`harmonic_reference`)."""
        try:
            angles = orbit_angles(self._whole(cell))
        except ValueError:  # no cycle here: no frame through it
            draw = Draw(known.angles, 0.0)
        else:
            reference = harmonic_reference(known.angles, known.folds, angles)
            if reference is None:
                return None
            frame = match_frame(reference, angles)
            draw = Draw(frame.angles, min(known.worst, frame.agreement), orbit_folds(angles))
        self.kept[self.key(cell)] = draw
        return draw

    def orbit(self, cell: Tensor, generator: torch.Generator) -> Draw:
        """The orbit through ``cell`` (its other factors' values; the factor's own is
        ignored) in the reference frame."""
        key = self.key(cell)
        if self._settled(key):
            return self.kept[key]
        order = [self.held[i] for i in torch.randperm(len(self.held), generator=generator)]
        for k in order:  # a kept orbit one held factor away, itself well linked
            at = self.held.index(k)
            for value in torch.randperm(self.dataset.factor_sizes[k], generator=generator):
                near = (*key[:at], int(value), *key[at + 1 :])
                if near in self.kept and self.kept[near].worst >= AGREEMENT:
                    draw = self._link(cell, self.kept[near])
                    if draw is not None:  # else its repeats are not read from there
                        return draw
        current = self.cell.clone()  # none: a path from the reference
        draw = self.kept[self.key(current)]
        for k in order:
            if int(cell[k]) == int(current[k]):
                continue
            current[k] = cell[k]
            step = self.key(current)
            linked = self.kept[step] if self._settled(step) else self._link(current.clone(), draw)
            draw = Draw(draw.angles, 0.0) if linked is None else linked
            if draw.worst < AGREEMENT:
                break
        return draw

    def _settled(self, key: tuple[int, ...]) -> bool:
        """Whether the orbit ``key`` is kept for good: well linked, or without a cycle (its
        images will not change); one kept through a poor link is read again when drawn."""
        return key in self.kept and not 0 < self.kept[key].worst < AGREEMENT


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
