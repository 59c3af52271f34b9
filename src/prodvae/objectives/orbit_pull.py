"""Orbits in training: the pull of loop blocks toward the angles round their orbits, and the
spread of points blocks over their points within an orbit (``product``'s ``orbit_weight`` and
``orbit_points_weight``; the angles: :mod:`prodvae.objectives.orbits`).

A points factor's orbit -- its every value, the rest held -- holds as many distinct values as
images, so its codes belong at as many distinct points: :func:`orbit_spread` penalises a point
that holds more than one of them (shared softly, as the points coverage shares a batch,
:func:`~prodvae.objectives.coverage.points_coverage`). It asks no more of the pairs than the
pair separation does (a pair that changes the factor holds two values), but asks it of every
value of one sprite, in one context, at once: two values left astride one point are pushed
apart even when the values beside them hold the points next to it. No identity of a value is
carried from one orbit to another; which point holds which value is left to the pairs that
keep the factor.

An orbit of a loop is also many pairs at once, each changing that loop and keeping every
other factor: :func:`orbit_kept` reads them on the codes the pull has already encoded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset
from prodvae.models import VAE, Posterior
from prodvae.objectives.coverage import point_shares
from prodvae.objectives.orbits import (
    AGREEMENT,
    MIN_VALUES,
    Draw,
    OrbitFrame,
    chained_orbits,
    orbit_cells,
)
from prodvae.objectives.row_orbits import RowOrbitFrame
from prodvae.objectives.semi_supervision import supervised_pull
from prodvae.objectives.weak import pair_assignment, pair_consistency
from prodvae.spaces import Loop, PointSet, ProductSpace

log = logging.getLogger(__name__)


class Frame(Protocol):
    """What the pull reads orbits from: a grid's :class:`OrbitFrame` (an orbit named by a
    grid cell) or a :class:`~prodvae.objectives.row_orbits.RowOrbitFrame` (by its key)."""

    def draw(self, generator: torch.Generator, /) -> Any: ...

    def count(self, orbit: Any, /) -> int: ...

    def orbit(self, orbit: Any, generator: torch.Generator, /) -> Draw: ...

    def images(self, orbit: Any, rows: Tensor | None = None, /) -> Tensor: ...


def _unlinked(orbits: int) -> str:
    """Why a file's orbits (``orbits`` of them) give no frame: none is linked to another."""
    if orbits == 1:
        return "its rows make one orbit only, with no other to link it to"
    return f"none of its {orbits} orbits shares {MIN_VALUES} values with another to link to"


