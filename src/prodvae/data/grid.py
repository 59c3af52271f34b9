"""Factor grids: multi-indices <-> flat cell numbers, and detection of full products.

A factor grid with sizes ``(s_1, ..., s_K)`` numbers its cells in row-major order (the last
factor varies fastest), as Shapes3D, dSprites and MPI3D store their images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def ravel_indices(indices: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """Flat cell numbers of grid multi-indices.

    Args:
        indices: ``[n, K]`` integer indices, ``0 <= indices[:, k] < sizes[k]``.
        sizes: the ``K`` factor sizes.

    Returns:
        ``[n]`` int64 flat cell numbers (last factor fastest).
    """
    indices = np.asarray(indices, dtype=np.int64)
    if indices.ndim != 2 or indices.shape[1] != len(sizes):
        raise ValueError(f"indices must have shape [n, {len(sizes)}], got {tuple(indices.shape)}")
    bounds = np.asarray(sizes, dtype=np.int64)
    if indices.size and ((indices < 0).any() or (indices >= bounds).any()):
        raise ValueError(f"indices out of range for factor sizes {tuple(sizes)}")
    return np.ravel_multi_index(tuple(indices.T), tuple(sizes)).astype(np.int64)


def unravel_flat(flat: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """Grid multi-indices ``[n, K]`` (int64) of flat cell numbers ``[n]``."""
    flat = np.asarray(flat, dtype=np.int64).reshape(-1)
    total = int(np.prod(sizes, dtype=np.int64))
    if flat.size and ((flat < 0).any() or (flat >= total).any()):
        raise ValueError(f"flat index out of range [0, {total}) for factor sizes {tuple(sizes)}")
    return np.stack(np.unravel_index(flat, tuple(sizes)), axis=1).astype(np.int64)


@dataclass(frozen=True)
class FactorGrid:
    """A full factor grid and where each cell lives among a dataset's rows.

    ``rows`` is ``None`` when row ``r`` holds cell ``r`` (the usual storage order); otherwise
    ``rows[c]`` is the row holding flat cell ``c``.
    """

    sizes: tuple[int, ...]
    rows: np.ndarray | None = None

    @property
    def num_cells(self) -> int:
        return int(np.prod(self.sizes, dtype=np.int64))

    def rows_of(self, indices: np.ndarray) -> np.ndarray:
        """Dataset rows ``[n]`` of grid multi-indices ``[n, K]``."""
        flat = ravel_indices(indices, self.sizes)
        return flat if self.rows is None else self.rows[flat]


@dataclass(frozen=True)
class ColumnLevels:
    """The distinct values of one factor column and the index of every entry among them."""

    values: np.ndarray  # [size] sorted distinct values
    indices: np.ndarray  # [N] int64 index of each entry in ``values``


def column_levels(column: np.ndarray, decimals: int = 6) -> ColumnLevels:
    """Distinct values of a factor column, matched by rounding rather than float equality.

    Values are compared after rounding to ``decimals`` digits relative to the column's
    largest magnitude, so ``0.30000000000000004`` and ``0.3`` are one level.
    """
    column = np.asarray(column, dtype=np.float64).reshape(-1)
    scale = float(np.max(np.abs(column))) if column.size else 1.0
    scale = scale if scale > 0 else 1.0
    keys = np.round(column / scale, decimals)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return ColumnLevels(values=column[first], indices=inverse.reshape(-1).astype(np.int64))


def detect_grid(factors: np.ndarray) -> FactorGrid | None:
    """The full factor grid formed by the rows of ``factors``, or ``None``.

    Args:
        factors: ``[N, K]`` factor values.

    Returns:
        A :class:`FactorGrid` whose sizes are the numbers of distinct values of each column
        when every combination of values occurs exactly once; ``None`` otherwise.
    """
    factors = np.asarray(factors, dtype=np.float64)
    if factors.ndim != 2 or factors.shape[0] == 0:
        return None
    levels = [column_levels(factors[:, k]) for k in range(factors.shape[1])]
    sizes = tuple(int(level.values.size) for level in levels)
    if int(np.prod(sizes, dtype=np.int64)) != factors.shape[0]:
        return None
    indices = np.stack([level.indices for level in levels], axis=1)
    flat = ravel_indices(indices, sizes)
    rows = np.empty(factors.shape[0], dtype=np.int64)
    rows[flat] = np.arange(factors.shape[0], dtype=np.int64)
    if np.unique(flat).size != flat.size:
        return None
    in_order = bool(np.array_equal(flat, np.arange(flat.size)))
    return FactorGrid(sizes=sizes, rows=None if in_order else rows)
