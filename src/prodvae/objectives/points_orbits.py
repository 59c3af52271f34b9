"""The spread of points blocks over their points within an orbit (``product``'s
``orbit_points_weight``), on a grid and on any labelled file.

A points factor's orbit -- its every value, the rest held -- holds as many distinct values as
images, so its codes belong at as many distinct points: :func:`orbit_spread` penalises a point
that holds more than one of them (shared softly, as the points coverage shares a batch,
:func:`~prodvae.objectives.coverage.point_shares`). It asks no more of the pairs than the
pair separation does (a pair that changes the factor holds two values), but asks it of every
value of one object, in one context, at once: two values left astride one point are pushed
apart even when the values beside them hold the points next to it. No identity of a value is
carried from one orbit to another; which point holds which value is left to the pairs that
keep the factor.

On a grid an orbit is every value of the factor through a random cell
(:class:`GridPointsOrbits`). A file that is no grid -- photographs of several objects at many
angles, a grid with rows missing -- holds an orbit wherever rows share every other factor's
*level* (the levels the weak pairs match on: :mod:`prodvae.data.matching`) at two or more
levels of the points factor (:class:`RowPointsOrbits`): one row for each level the group
holds, drawn afresh among the group's rows there each time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset
from prodvae.data.pairs import row_pairs
from prodvae.models import VAE
from prodvae.objectives.coverage import point_shares
from prodvae.objectives.orbit_pull import orbit_pairs, shares_with_running_norms
from prodvae.objectives.orbits import orbit_cells
from prodvae.objectives.weak import pair_assignment
from prodvae.spaces import PointSet, ProductSpace

log = logging.getLogger(__name__)


class PointsOrbits(Protocol):
    """Where a points block's orbits come from: ``column`` is the data's factor, and each
    draw ``orbits`` orbits' images ``uint8 [n, C, H, W]``, in order, with how many images each
    orbit holds (summing to ``n``), each at most ``most`` of its values (a random few of a
    factor with more, as cars3d's 183 cars: :func:`some_values`)."""

    column: int

    def draw(
        self, orbits: int, generator: torch.Generator, most: int, /
    ) -> tuple[Tensor, tuple[int, ...]]: ...


def some_values(count: int, most: int, generator: torch.Generator) -> Tensor:
    """``most`` of ``range(count)`` at random, in order; every one (drawing nothing from
    ``generator``) when ``count <= most``."""
    if count <= most:
        return torch.arange(count)
    return torch.randperm(count, generator=generator)[:most].sort().values


class GridPointsOrbits:
    """Orbits of factor ``column`` of a grid: its every value (or ``most`` of them) through a
    random cell."""

    def __init__(self, dataset: GroundTruthDataset, column: int):
        self.dataset, self.column = dataset, column
        self.size = dataset.factor_sizes[column]

    def draw(
        self, orbits: int, generator: torch.Generator, most: int
    ) -> tuple[Tensor, tuple[int, ...]]:
        cells = self.dataset.sample_factors(orbits, generator=generator)
        grid = []
        for cell in cells:
            orbit = orbit_cells(cell, self.column, self.size)
            grid.append(orbit[some_values(self.size, most, generator)])
        sizes = tuple(len(orbit) for orbit in grid)
        return self.dataset.images_from_factors(torch.cat(grid)), sizes


class RowPointsOrbits:
    """Orbits of factor ``column`` among a dataset's rows (see the module docstring): groups
    of rows at one level of every other factor that hold at least two levels of ``column``.

    Raises:
        ValueError: when some factor never changes alone between two rows
            (:func:`~prodvae.data.pairs.row_pairs`), so that weak pairs cannot train either,
            or ``column`` takes one value only.
    """

    def __init__(self, dataset: GroundTruthDataset, column: int):
        index = row_pairs(dataset)
        codes = np.stack([level.codes for level in index.levels], axis=1)
        held = [k for k, lv in enumerate(index.levels) if k != column and lv.num_levels > 1]
        order = np.lexsort((codes[:, column], *(codes[:, k] for k in reversed(held))))
        keys, level = codes[order][:, held], codes[order, column]
        new_group = np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)]
        new_run = new_group | np.r_[True, level[1:] != level[:-1]]  # a level of a group
        starts = np.flatnonzero(new_run)
        lengths = np.diff(np.r_[starts, len(order)])
        group = np.cumsum(new_group)[starts] - 1
        first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])  # each group's first run
        runs = np.diff(np.r_[first, len(starts)])
        kept = runs >= 2
        # row_pairs checked that a pair can change each factor alone, which needs a group
        # with two of its levels: none is left only when the factor takes one value
        if not kept.any():
            raise ValueError(
                f"no two rows share every other factor's level at two levels of "
                f"{dataset.spec[column].name!r}, so it has no orbit"
            )
        self.dataset, self.column = dataset, column
        self._order = order  # int64 [N]: the rows, grouped, each group by level
        # int64 [runs]: where each run (the rows of one group at one level) starts in _order,
        # and how many rows it holds
        self._starts, self._lengths = starts, lengths
        # int64 [orbits]: each orbit's first run and how many runs (levels) it holds
        self.first, self.runs = first[kept], runs[kept]

    def __len__(self) -> int:
        return len(self.first)

    def draw(
        self, orbits: int, generator: torch.Generator, most: int
    ) -> tuple[Tensor, tuple[int, ...]]:
        picks = torch.randint(len(self.first), (orbits,), generator=generator).numpy()
        first, count = self.first[picks], self.runs[picks]
        runs = np.concatenate(
            [a + some_values(int(n), most, generator).numpy() for a, n in zip(first, count)]
        )
        within = torch.rand(len(runs), generator=generator, dtype=torch.float64).numpy()
        at = self._starts[runs] + (within * self._lengths[runs]).astype(np.int64)
        return self.dataset.images_at(self._order[at]), tuple(min(int(n), most) for n in count)


