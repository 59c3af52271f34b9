"""Weak-supervision pairs of grid factors (Locatello et al., ICML 2020).

Each pair shares all factors but ``k``; each of the ``k`` changed factors really takes a
different value in the second item.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from prodvae.data.base import GroundTruthDataset


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
