"""When two rows share a factor: the matching levels of a factor's values.

Weak-supervision pairs drawn from rows (:mod:`prodvae.data.row_pairs`) keep every unchanged
factor at one *level* and move each changed factor to another level. A factor's levels are:

- **exact**: each distinct value (compared after rounding, as :func:`column_levels` does) is a
  level. Always so for a point set, and for a segment or loop with at most ``max_levels``
  distinct values (``max_levels=None``: every factor is exact).
- **bins**: a segment or loop with more distinct values than that is cut into ``max_levels``
  bins of about equal row counts (quantiles), whole distinct values to a bin; two rows match
  when they fall in one bin, so a pair's values differ by at most that bin's spread, the
  factor's *tolerance*. A loop's values are taken modulo its ``period`` and cut on the circle,
  starting at the widest gap between neighbouring values, so that values either side of
  ``0`` (``0.99`` and ``0.01`` of a turn) can share a bin and its spread is their circular
  distance.

Equal-count bins adapt to where the data are dense (the nearest rows in value are the ones that
match), and with ``max_levels`` a power of two each bin is the union of two finer ones, so
halving ``max_levels`` only ever merges levels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from prodvae.data.grid import ColumnLevels, column_levels
from prodvae.data.spec import FactorSpec
from prodvae.spaces.kinds import is_circular, is_discrete


class Levels(NamedTuple):
    """The matching level of every row for one factor."""

    codes: np.ndarray  # int64 [N], in 0..num_levels-1
    num_levels: int
    tolerance: float  # the widest level's spread of values (0.0 for exact levels)


def distinct_values(values: np.ndarray, spec: FactorSpec) -> ColumnLevels:
    """One factor's distinct values (a loop's modulo its period) and each row's among them."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if is_circular(spec.kind) and spec.period is not None:
        values = np.mod(values, spec.period)
    return column_levels(values)


def factor_levels(distinct: ColumnLevels, spec: FactorSpec, max_levels: int | None) -> Levels:
    """The matching levels of one factor (see the module docstring), from its
    :func:`distinct_values`."""
    count = distinct.values.size
    if is_discrete(spec.kind) or max_levels is None or count <= max_levels:
        return Levels(distinct.indices, count, 0.0)
    return _bins(distinct, max_levels, spec.period if is_circular(spec.kind) else None)


def _bins(distinct: ColumnLevels, num_bins: int, period: float | None) -> Levels:
    """Equal-count bins of whole distinct values, in order (on the circle when ``period``)."""
    values = distinct.values
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    if period is not None:  # start after the widest gap, wrap included
        gaps = np.diff(ordered, append=ordered[0] + period)
        start = (int(np.argmax(gaps)) + 1) % ordered.size
        order = np.roll(order, -start)
        ordered = np.concatenate([ordered[start:], ordered[:start] + period])
    counts = np.bincount(distinct.indices, minlength=values.size)[order]
    before = np.cumsum(counts) - counts
    in_order = before * num_bins // int(counts.sum())
    bin_of_value = np.empty(values.size, dtype=np.int64)
    bin_of_value[order] = in_order
    firsts = np.flatnonzero(np.r_[True, in_order[1:] != in_order[:-1]])
    spread = np.maximum.reduceat(ordered, firsts) - np.minimum.reduceat(ordered, firsts)
    return Levels(bin_of_value[distinct.indices], num_bins, float(spread.max()))
