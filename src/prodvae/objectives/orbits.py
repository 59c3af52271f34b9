"""A start for loops from orbits: the images of one factor going round, with the rest held.

The plane start (:mod:`prodvae.objectives.anchor`) needs a plane of the images in which a
factor's pairs move them; a sprite turning in place has none (its pairs move the images in
no plane more than the other pairs do), and no block of the recipe learns it. The images of
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
frame: on the built-in data every loop's angles follow its factor with circular alignment
0.97 to 1.00 over 100 to 200 orbits (``benchmarks/README.md``). The objective pulls each loop
block's codes of these images toward their angles on its ring
(:class:`~prodvae.objectives.product.ProductObjective`'s ``orbit_weight``), as labels would
be pulled, but the angles were read from the images and pairs, not from any label.

An orbit's graph that is not one cycle (an image whose two nearest neighbours are not the
values beside it, as when the images barely change with the factor) gives angles that do not
agree with the next orbit's; the walk measures that agreement (the circular alignment of the
matched pairs) and a factor whose orbits do not agree, on median, at :data:`AGREEMENT` or
better gets no start, which the log says.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset

log = logging.getLogger(__name__)

#: Nearest neighbours each image of an orbit is joined to: 2 make a cycle of a loop's images.
NEIGHBOURS = 2
#: The smallest orbit read: fewer values cannot show a cycle.
MIN_VALUES = 5
#: The median circular alignment between neighbouring orbits' angles over their matched
#: pairs below which a factor's orbits are taken to hold no cycle.
AGREEMENT = 0.9


def orbit_angles(images: Tensor, neighbours: int = NEIGHBOURS) -> Tensor:
    """The angle of each image round the cycle its images make, float64 ``[n]``.

    ``images [n, ...]`` (any shape per image, compared as flat vectors): each joined to its
    ``neighbours`` nearest (the joins made symmetric), weighted by a Gaussian of the squared
    distance in units of the median squared distance to the nearest neighbour; the angle is
    ``atan2`` of the Laplacian's second and third eigenvectors (random-walk normalised).
    """
    n = images.shape[0]
    if n < MIN_VALUES:
        raise ValueError(f"orbit_angles: need at least {MIN_VALUES} images, got {n}")
    if not 1 <= neighbours < n:
        raise ValueError(f"orbit_angles: neighbours must be in [1, {n - 1}], got {neighbours}")
    x = images.reshape(n, -1).double()
    if not torch.isfinite(x).all():
        raise ValueError("orbit_angles: images hold NaN or infinite values")
    squared = torch.cdist(x, x).pow(2)
    others = squared + torch.diag(torch.full((n,), math.inf, dtype=x.dtype))
    nearest = others.sort(dim=1).values
    scale = nearest[:, 0].median().clamp(min=torch.finfo(x.dtype).tiny)
    joined = others <= nearest[:, neighbours - 1 : neighbours]
    joined = joined | joined.T
    weights = torch.where(joined, torch.exp(-squared / (2 * scale)), 0.0)
    degree = weights.sum(1)
    root = degree.sqrt()
    laplacian = torch.eye(n, dtype=x.dtype) - weights / (root[:, None] * root[None, :])
    vectors = torch.linalg.eigh(laplacian).eigenvectors[:, 1:3] / root[:, None]
    return torch.atan2(vectors[:, 1], vectors[:, 0])


def match_frame(reference: Tensor, angles: Tensor) -> tuple[Tensor, float]:
    """``angles`` turned (and reflected if that fits better) onto ``reference`` (both
    ``[n]``, row i of each an image of the same value), and how well they then agree: the
    circular alignment ``|mean exp(i (reference - angles'))|`` in [0, 1]."""
    best: tuple[Tensor, float] | None = None
    for sign in (1.0, -1.0):
        turned = sign * angles
        offset = torch.angle(torch.exp(1j * (reference - turned)).mean())
        fitted = turned + offset
        agreement = float(torch.exp(1j * (reference - fitted)).mean().abs())
        if best is None or agreement > best[1]:
            best = (fitted, agreement)
    assert best is not None
    return best


@dataclass(frozen=True)
class Orbits:
    """The images of a chain of orbits of one factor, ``uint8 [m, C, H, W]``, their angles in
    the first orbit's frame, float64 ``[m]``, and each orbit's agreement with the one before
    (float64 ``[orbits - 1]``)."""

    images: Tensor
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
    varying factor moved to a random value, their angles carried into the first one's frame
    (see the module docstring)."""
    check_orbit_factor(dataset, factor)
    if count < 2:
        raise ValueError(f"chained_orbits: count must be >= 2, got {count}")
    sizes = list(dataset.factor_sizes)
    held = [k for k, size in enumerate(sizes) if k != factor and size > 1]
    cell = dataset.sample_factors(1, generator=generator)[0]
    values = torch.arange(sizes[factor])
    images, angles, agreement = [], [], []
    previous: Tensor | None = None
    for _ in range(count):
        cells = cell.repeat(sizes[factor], 1)
        cells[:, factor] = values
        orbit = dataset.images_from_factors(cells)
        theta = orbit_angles(orbit.float())
        if previous is not None:
            theta, agrees = match_frame(previous, theta)
            agreement.append(agrees)
        images.append(orbit)
        angles.append(theta)
        previous = theta
        moved = held[int(torch.randint(len(held), (1,), generator=generator))]
        cell = cell.clone()
        cell[moved] = int(torch.randint(sizes[moved], (1,), generator=generator))
    return Orbits(
        torch.cat(images), torch.cat(angles), torch.tensor(agreement, dtype=torch.float64)
    )


class OrbitFrame:
    """Fresh orbits of one factor of a grid dataset, each in one reference orbit's frame.

    The reference orbit is drawn once; any other orbit is reached from it by a path that
    changes the held factors that differ one at a time (in an order drawn at random), each
    orbit on the path matched to the one before over their pairs (:func:`match_frame`): a
    path of at most ``K - 1`` links, so the error does not grow with the number of orbits
    drawn, and every step of training can read a new orbit (a fixed set of orbits is learnt
    by heart: 200 sprites turning, read back at 0.95 while fresh sprites read at 0.13).
    """

    def __init__(self, dataset: GroundTruthDataset, factor: int, generator: torch.Generator):
        check_orbit_factor(dataset, factor)
        self.dataset, self.factor = dataset, factor
        sizes = dataset.factor_sizes
        self.held = [k for k, size in enumerate(sizes) if k != factor and size > 1]
        self.values = torch.arange(sizes[factor])
        self.cell = dataset.sample_factors(1, generator=generator)[0]
        self.angles = orbit_angles(self.images(self.cell).float())

    def images(self, cell: Tensor) -> Tensor:
        """The orbit's images ``uint8 [n, C, H, W]`` through ``cell``, in the factor's order."""
        return self.dataset.images_from_factors(self.cells(cell))

    def cells(self, cell: Tensor) -> Tensor:
        """The orbit's grid cells ``[n, K]`` through ``cell``."""
        cells = cell.repeat(len(self.values), 1)
        cells[:, self.factor] = self.values
        return cells

    def orbit(self, cell: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, float]:
        """The images ``uint8 [n, C, H, W]`` of the orbit through ``cell`` (its other factors'
        values; the factor's own is ignored), their angles in the reference frame ``[n]``,
        and the worst agreement of a link on the path there (1 for the reference itself)."""
        current, angles, worst = self.cell.clone(), self.angles, 1.0
        images = None
        order = torch.randperm(len(self.held), generator=generator).tolist()
        for j in (self.held[i] for i in order):
            if int(cell[j]) == int(current[j]):
                continue
            current[j] = cell[j]
            images = self.images(current)
            angles, agrees = match_frame(angles, orbit_angles(images.float()))
            worst = min(worst, agrees)
        if images is None:
            images = self.images(current)
        return images, angles, worst


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
