"""The paths one factor traces when it alone varies, from base points of a dataset.

- A **renderer** (:class:`~prodvae.data.ProceduralDataset`) draws any values: from each
  continuous base point (:meth:`~prodvae.data.ProceduralDataset.sample_values`) the factor
  runs over ``samples`` evenly spaced values from its first grid value to its last (a factor
  declared with a period: once round it, so that the step from its last grid value back to
  its first is sampled as finely as the others -- on a dial of 8 angles, an eighth of a turn
  left out kept a thin hand's path from closing), between the grid values as well as on
  them, whatever its declared kind. A factor that is really a
  few separate values then shows runs of identical images; a continuous one moves a little
  at every sample.
- A **grid** file: from each base grid cell the factor runs over all its grid values.
- Any other **labelled file**: the rows are grouped by the levels of the other factors (exact
  values, or for a segment or loop with many distinct values, equal-count bins as the weak
  pairs use, :mod:`prodvae.data.matching`); each base point is a group in which the factor
  takes several values, one row per value.
- A file whose rows **never vary the factor alone** (no rows share every other factor's exact
  value while it takes three values or more -- photographs each taken at values of their
  own): a path's point at each of the factor's levels (its values, or :data:`MATCH_LEVELS`
  equal-count bins of them) is the *mean* of the embedded images (or codes) of the
  :data:`ROWS_PER_LEVEL` rows at that level whose other factors lie nearest a base row's
  (points factors, and any of at most :data:`MATCH_LEVELS` values, held at the base row's
  value; each other one's distance a fraction of its range, a loop's of half its period,
  round the circle).
  One row per level, the other factors binned, leaves the path as jagged as their values
  within a bin are apart: the `scattered` files' turn read a segment so (`benchmarks.unseen`,
  H1 lead 0.07-0.2 of the diameter); the mean of the nearest rows traces the factor alone.
  Where the held factors pin the factor (no rows sharing them take three of its values), the
  binned rows above are read instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from prodvae.data import FactorSpec, GroundTruthDataset, ProceduralDataset
from prodvae.data.matching import distinct_values, factor_levels
from prodvae.discover.reading import MAX_POINTS, evenly_spaced
from prodvae.spaces.kinds import is_circular, is_discrete

#: Values per path drawn from a renderer (at least the factor's grid size, at most MAX_POINTS).
SAMPLES = 64
#: Levels per continuous factor when grouping the rows of a file that is not a grid.
MATCH_LEVELS = 16
#: Rows averaged into one point of a mean path: a level's rows nearest the base point.
ROWS_PER_LEVEL = 8


class Untraceable(ValueError):
    """A factor whose paths cannot be drawn or read: no rows that share the other factors
    (to their level) take two of its values, or its images never change.
    :func:`~prodvae.discover.report.discover_dataset` reports it as not read."""


@dataclass(frozen=True)
class FactorPath:
    """The images along one factor from one base point."""

    values: np.ndarray  # float64 [n], increasing
    images: torch.Tensor  # uint8 [n, C, H, W]; with point_of, [m, C, H, W]
    base: np.ndarray  # int64 [K]: the base point's grid index of every factor
    #: a mean path's: the point (index into values) each image is averaged into; None when
    #: each image is its own point
    point_of: np.ndarray | None = None

    def points(self, embedded: np.ndarray) -> np.ndarray:
        """The path's points ``[n, D]`` from its images' embeddings or codes ``[m, D]``: the
        rows themselves, or a mean path's means."""
        if self.point_of is None:
            return embedded
        sums = np.zeros((len(self.values), embedded.shape[1]), dtype=np.float64)
        np.add.at(sums, self.point_of, embedded)
        counts = np.bincount(self.point_of, minlength=len(self.values))
        return sums / counts[:, None]

    def subsampled(self) -> FactorPath:
        """The path to read: at most :data:`~prodvae.discover.reading.MAX_POINTS` evenly
        spaced values (for a mean path, with the images of the points kept)."""
        keep = evenly_spaced(len(self.values))
        if self.point_of is None:
            return FactorPath(self.values[keep], self.images[keep], self.base)
        if len(keep) == len(self.values):
            return self
        renumber = np.full(len(self.values), -1)
        renumber[keep] = np.arange(len(keep))
        taken = renumber[self.point_of] >= 0
        images = self.images[torch.from_numpy(np.flatnonzero(taken))]
        return FactorPath(self.values[keep], images, self.base, renumber[self.point_of][taken])


def _base_indices(dataset: GroundTruthDataset, values: np.ndarray) -> np.ndarray:
    return np.stack(
        [spec.index_of(values[:, k]) for k, spec in enumerate(dataset.spec)], axis=1
    ).astype(np.int64)