def orbit_frames(
    dataset: GroundTruthDataset,
    space: ProductSpace,
    columns: Sequence[int],
    anchored: Tensor | None,
    count: int,
    generator: torch.Generator,
) -> dict[int, Frame]:
    """A frame for each loop block of ``space`` (block k standing for the data's factor
    ``columns[k]``) that ``anchored`` (bool over the space's dimensions, None for none) leaves
    unanchored, whose factor is a loop of the data and whose orbits agree from one to the
    next: on a grid an :class:`OrbitFrame`, checked on ``count`` chained orbits
    (:func:`chained_orbits`); on any other dataset a
    :class:`~prodvae.objectives.row_orbits.RowOrbitFrame`, checked on the links that reading
    ``count`` of its orbits makes. The log names each block started and each left without."""
    frames: dict[int, Frame] = {}
    if not any(isinstance(factor, Loop) for factor in space.factors):
        log.info("orbits: the space has no loop block; none is pulled toward orbits")
        return frames
    left = 0  # loop blocks the plane does not start
    for block, (factor, dims) in enumerate(zip(space.factors, space.slices)):
        if not isinstance(factor, Loop):
            continue
        if anchored is not None and bool(anchored[dims].all()):
            continue  # the plane starts it
        left += 1
        column = columns[block]
        spec = dataset.spec[column]
        if spec.kind != "loop":
            log.warning(
                "orbits: no start for loop block %d: %s is a %s", block, spec.name, spec.kind
            )
            continue
        frame: Frame
        try:  # on a grid, the frame is made after its check, from the generator as it leaves it
            if dataset.is_grid:
                links = chained_orbits(dataset, column, count, generator).agreement
            else:
                frame = RowOrbitFrame(dataset, column, generator)
                if len(frame.reachable) == 1:  # the reference alone: no link to agree on
                    raise ValueError(_unlinked(len(frame.orbits)))
                links = frame.check(count, generator)
            agreement = float(links.median()) if links.numel() else 0.0
            if dataset.is_grid and agreement >= AGREEMENT:
                frame = OrbitFrame(dataset, column, generator)
        except ValueError as error:
            log.warning("orbits: no start for loop block %d (%s): %s", block, spec.name, error)
            continue
        if agreement < AGREEMENT:
            log.warning(
                "orbits: no start for loop block %d (%s): neighbouring orbits agree at %.2f on "
                "median (a cycle: >= %.2f)",
                block,
                spec.name,
                agreement,
                AGREEMENT,
            )
            continue
        log.info(
            "orbits: loop block %d (%s) is pulled toward the angles round its orbits (%d "
            "%s orbits agree at %.2f on median)",
            block,
            spec.name,
            count,
            "chained" if dataset.is_grid else "linked",
            agreement,
        )
        frames[block] = frame
    if not left:
        log.info("orbits: every loop block starts on its plane; none is pulled toward orbits")
    elif not frames:
        log.warning("orbits: orbit_weight > 0, but no loop block was started")
    return frames


class OrbitPull(NamedTuple):
    """The pull summed over blocks ``[]``, the worst agreement on the paths drawn, and how
    far each orbit's codes move over the blocks it keeps (:func:`orbit_kept`, summed over
    blocks ``[]``; None unless asked for)."""

    total: Tensor
    worst: float
    kept: Tensor | None = None


class OrbitDraws(NamedTuple):
    """One step's orbits: each pulled block's images ``uint8 [n, C, H, W]``, their angles
    ``[n]`` and how many images each orbit kept holds (in order, summing to ``n``), and the
    worst agreement on the paths drawn."""

    images: dict[int, Tensor]
    angles: dict[int, Tensor]
    worst: float
    sizes: dict[int, tuple[int, ...]]


def draw_orbits(
    frames: dict[int, Frame], batch: int, generator: torch.Generator, draws: int = 1
) -> OrbitDraws:
    """For each block's frame, ``draws`` orbits drawn with ``generator`` through random
    cells, ``batch`` of their images in all (split evenly; with replacement when an orbit has
    fewer), and their angles; an orbit reached through a link that agrees below
    :data:`AGREEMENT` is left out. Nothing here reads the model, so it can run ahead in
    another process (:mod:`prodvae.objectives.orbit_stream`)."""
    if not 1 <= draws <= batch:
        raise ValueError(f"orbit_pull: draws must be in [1, batch={batch}], got {draws}")
    images: dict[int, Tensor] = {}
    angles: dict[int, Tensor] = {}
    sizes: dict[int, tuple[int, ...]] = {}
    worst = 1.0
    for block, frame in frames.items():
        taken: list[Tensor] = []
        their_angles: list[Tensor] = []
        for i in range(draws):
            # the cells and rows drawn do not hang on which orbits are kept: the path has
            # its own generator
            cell = frame.draw(generator)
            take, size = batch // draws + (i < batch % draws), frame.count(cell)
            if take <= size:
                rows = torch.randperm(size, generator=generator)[:take]
            else:
                rows = torch.randint(size, (take,), generator=generator)
            path = torch.Generator().manual_seed(
                int(torch.randint(2**62, (1,), generator=generator))
            )
            draw = frame.orbit(cell, path)
            worst = min(worst, draw.worst)
            if draw.worst >= AGREEMENT:
                taken.append(frame.images(cell, rows))
                their_angles.append(draw.angles[rows])
        if taken:
            images[block], angles[block] = torch.cat(taken), torch.cat(their_angles)
            sizes[block] = tuple(len(t) for t in taken)
    return OrbitDraws(images, angles, worst, sizes)


