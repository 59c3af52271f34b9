"""Orbits from the rows of any labelled dataset, grid or not.

On a grid every orbit of a loop factor -- all its values, every other factor held -- is in the
data (:class:`~prodvae.objectives.grid_orbits.OrbitFrame`). A file that is not a grid still holds
orbits wherever several rows share every other factor: photographs of one object at many
angles, or a grid with rows missing. Rows share a factor when they sit at one of its
*levels* (:mod:`prodvae.data.matching`: exact values, or equal-count bins of a continuous
factor), the levels the weak pairs match on (:func:`~prodvae.data.pairs.row_pairs`). An
orbit here is a group of rows at one level of every other factor, one row for each level of
the loop factor that the group holds (its first row there); a group with fewer than
:data:`~prodvae.objectives.orbits.MIN_VALUES` levels is no orbit. Where the pairs match a
continuous factor in fine bins, few rows share a bin of every other factor (photographs at
random angles, zooms and shifts): the held factors' bins are then made coarser, halving down
to the pairs' coarsest (:func:`orbit_resolutions`), and the frame reads orbits at the bins
whose largest family (orbits joined by links) holds the most rows, the finest of equals.

Each orbit's angles are read from its images: their order round the cycle from
:func:`~prodvae.objectives.orbits.orbit_angles`, their spacing from the distances between
images next to each other on it (:func:`spaced_angles`), since rows sample a loop unevenly
where a grid's values are evenly spaced, as the eigenvectors' angles are. They are carried
into one reference orbit's frame through orbits one held factor apart, matched over the
levels the two share (:func:`~prodvae.objectives.orbits.carry_frame`; fewer than
``MIN_VALUES`` shared levels make no link). Orbits are drawn among those that a path of such
neighbours joins to the reference, the reference one of the orbits with the most values in the
largest such family. How well the angles follow the truth on files with rows missing:
``benchmarks/row_orbits.py``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset
from prodvae.data.matching import distinct_values, factor_levels
from prodvae.data.pairs import row_pairs
from prodvae.data.row_pairs import MIN_LEVELS
from prodvae.objectives.orbit_repeats import (
    fewest_repeats,
    harmonic_reference,
    orbit_folds,
    spare_generator,
)
from prodvae.objectives.orbits import (
    AGREEMENT,
    MIN_VALUES,
    NEIGHBOURS,
    REFERENCE_TRIES,
    Draw,
    carry_frame,
    orbit_angles,
    reference_orbit,
)

Key = tuple[int, ...]
#: The most nearest neighbours each image of an orbit with missing values is joined to.
MAX_NEIGHBOURS = 4


def spaced_angles(images: Tensor) -> Tensor:
    """The angle of each image round its cycle, float64 ``[n]``: images in the order
    :func:`~prodvae.objectives.orbits.orbit_angles` gives, each the turn's share of the
    distances from image to image along the cycle past it (images that repeat share one).
    Values missing from an orbit leave gaps that can cut the cycle of two nearest neighbours
    into pieces; up to :data:`MAX_NEIGHBOURS` are joined before the orbit is given up."""
    for neighbours in range(NEIGHBOURS, MAX_NEIGHBOURS + 1):
        try:
            order = torch.argsort(orbit_angles(images, min(neighbours, len(images) - 1)))
            break
        except ValueError:
            if neighbours == MAX_NEIGHBOURS:
                raise
    x = images.reshape(len(images), -1).double()[order]
    steps = (x.roll(-1, 0) - x).norm(dim=1)
    past = torch.cat([steps.new_zeros(1), steps.cumsum(0)[:-1]])
    angles = torch.empty_like(past)
    angles[order] = 2 * math.pi * past / steps.sum()
    return angles


class RowOrbit(NamedTuple):
    """One orbit: the loop factor's levels it holds, ascending, and a dataset row for each."""

    levels: np.ndarray  # int64 [m]
    rows: np.ndarray  # int64 [m]