def rendered_paths(
    dataset: ProceduralDataset,
    factor: int,
    num_bases: int,
    generator: torch.Generator,
    samples: int = SAMPLES,
) -> list[FactorPath]:
    """Paths drawn by a renderer between and on the grid values (see the module docstring)."""
    spec = dataset.spec[factor]
    grid = np.asarray(spec.values, dtype=np.float64)
    count = int(min(MAX_POINTS, max(samples, grid.size)))
    if spec.period is not None:  # once round: the step from the last grid value to the first too
        values = grid.min() + spec.period * np.arange(count) / count
    else:
        values = np.linspace(grid.min(), grid.max(), count)
    bases = dataset.sample_values(num_bases, generator).numpy()
    indices = _base_indices(dataset, bases)
    paths = []
    for base, index in zip(bases, indices):
        points = np.repeat(base[None], count, axis=0)
        points[:, factor] = values
        paths.append(FactorPath(values, dataset.render(points), index))
    return paths


def grid_paths(
    dataset: GroundTruthDataset, factor: int, num_bases: int, generator: torch.Generator
) -> list[FactorPath]:
    """Paths over every grid value of ``factor`` from random base cells of a grid."""
    size = dataset.factor_sizes[factor]
    values = np.asarray(dataset.spec[factor].values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    bases = dataset.sample_factors(num_bases, generator).numpy()
    paths = []
    for base in bases:
        cells = np.repeat(base[None], size, axis=0)
        cells[:, factor] = order
        paths.append(FactorPath(values[order], dataset.images_from_factors(cells), base))
    return paths


def _group_key(
    dataset: GroundTruthDataset, table: np.ndarray, factor: int, max_levels: int | None
) -> np.ndarray:
    """Each row's group: the levels of every factor but ``factor`` (``max_levels`` as in
    :func:`~prodvae.data.matching.factor_levels`; None: exact values)."""
    key = np.zeros(len(table), dtype=np.int64)
    for k, spec in enumerate(dataset.spec):
        if k != factor:
            levels = factor_levels(distinct_values(table[:, k], spec), spec, max_levels)
            key = _joined(key, levels.codes, levels.num_levels)
    return key


def _joined(key: np.ndarray, codes: np.ndarray, count: int) -> np.ndarray:
    """Groups ``key`` split further by ``codes`` (in ``0..count-1``), renumbered from 0 in
    the same order: exact values of many factors multiplied out would overflow int64."""
    _, joined = np.unique(key * count + codes, return_inverse=True)
    return joined.reshape(-1).astype(np.int64)


def _values_per_group(key: np.ndarray, own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each group of ``key`` and how many distinct values of ``own`` (indices) it holds."""
    pairs = np.unique(np.stack([key, own]), axis=1)
    return np.unique(pairs[0], return_counts=True)


def _varied_alone(key: np.ndarray, own: np.ndarray, least: int = 3) -> bool:
    """Whether some group of ``key`` holds ``least`` distinct values of ``own`` (indices)."""
    return bool(_values_per_group(key, own)[1].max() >= least)


def row_paths(
    dataset: GroundTruthDataset, factor: int, num_bases: int, generator: torch.Generator
) -> list[FactorPath]:
    """Paths through the rows of a labelled file that share every other factor's level (or,
    where the rows never vary the factor alone, :func:`mean_paths`, when they can be drawn)."""
    rows = np.arange(len(dataset))
    table = dataset.factors_at(rows).numpy()
    own = distinct_values(table[:, factor], dataset.spec[factor])
    if own.values.size >= 3 and not _varied_alone(
        _group_key(dataset, table, factor, None), own.indices
    ):
        try:
            return mean_paths(dataset, factor, num_bases, generator, table)
        except Untraceable:  # the held factors pin it: read the rows that bins leave
            pass
    key = _group_key(dataset, table, factor, MATCH_LEVELS)
    order = np.lexsort((own.indices, key))
    starts = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1]])
    groups = np.split(order, starts[1:])
    # one row per distinct value of the factor in each group
    groups = [g[np.r_[True, own.indices[g][1:] != own.indices[g][:-1]]] for g in groups]
    usable = [g for g in groups if len(g) >= 2]
    name = dataset.spec[factor].name
    if not usable:
        raise Untraceable(
            f"factor {name!r}: no rows share all the other factors while {name!r} takes "
            "two or more values, so it cannot be varied alone"
        )
    # groups in which the factor takes the most values first, ties broken at random
    shuffle = torch.randperm(len(usable), generator=generator).numpy()
    ranked = sorted(shuffle, key=lambda i: -len(usable[i]))
    paths = []
    for i in ranked[:num_bases]:
        group = usable[i][evenly_spaced(len(usable[i]))]
        values = table[group, factor]
        base = _base_indices(dataset, table[group[:1]])[0]
        paths.append(FactorPath(values, dataset.images_at(group), base))
    return paths


def mean_paths(
    dataset: GroundTruthDataset,
    factor: int,
    num_bases: int,
    generator: torch.Generator,
    table: np.ndarray,
) -> list[FactorPath]:
    """Mean paths of ``factor`` through a file whose rows never vary it alone (see the module
    docstring); ``table`` holds every row's factor values."""
    spec = dataset.spec[factor]
    levels = factor_levels(distinct_values(table[:, factor], spec), spec, MATCH_LEVELS)
    held = np.zeros(len(table), dtype=np.int64)  # points, or of few values: exact
    spread = []  # the others: each row's value as a fraction of that factor's range
    for k, other in enumerate(dataset.spec):
        if k == factor:
            continue
        distinct = distinct_values(table[:, k], other)
        if is_discrete(other.kind) or distinct.values.size <= MATCH_LEVELS:
            held = _joined(held, distinct.indices, distinct.values.size)
        else:
            spread.append(_scaled(table[:, k], other))
    # base rows: those whose held values are shared by rows at three levels or more
    groups, counts = _values_per_group(held, levels.codes)
    usable = np.flatnonzero(np.isin(held, groups[counts >= 3]))
    if not usable.size:
        raise Untraceable(
            f"factor {spec.name!r}: no rows that share the other points factors and factors of "
            "few values take three or more of its values, so it cannot be traced"
        )
    period = spec.period if is_circular(spec.kind) else None
    at_level = [np.flatnonzero(levels.codes == level) for level in range(levels.num_levels)]
    paths = []
    for _ in range(num_bases):
        base = usable[int(torch.randint(usable.size, (1,), generator=generator))]
        near = np.zeros(len(table))  # squared distance from the base in the other factors
        for column, circle in spread:
            near += _apart(column, column[base], circle) ** 2
        near[held != held[base]] = np.inf
        taken, values = [], []
        for rows in at_level:
            at = rows[np.isfinite(near[rows])]
            if at.size:
                # the nearest rows, ties in the order of a random permutation
                at = at[torch.randperm(at.size, generator=generator).numpy()]
                pick = at[np.argsort(near[at], kind="stable")[:ROWS_PER_LEVEL]]
                taken.append(pick)
                values.append(_mean_value(table[pick, factor], period))
        order = np.argsort(values, kind="stable")  # a loop's levels in order round it
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        point_of = np.concatenate([np.full(t.size, rank[i]) for i, t in enumerate(taken)])
        paths.append(
            FactorPath(
                np.asarray(values)[order],
                dataset.images_at(np.concatenate(taken)),
                _base_indices(dataset, table[[base]])[0],
                point_of,
            )
        )
    return paths


def _scaled(values: np.ndarray, spec: FactorSpec) -> tuple[np.ndarray, float | None]:
    """A factor's values as fractions of its range (a loop's: of half its period), with the
    period in those units (None for a segment)."""
    if is_circular(spec.kind):
        return values / (spec.period / 2), 2.0
    width = float(values.max() - values.min()) or 1.0
    return values / width, None


def _apart(values: np.ndarray, at: float, period: float | None) -> np.ndarray:
    """How far each of ``values`` lies from ``at`` (round the circle of ``period``, if any)."""
    gap = np.abs(values - at)
    if period is not None:
        gap = np.mod(gap, period)
        gap = np.minimum(gap, period - gap)
    return gap


def _mean_value(values: np.ndarray, period: float | None) -> float:
    """The mean of ``values``; on a circle of ``period``, the circular mean in ``[0, period)``."""
    if period is None:
        return float(values.mean())
    angle = 2 * np.pi * values / period
    mean = np.arctan2(np.sin(angle).mean(), np.cos(angle).mean())
    return float(np.mod(mean * period / (2 * np.pi), period))


def factor_paths(
    dataset: GroundTruthDataset,
    factor: int,
    num_bases: int,
    generator: torch.Generator,
    samples: int = SAMPLES,
    between: bool = True,
) -> list[FactorPath]:
    """The paths of ``factor`` from ``num_bases`` base points: rendered (between the grid
    values too, unless ``between`` is false), on the grid, or through matching rows (see the
    module docstring)."""
    if num_bases < 1:
        raise ValueError(f"num_bases must be >= 1, got {num_bases}")
    if isinstance(dataset, ProceduralDataset) and between:
        return rendered_paths(dataset, factor, num_bases, generator, samples)
    if dataset.is_grid:
        return grid_paths(dataset, factor, num_bases, generator)
    return row_paths(dataset, factor, num_bases, generator)
