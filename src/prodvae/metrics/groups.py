"""Group awareness: ambient codes to intrinsic coordinates, as each latent factor says.

A product-space model stores a loop as two ambient numbers; every metric should see it as
one code, its angle. :func:`latent_groups` reads the groups from a
:class:`~prodvae.spaces.ProductSpace` (``space.factors``, ``space.slices``); plain codes are
one 1-D Euclidean group per column. Each factor's :class:`~prodvae.spaces.Reading` says how
its block becomes code columns and what kind each column is; the arithmetic is numpy's here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from prodvae.metrics._checks import as_codes
from prodvae.spaces import Euclidean, Factor, Kind
from prodvae.spaces.reading import Columns


@dataclass(frozen=True)
class LatentGroup:
    """One latent factor: its ambient columns and the spaces ``Factor`` that reads them."""

    columns: slice
    factor: Factor

    @property
    def topology(self) -> str:
        return self.factor.topology


@dataclass(frozen=True)
class IntrinsicCodes:
    """Intrinsic coordinates ``values [N, M]``; ``kinds[m]`` is "points", "segment" or
    "loop" (loop columns are angles in radians); ``group[m]`` the latent factor index."""

    values: np.ndarray
    kinds: tuple[str, ...]
    group: tuple[int, ...]


def latent_groups(space_or_dim: Any) -> tuple[LatentGroup, ...]:
    """Groups of a ProductSpace, or ``int L`` plain 1-D codes."""
    if isinstance(space_or_dim, (int, np.integer)):
        if space_or_dim < 1:
            raise ValueError(f"number of codes must be >= 1, got {space_or_dim}")
        return tuple(LatentGroup(slice(i, i + 1), Euclidean(1)) for i in range(space_or_dim))
    factors = getattr(space_or_dim, "factors", None)
    slices = getattr(space_or_dim, "slices", None)
    if factors is None or slices is None:
        raise ValueError(f"space must be a ProductSpace or an int, got {type(space_or_dim)}")
    return tuple(LatentGroup(s, f) for f, s in zip(factors, slices))


def _check_groups(groups: tuple[LatentGroup, ...], dim: int) -> None:
    covered = sorted(c for g in groups for c in range(dim)[g.columns])
    if covered != list(range(dim)):
        raise ValueError(f"latent groups must cover the {dim} code columns exactly once")


def angle(block: np.ndarray) -> np.ndarray:
    """The angle atan2(z₂, z₁) of the first two columns of ``block [N, d]``, ``[N]``."""
    return np.arctan2(block[:, 1], block[:, 0])


def _angle(block: np.ndarray, factor: Factor) -> np.ndarray:
    return angle(block)[:, None]


def _direction(block: np.ndarray, factor: Factor) -> np.ndarray:
    return block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)


def _coordinate(block: np.ndarray, factor: Factor) -> np.ndarray:
    with torch.no_grad():
        coordinate = factor.coordinate(torch.from_numpy(block))
    return coordinate.double().numpy().reshape(len(block), -1)


#: How each :data:`~prodvae.spaces.reading.Columns` turns an ambient block into code columns.
READERS: dict[Columns, Callable[[np.ndarray, Factor], np.ndarray]] = {
    "angle": _angle,
    "direction": _direction,
    "coordinate": _coordinate,
}


def _group_coordinates(block: np.ndarray, group: LatentGroup) -> tuple[np.ndarray, list[Kind]]:
    """Columns ``[N, m]`` and their kinds for one group's ambient block ``[N, d]``."""
    reading = group.factor.reading
    values = READERS[reading.columns](block, group.factor)
    if values.shape[1] != len(reading.kinds):
        raise ValueError(
            f"{group.factor.name}: its reading names {len(reading.kinds)} code columns, "
            f"its {reading.columns!r} gives {values.shape[1]}"
        )
    return values, list(reading.kinds)


def intrinsic_codes(codes: np.ndarray, groups: tuple[LatentGroup, ...]) -> IntrinsicCodes:
    """Intrinsic coordinates of ambient ``codes [N, D]`` under ``groups``."""
    ambient = as_codes(codes)
    _check_groups(groups, ambient.shape[1])
    columns, kinds, owner = [], [], []
    for index, group in enumerate(groups):
        values, group_kinds = _group_coordinates(ambient[:, group.columns], group)
        columns.append(values)
        kinds += group_kinds
        owner += [index] * len(group_kinds)
    return IntrinsicCodes(np.concatenate(columns, axis=1), tuple(kinds), tuple(owner))