def row_orbits(codes: np.ndarray, factor: int, held: list[int]) -> dict[Key, RowOrbit]:
    """The orbits of ``factor`` among rows whose levels are ``codes [N, K]``: rows grouped by
    their levels of the ``held`` factors (the key), one row per level of ``factor``, groups
    of at least ``MIN_VALUES`` levels."""
    loop = codes[:, factor]
    keys = codes[:, held]
    order = np.lexsort((loop, *(keys[:, j] for j in reversed(range(len(held))))))
    keys, loop = keys[order], loop[order]
    new_group = np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)]
    first = new_group | np.r_[True, loop[1:] != loop[:-1]]  # a level's first row in its group
    group = np.cumsum(new_group)[first] - 1
    rows, levels, keys = order[first], loop[first], keys[first]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], group.size]
    return {
        tuple(int(v) for v in keys[a]): RowOrbit(levels[a:b].astype(np.int64), rows[a:b])
        for a, b in zip(starts, ends)
        if b - a >= MIN_VALUES
    }


class RowOrbitFrame:
    """Orbits of one loop factor of any labelled dataset, each in one reference orbit's frame
    (see the module docstring); the interface of
    :class:`~prodvae.objectives.grid_orbits.OrbitFrame` with an orbit named by its key (its levels
    of the held factors) and holding the values it has, in ascending order of level.

    Every orbit read is kept (its angles, and the worst agreement on its chain). A new one is
    matched to a kept, well-linked orbit one held factor away, found in a random order; when
    none is kept, to its parent on a breadth-first tree of neighbours grown from the
    reference, read first. Each link's own agreement is kept in :attr:`links`.
    """

    def __init__(self, dataset: GroundTruthDataset, factor: int, generator: torch.Generator):
        index = row_pairs(dataset)
        if not 0 <= factor < dataset.num_factors:
            raise ValueError(f"orbits: factor {factor} is out of range [0, {dataset.num_factors})")
        name = dataset.spec[factor].name
        if index.levels[factor].num_levels < MIN_VALUES:
            raise ValueError(
                f"orbits: factor {name!r} has {index.levels[factor].num_levels} levels; an "
                f"orbit needs at least {MIN_VALUES}"
            )
        self.dataset, self.factor = dataset, factor
        self.held = [k for k, lv in enumerate(index.levels) if k != factor and lv.num_levels > 1]
        # the resolution whose largest family holds the most rows, the finest of equals
        self.orbits, self.buckets, families, most = {}, [], [], 0
        for codes in orbit_resolutions(dataset, factor):
            orbits = row_orbits(codes, factor, self.held)
            buckets = _buckets(orbits, len(self.held))
            linked = _families(orbits, buckets)
            rows = max((_rows(orbits, family) for family in linked), default=0)
            if rows > most:
                self.orbits, self.buckets, families, most = orbits, buckets, linked, rows
        if not self.orbits:
            raise ValueError(
                f"orbits: no {MIN_VALUES} rows share every other factor's level at "
                f"{MIN_VALUES} levels of {name!r}, so it has no orbit"
            )
        self.kept: dict[Key, Draw] = {}
        self.links: list[float] = []
        largest = max(families, key=len)
        fullest = max(self.count(key) for key in largest)  # fewest gaps to misread
        candidates = [key for key in largest if self.count(key) == fullest]
        found = reference_orbit(
            lambda: candidates[int(torch.randint(len(candidates), (1,), generator=generator))],
            lambda key: spaced_angles(self._images(key).float()),
        )
        spare = spare_generator(generator)  # more draws where its views repeat, of any fullness
        family = sorted(largest)
        self.reference, angles, folds = fewest_repeats(
            found,
            lambda: family[int(torch.randint(len(family), (1,), generator=spare))],
            lambda key: spaced_angles(self._images(key).float()),
            REFERENCE_TRIES,
        )
        self.kept[self.reference] = Draw(angles, 1.0, folds)
        self.parent = self._tree(self.reference)
        self.reachable = sorted(self.parent)

    def check(self, count: int, generator: torch.Generator) -> Tensor:
        """The agreement of every link made so far and in reading ``count`` orbits drawn
        with ``generator``, float64 ``[links]`` (the frame keeps what it read)."""
        for _ in range(count):
            self.orbit(self.draw(generator), generator)
        return torch.tensor(self.links, dtype=torch.float64)

    def draw(self, generator: torch.Generator) -> Key:
        """An orbit joined to the reference, drawn uniformly."""
        return self.reachable[int(torch.randint(len(self.reachable), (1,), generator=generator))]

    def count(self, key: Key) -> int:
        """How many values the orbit ``key`` holds."""
        return len(self.orbits[key].levels)

    def images(self, key: Key, rows: Tensor | None = None) -> Tensor:
        """The orbit's images ``uint8 [m, C, H, W]`` in ascending order of level (its values
        ``rows`` only, when given)."""
        return self._images(key, None if rows is None else rows.numpy())

    def orbit(self, key: Key, generator: torch.Generator) -> Draw:
        """The orbit ``key`` in the reference frame (angles NaN and agreement 0 where no
        path of good links reaches it)."""
        if self._settled(key):
            return self.kept[key]
        for at in torch.randperm(len(self.held), generator=generator).tolist():
            near = self.buckets[at][key[:at] + key[at + 1 :]]
            for i in torch.randperm(len(near), generator=generator).tolist():
                known = self.kept.get(near[i])
                if known is not None and known.worst >= AGREEMENT and self._joined(key, near[i]):
                    draw = self._link(key, near[i])
                    if draw is not None:  # else its repeats are not read from there
                        return draw
        path = [key]  # none: up the tree to a kept orbit, then down it
        while not self._settled(path[-1]):
            path.append(self.parent[path[-1]])
        for child, above in zip(reversed(path[:-1]), reversed(path[1:])):
            if self.kept[above].worst < AGREEMENT or self._link(child, above) is None:
                return Draw(torch.full((self.count(key),), torch.nan, dtype=torch.float64), 0.0)
        return self.kept[key]

    def _link(self, key: Key, known: Key) -> Draw | None:
        """The orbit ``key`` matched to the kept orbit ``known`` over the levels they share
        (at least ``MIN_VALUES``: :meth:`_joined`), at the harmonic that relates their
        repeats; None (and nothing kept) where ``known``'s are no divisor of its own
        (:func:`~prodvae.objectives.orbit_repeats.harmonic_reference`)."""
        mine, theirs = self.orbits[key], self.orbits[known]
        _, here, there = np.intersect1d(mine.levels, theirs.levels, return_indices=True)
        try:
            angles = spaced_angles(self._images(key).float())
        except ValueError:  # no cycle here: no frame through it, a link that agrees at 0
            draw = Draw(torch.full((len(mine.levels),), torch.nan, dtype=torch.float64), 0.0)
            self.links.append(0.0)
        else:
            kept = self.kept[known]
            repeats = orbit_folds(angles)
            shared = harmonic_reference(kept.angles[torch.from_numpy(there)], kept.folds, repeats)
            if shared is None:
                return None
            frame = carry_frame(shared, angles, torch.from_numpy(here))
            draw = Draw(frame.angles, min(kept.worst, frame.agreement), repeats)
            self.links.append(frame.agreement)
        self.kept[key] = draw
        return draw

    def _joined(self, key: Key, other: Key) -> bool:
        return _joined(self.orbits, key, other)

    def _settled(self, key: Key) -> bool:
        """Whether ``key`` is kept for good (as
        :class:`~prodvae.objectives.grid_orbits.OrbitFrame`)."""
        return key in self.kept and not 0 < self.kept[key].worst < AGREEMENT

    def _images(self, key: Key, rows: np.ndarray | None = None) -> Tensor:
        chosen = self.orbits[key].rows
        return self.dataset.images_at(chosen if rows is None else chosen[rows])

    def _tree(self, root: Key) -> dict[Key, Key]:
        return _tree(self.orbits, self.buckets, root)


