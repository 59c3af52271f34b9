"""Weak-supervision pairs (Locatello et al., ICML 2020) from any labelled dataset.

Each pair shares all factors but ``k``; each of the ``k`` changed factors really takes a
different value in the second item. :func:`sample_pairs` gives the dataset rows of the two
items: on a full grid from :func:`sample_pair_factors` (grid multi-indices), on any other
labelled dataset from a row index (:mod:`prodvae.data.row_pairs`: exact values for discrete
factors, nearest values within a documented tolerance for continuous ones).
"""

from __future__ import annotations

import threading
import weakref
from typing import NamedTuple

import numpy as np
import torch

from prodvae.data.base import GroundTruthDataset
from prodvae.data.row_pairs import PairRows, RowPairs


class FactorPair(NamedTuple):
    """Grid multi-indices of the two items of each pair."""

    indices1: torch.Tensor  # long [n, K]
    indices2: torch.Tensor  # long [n, K]


def _changed_mask(
    n: int, changeable: torch.Tensor, num_changed: int | None, generator: torch.Generator | None
) -> torch.Tensor:
    """``bool [n, K]``: which factors change, ``num_changed`` (or random 1..m-1) per row."""
    num_factors = changeable.numel()
    m = int(changeable.sum())
    if num_changed is None:
        if m < 2:
            raise ValueError(f"num_changed=None needs >= 2 factors with > 1 value, got {m}")
        counts = torch.randint(1, m, (n,), generator=generator)
    else:
        if not 1 <= num_changed <= m:
            raise ValueError(f"num_changed must be in 1..{m}, got {num_changed}")
        counts = torch.full((n,), num_changed, dtype=torch.long)
    # a random ranking of the changeable factors; the first `count` of them change
    keys = torch.rand(n, num_factors, generator=generator)
    keys[:, ~changeable] = 2.0
    ranks = keys.argsort(dim=1).argsort(dim=1)
    return ranks < counts[:, None]


def sample_pair_factors(
    dataset: GroundTruthDataset,
    n: int,
    num_changed: int | None = 1,
    generator: torch.Generator | None = None,
) -> FactorPair:
    """Pairs of grid multi-indices that differ in exactly ``k`` factors.

    Args:
        dataset: a grid dataset.
        n: number of pairs.
        num_changed: ``k``, the number of factors that change; ``None`` draws ``k`` uniformly
            in ``1..K-1`` for each pair (``K`` counting factors with more than one value).
        generator: torch random generator, for reproducible pairs.

    Returns:
        :class:`FactorPair` with ``indices1`` and ``indices2``, long ``[n, K]``.
    """
    sizes = torch.tensor(dataset.factor_sizes, dtype=torch.long)
    first = dataset.sample_factors(n, generator=generator)
    mask = _changed_mask(n, sizes > 1, num_changed, generator)
    # a non-zero shift modulo the size guarantees a different value
    shift = (torch.rand(n, sizes.numel(), generator=generator) * (sizes - 1).clamp(min=1)).long()
    second = torch.where(mask, (first + 1 + shift) % sizes, first)
    return FactorPair(indices1=first, indices2=second)


_INDEXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def row_pairs(dataset: GroundTruthDataset) -> RowPairs:
    """The pair index of ``dataset``'s rows, built (and checked) once per dataset object.

    Raises:
        ValueError: naming every factor that no pair can change alone.
    """
    with _INDEXES_LOCK:
        index = _INDEXES.get(dataset)
        if index is None:
            factors = dataset.factors_at(np.arange(len(dataset))).numpy()
            index = RowPairs.build(factors, dataset.spec)
            index.check()
            _INDEXES[dataset] = index
    return index


def check_pairs(dataset: GroundTruthDataset, num_changed: int | None) -> None:
    """Raise a ``ValueError`` now if ``dataset`` cannot give pairs changing ``num_changed``
    factors (before training, rather than at its first batch). On a dataset that is not a
    grid, builds its row index and tries every set of factors that a pair may change
    (:meth:`~prodvae.data.row_pairs.RowPairs.check_changes`)."""
    if dataset.is_grid:
        _changed_mask(0, torch.tensor(dataset.factor_sizes) > 1, num_changed, None)
        return
    index = row_pairs(dataset)
    _changed_mask(0, torch.tensor(index.changeable), num_changed, None)
    index.check_changes(num_changed)


def sample_pairs(
    dataset: GroundTruthDataset,
    n: int,
    num_changed: int | None = 1,
    generator: torch.Generator | None = None,
) -> PairRows:
    """Dataset rows of ``n`` pairs that share all factors but ``num_changed``.

    A grid dataset draws grid multi-indices (:func:`sample_pair_factors`, the same draws);
    any other labelled dataset draws rows from its pair index (:func:`row_pairs`): the first
    item a random row that can make the pair's first change, the second a row at the same
    level on every unchanged factor and another level on each changed one
    (:mod:`prodvae.data.matching`: exact for discrete factors and factors with few values,
    equal-count bins for continuous ones, on the circle for loops).

    Args:
        dataset: any labelled dataset.
        n: number of pairs.
        num_changed: the number of factors that change; ``None`` draws it uniformly in
            ``1..m-1`` for each pair (``m`` counting factors with more than one value).
        generator: torch random generator; the same state gives the same pairs.

    Returns:
        :class:`PairRows` with ``rows1`` and ``rows2``, long ``[n]``, and ``changed``, bool
        ``[n, K]``: the factors each pair changes (the data's own account, which the
        ``changed: known`` option of weak supervision uses).
    """
    if dataset.is_grid:
        pair = sample_pair_factors(dataset, n, num_changed, generator)
        rows = (dataset.rows_from_factors(i) for i in (pair.indices1, pair.indices2))
        return PairRows(*(torch.from_numpy(r) for r in rows), pair.indices1 != pair.indices2)
    index = row_pairs(dataset)
    changed = _changed_mask(n, torch.tensor(index.changeable), num_changed, generator)
    return index.sample(changed, generator)
