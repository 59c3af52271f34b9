"""Orbits in training: the pull of loop blocks toward the angles round their orbits
(``product``'s ``orbit_weight``; the angles: :mod:`prodvae.objectives.orbits`; the spread of
points blocks over an orbit's values: :mod:`prodvae.objectives.points_orbits`).

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
from prodvae.objectives.grid_orbits import OrbitFrame
from prodvae.objectives.orbits import (
    AGREEMENT,
    MIN_VALUES,
    Draw,
    chained_orbits,
)
from prodvae.objectives.row_orbits import RowOrbitFrame
from prodvae.objectives.semi_supervision import supervised_pull
from prodvae.objectives.weak import pair_assignment, pair_consistency
from prodvae.spaces import Loop, ProductSpace

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


def orbit_pairs(sizes: Sequence[int], device: torch.device) -> tuple[Tensor, Tensor]:
    """Every two items of one orbit, for orbits of ``sizes`` items laid end to end: the
    first and second item of each pair, int64 ``[pairs]`` each, orbit by orbit."""
    first, second, start = [], [], 0
    for size in sizes:
        i, j = torch.triu_indices(size, size, 1, device=device)
        first.append(i + start)
        second.append(j + start)
        start += size
    return torch.cat(first), torch.cat(second)


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
    a, b = orbit_pairs(sizes, mu.device)
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