def orbit_points(
    dataset: GroundTruthDataset, space: ProductSpace, columns: Sequence[int]
) -> dict[int, PointsOrbits]:
    """The orbits of each points block of ``space`` (block k standing for the data's factor
    ``columns[k]``) whose factor is a points factor with at least 2 and at most as many values
    (a file's levels) as the block has points: :class:`GridPointsOrbits` on a grid,
    :class:`RowPointsOrbits` on any other dataset. The log names each block left without."""
    spread: dict[int, PointsOrbits] = {}
    for block, factor in enumerate(space.factors):
        if not isinstance(factor, PointSet):
            continue
        column = columns[block]
        spec = dataset.spec[column]
        if dataset.is_grid:
            size = dataset.factor_sizes[column]
        else:
            size = row_pairs(dataset).levels[column].num_levels
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
        orbits = GridPointsOrbits if dataset.is_grid else RowPointsOrbits
        spread[block] = orbits(dataset, column)
    return spread


def orbit_spread(
    model: VAE,
    blocks: dict[int, PointsOrbits],
    draws: int,
    generator: torch.Generator,
    most: int = 2**62,
) -> Tensor:
    """For each points block (block -> its orbits, :func:`orbit_points`), ``draws`` orbits of
    its factor, each of at most ``most`` of its values, encoded
    (:func:`~prodvae.objectives.orbit_pull.shares_with_running_norms`), and how far the block's
    codes crowd its points within each (:func:`orbit_apart` of a block with logits, else
    :func:`orbit_overlap` of its means), summed over blocks ``[]``."""
    if most < 2:
        raise ValueError(f"orbit_spread: an orbit needs at least 2 values, got most={most}")
    device = next(model.parameters()).device
    total = torch.zeros((), device=device)
    for block, orbits in blocks.items():
        images, sizes = orbits.draw(draws, generator, most)
        posterior, shares = shares_with_running_norms(model, images.to(device).float() / 255)
        even = len(set(sizes)) == 1  # a grid's: every orbit as long
        if block in shares:
            log_shares = shares[block]
            if even:
                total = total + orbit_apart(log_shares.view(draws, sizes[0], -1), block)
            else:
                total = total + ragged_apart(log_shares, sizes, block)
            continue
        mu = model.space.split(posterior.mu)[block]
        factor = model.space.factors[block]
        assert isinstance(factor, PointSet)
        if even:
            total = total + orbit_overlap(mu.view(draws, sizes[0], -1), factor)
        else:
            total = total + ragged_overlap(mu, sizes, factor)
    return total


def orbit_apart(log_shares: Tensor, block: int) -> Tensor:
    """For a points block with logits (``point_logits``), the log-shares of its orbits' codes
    ``[orbits, values, points]``: :func:`~prodvae.objectives.weak.pair_assignment` of every
    two values of an orbit as a pair that changes the factor ``[]`` -- each value of one
    object, in one context, apart from every other."""
    orbits, values, points = log_shares.shape
    first, second = torch.triu_indices(values, values, 1, device=log_shares.device)
    pairs = torch.cat([log_shares[:, first], log_shares[:, second]], 1).transpose(0, 1)
    changed = torch.zeros(orbits * first.numel(), block + 1, dtype=torch.bool)
    return pair_assignment({block: pairs.reshape(-1, points)}, changed.to(log_shares.device))


def ragged_apart(log_shares: Tensor, sizes: Sequence[int], block: int) -> Tensor:
    """:func:`orbit_apart` of orbits of ``sizes`` values each (in order), their log-shares
    ``[sum(sizes), points]``: every two values of an orbit a pair, averaged over all pairs."""
    a, b = orbit_pairs(sizes, log_shares.device)
    changed = torch.zeros(a.numel(), block + 1, dtype=torch.bool, device=log_shares.device)
    return pair_assignment({block: torch.cat([log_shares[a], log_shares[b]])}, changed)


def orbit_overlap(codes: Tensor, factor: PointSet) -> Tensor:
    """How far the orbits' codes ``[orbits, values, 1]`` of a points block crowd its points:
    each code shared among the points (:func:`~prodvae.objectives.coverage.point_shares`,
    as the points coverage shares a batch), and the mean over orbits of
    ``sum_j relu(S_j - 1)^2``, ``S_j`` the orbit's total share of point j ``[]``. For four
    points: 3e-4 when each value sits at a point of its own (the kernel's leak), 0.48 to
    0.58 when two share a point and the rest sit apart, 6.4 when all four share one."""
    shares = point_shares(codes, factor)
    return torch.relu(shares.sum(1) - 1).pow(2).sum(-1).mean()


def ragged_overlap(codes: Tensor, sizes: Sequence[int], factor: PointSet) -> Tensor:
    """:func:`orbit_overlap` of orbits of ``sizes`` values each (in order), their codes
    ``[sum(sizes), 1]``: the overlap of each orbit, averaged over orbits ``[]``."""
    shares = point_shares(codes, factor)
    orbit = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(list(sizes)))
    orbit = orbit.to(codes.device)  # built on the host: no sync for its length
    totals = shares.new_zeros(len(sizes), shares.shape[-1]).index_add(0, orbit, shares)
    return torch.relu(totals - 1).pow(2).sum(-1).mean()