def pull_drawn(
    model: VAE, drawn: OrbitDraws, spreads: tuple[float, ...] | None = None
) -> OrbitPull:
    """The pull (:func:`~prodvae.objectives.semi_supervision.supervised_pull`, the labels'
    energy) of each block's means of its drawn images toward their angles on its ring,
    summed over blocks; with ``spreads`` (:func:`~prodvae.objectives.weak.prior_spreads`),
    also :func:`orbit_kept` of the same codes, summed over blocks."""
    device = next(model.parameters()).device
    total, kept = torch.zeros((), device=device), torch.zeros((), device=device)
    for block, images in drawn.images.items():
        posterior, shares = shares_with_running_norms(model, images.to(device).float() / 255)
        labels = drawn.angles[block].to(device)[:, None]
        total = total + supervised_pull(model.space, posterior.mu, labels, {0: block})
        if spreads is not None:
            sizes = drawn.sizes[block]
            kept = kept + orbit_kept(model.space, posterior.mu, shares, sizes, block, spreads)
    return OrbitPull(total, drawn.worst, kept if spreads is not None else None)


def orbit_kept(
    space: ProductSpace,
    mu: Tensor,
    shares: dict[int, Tensor],
    sizes: Sequence[int],
    block: int,
    spreads: tuple[float, ...],
) -> Tensor:
    """Every two images of one orbit of block ``block``'s factor as a pair that changes that
    factor and keeps every other: the means ``mu [n, dim]`` of orbits of ``sizes`` images (in
    order) and the log-shares of the ``point_logits`` blocks (``shares``), made into such
    pairs; :func:`~prodvae.objectives.weak.pair_consistency` of the pairs (with the prior's
    ``spreads``) plus :func:`~prodvae.objectives.weak.pair_assignment` of the softmax blocks
    ``[]``. An orbit is many pairs at once, each keeping all factors but one: 0 when every
    block but ``block`` is constant over each orbit and each softmax block sure of one point."""
    if sum(sizes) != mu.shape[0]:
        raise ValueError(f"orbit_kept: orbits of {sum(sizes)} images, got {mu.shape[0]} codes")
    first, second, start = [], [], 0
    for size in sizes:
        i, j = torch.triu_indices(size, size, 1, device=mu.device)
        first.append(i + start)
        second.append(j + start)
        start += size
    a, b = torch.cat(first), torch.cat(second)
    if not a.numel():  # orbits of one image each: no pair
        return mu.new_zeros(())
    shared = torch.ones(a.numel(), space.num_factors, dtype=torch.bool, device=mu.device)
    shared[:, block] = False
    total = pair_consistency(space, torch.cat([mu[a], mu[b]]), shared, spreads)
    kept = {k: torch.cat([p[a], p[b]]) for k, p in shares.items() if k != block}
    if kept:
        total = total + pair_assignment(kept, shared)
    return total


def orbit_pull(
    model: VAE,
    frames: dict[int, Frame],
    batch: int,
    generator: torch.Generator,
    draws: int = 1,
) -> OrbitPull:
    """The orbits of :func:`draw_orbits`, and the pull of each block's means of them toward
    their angles on its ring (:func:`pull_drawn`), summed over blocks."""
    return pull_drawn(model, draw_orbits(frames, batch, generator, draws))


def shares_with_running_norms(model: VAE, x: Tensor) -> tuple[Posterior, dict[int, Tensor]]:
    """:meth:`~prodvae.models.VAE.encode_with_shares` of ``x`` with the model's code
    normalisations reading their running statistics and leaving them as they are: a batch of
    one orbit holds every other factor at one value, whose batch statistics would blow that
    factor's codes up and mislead the averages."""
    norms = [*model.loop_norms.values(), *model.code_norms.values()]
    modes = [norm.training for norm in norms]
    for norm in norms:
        norm.eval()
    try:
        return model.encode_with_shares(x)
    finally:
        for norm, mode in zip(norms, modes):
            norm.train(mode)


