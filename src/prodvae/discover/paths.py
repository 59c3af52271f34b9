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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from prodvae.data import GroundTruthDataset, ProceduralDataset
from prodvae.data.matching import distinct_values, factor_levels
from prodvae.discover.reading import MAX_POINTS, evenly_spaced

#: Values per path drawn from a renderer (at least the factor's grid size, at most MAX_POINTS).
SAMPLES = 64
#: Levels per continuous factor when grouping the rows of a file that is not a grid.
MATCH_LEVELS = 16


@dataclass(frozen=True)
class FactorPath:
    """The images along one factor from one base point."""

    values: np.ndarray  # float64 [n], increasing
    images: torch.Tensor  # uint8 [n, C, H, W]
    base: np.ndarray  # int64 [K]: the base point's grid index of every factor


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


def row_paths(
    dataset: GroundTruthDataset, factor: int, num_bases: int, generator: torch.Generator
) -> list[FactorPath]:
    """Paths through the rows of a labelled file that share every other factor's level."""
    rows = np.arange(len(dataset))
    table = dataset.factors_at(rows).numpy()
    key = np.zeros(len(rows), dtype=np.int64)
    for k, spec in enumerate(dataset.spec):
        if k != factor:
            levels = factor_levels(distinct_values(table[:, k], spec), spec, MATCH_LEVELS)
            key = key * levels.num_levels + levels.codes
    own = distinct_values(table[:, factor], dataset.spec[factor])
    order = np.lexsort((own.indices, key))
    starts = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1]])
    groups = np.split(order, starts[1:])
    # one row per distinct value of the factor in each group
    groups = [g[np.r_[True, own.indices[g][1:] != own.indices[g][:-1]]] for g in groups]
    usable = [g for g in groups if len(g) >= 2]
    name = dataset.spec[factor].name
    if not usable:
        raise ValueError(
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