def orbit_resolutions(dataset: GroundTruthDataset, factor: int) -> list[np.ndarray]:
    """Level codes ``int64 [N, K]`` of ``dataset``'s rows to group orbits of ``factor`` by,
    finest first: the weak pairs' levels (:func:`~prodvae.data.pairs.row_pairs`), then with
    every other factor that the pairs match in bins (a continuous one) cut into half as many,
    and so on down to :data:`~prodvae.data.row_pairs.MIN_LEVELS` bins. ``factor``'s own
    levels stay the pairs'. Photographs at random angles and zooms share a fine bin of every
    other factor with few others: coarser bins of the held factors give orbits of more values,
    at the cost of those factors varying a little within an orbit."""
    index = row_pairs(dataset)
    codes = np.stack([level.codes for level in index.levels], axis=1)
    resolutions = [codes]
    values = dataset.factors_at(np.arange(len(dataset))).numpy()
    binned = {  # a factor the pairs match in bins: some bin spans two values or more
        k: (distinct_values(values[:, k], spec), spec, level.num_levels)
        for k, (level, spec) in enumerate(zip(index.levels, dataset.spec))
        if k != factor and level.tolerance > 0
    }
    count = max((bins for _, _, bins in binned.values()), default=MIN_LEVELS)
    while count > MIN_LEVELS:
        count //= 2
        codes = codes.copy()
        for k, (distinct, spec, bins) in binned.items():
            if bins > count:
                codes[:, k] = factor_levels(distinct, spec, max(count, MIN_LEVELS)).codes
        resolutions.append(codes)
    return resolutions