def orbit_points(
    dataset: GroundTruthDataset, space: ProductSpace, columns: Sequence[int]
) -> dict[int, int]:
    """The points blocks of ``space`` (block k standing for the data's factor ``columns[k]``)
    whose factor is a points factor of a grid with at least 2 and at most as many values as
    the block has points, each with its factor; the log names each block left without."""
    if not dataset.is_grid:
        log.warning("orbits: no points block is spread: orbits need a grid dataset")
        return {}
    spread: dict[int, int] = {}
    for block, factor in enumerate(space.factors):
        if not isinstance(factor, PointSet):
            continue
        column = columns[block]
        spec, size = dataset.spec[column], dataset.factor_sizes[column]
        if spec.kind != "points" or not 2 <= size <= factor.num_points:
            log.warning(
                "orbits: points block %d (%d points) is not spread: %s is a %s of %d values",
                block,
                factor.num_points,
                spec.name,
                spec.kind,
                size,
            )
            continue
        spread[block] = column
    return spread


def orbit_spread(
    model: VAE,
    dataset: GroundTruthDataset,
    blocks: dict[int, int],
    draws: int,
    generator: torch.Generator,
) -> Tensor:
    """For each points block (block -> the data's factor, :func:`orbit_points`), ``draws``
    orbits of its factor through random cells, encoded (:func:`shares_with_running_norms`),
    and the overlap of the block's means (:func:`orbit_overlap`), summed over blocks ``[]``."""
    device = next(model.parameters()).device
    total = torch.zeros((), device=device)
    for block, column in blocks.items():
        size = dataset.factor_sizes[column]
        cells = dataset.sample_factors(draws, generator=generator)
        grid = torch.cat([orbit_cells(cell, column, size) for cell in cells])
        x = dataset.images_from_factors(grid).to(device).float() / 255
        posterior, shares = shares_with_running_norms(model, x)
        if block in shares:
            total = total + orbit_apart(shares[block].view(draws, size, -1), block)
            continue
        mu = model.space.split(posterior.mu)[block]
        factor = model.space.factors[block]
        assert isinstance(factor, PointSet)
        total = total + orbit_overlap(mu.view(draws, size, -1), factor)
    return total


def orbit_apart(log_shares: Tensor, block: int) -> Tensor:
    """For a points block with logits (``point_logits``), the log-shares of its orbits' codes
    ``[orbits, values, points]``: :func:`~prodvae.objectives.weak.pair_assignment` of every
    two values of an orbit as a pair that changes the factor ``[]`` -- each value of one
    sprite, in one context, apart from every other."""
    orbits, values, points = log_shares.shape
    first, second = torch.triu_indices(values, values, 1, device=log_shares.device)
    pairs = torch.cat([log_shares[:, first], log_shares[:, second]], 1).transpose(0, 1)
    changed = torch.zeros(orbits * first.numel(), block + 1, dtype=torch.bool)
    return pair_assignment({block: pairs.reshape(-1, points)}, changed.to(log_shares.device))


def orbit_overlap(codes: Tensor, factor: PointSet) -> Tensor:
    """How far the orbits' codes ``[orbits, values, 1]`` of a points block crowd its points:
    each code shared among the points (:func:`~prodvae.objectives.coverage.point_shares`,
    as the points coverage shares a batch), and the mean over orbits of
    ``sum_j relu(S_j - 1)^2``, ``S_j`` the orbit's total share of point j ``[]``. For four
    points: 3e-4 when each value sits at a point of its own (the kernel's leak), 0.48 to
    0.58 when two share a point and the rest sit apart, 6.4 when all four share one."""
    shares = point_shares(codes, factor)
    return torch.relu(shares.sum(1) - 1).pow(2).sum(-1).mean()