def _buckets(orbits: dict[Key, RowOrbit], num_held: int) -> list[dict[Key, list[Key]]]:
    """Per held factor: the orbits that differ only in it, by the rest of their key."""
    buckets: list[dict[Key, list[Key]]] = [{} for _ in range(num_held)]
    for key in sorted(orbits):
        for at, bucket in enumerate(buckets):
            bucket.setdefault(key[:at] + key[at + 1 :], []).append(key)
    return buckets


def _joined(orbits: dict[Key, RowOrbit], key: Key, other: Key) -> bool:
    """Whether two orbits share enough levels (``MIN_VALUES``) to be linked."""
    shared = np.intersect1d(orbits[key].levels, orbits[other].levels)
    return len(shared) >= MIN_VALUES


def _tree(
    orbits: dict[Key, RowOrbit], buckets: list[dict[Key, list[Key]]], root: Key
) -> dict[Key, Key]:
    """Each orbit joined to ``root`` -> its parent on a breadth-first tree (root -> root):
    neighbours one held factor apart that share enough levels (:func:`_joined`)."""
    parent, queue = {root: root}, deque([root])
    while queue:
        key = queue.popleft()
        for at, bucket in enumerate(buckets):
            for near in bucket[key[:at] + key[at + 1 :]]:
                if near not in parent and _joined(orbits, key, near):
                    parent[near] = key
                    queue.append(near)
    return parent


def _families(orbits: dict[Key, RowOrbit], buckets: list[dict[Key, list[Key]]]) -> list[list[Key]]:
    """The orbits in families joined by neighbours, each family sorted."""
    seen: set[Key] = set()
    families = []
    for key in sorted(orbits):
        if key not in seen:
            family = sorted(_tree(orbits, buckets, key))
            seen.update(family)
            families.append(family)
    return families


def _rows(orbits: dict[Key, RowOrbit], family: list[Key]) -> int:
    """How many rows (values) the orbits of ``family`` hold."""
    return sum(len(orbits[key].rows) for key in family)
