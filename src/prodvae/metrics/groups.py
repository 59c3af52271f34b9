"""Group awareness: ambient codes to one intrinsic coordinate per latent factor.

A product-space model stores a loop as two ambient numbers; every metric should see it as
one code, its angle. :func:`latent_groups` reads the groups from a
:class:`~prodvae.spaces.ProductSpace` (``space.factors``, ``space.slices``,
``factor.coordinate``); plain codes are one 1-D Euclidean group per column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from prodvae.metrics._checks import as_codes

#: The ground-truth kind each latent topology is compared with (a line counts as a segment).
LATENT_KIND = {
    "points": "points",
    "segment": "segment",
    "loop": "loop",
    "euclidean": "segment",
}


@dataclass(frozen=True)
class LatentGroup:
    """One latent factor: its topology and its ambient columns; ``factor`` (a spaces
    ``Factor``) when known, for its intrinsic coordinate and projection."""

    topology: str
    columns: slice
    factor: Any = None


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
        return tuple(LatentGroup("euclidean", slice(i, i + 1)) for i in range(space_or_dim))
    factors = getattr(space_or_dim, "factors", None)
    slices = getattr(space_or_dim, "slices", None)
    if factors is None or slices is None:
        raise ValueError(f"space must be a ProductSpace or an int, got {type(space_or_dim)}")
    return tuple(LatentGroup(f.topology, s, f) for f, s in zip(factors, slices))


def _check_groups(groups: tuple[LatentGroup, ...], dim: int) -> None:
    covered = sorted(c for g in groups for c in range(dim)[g.columns])
    if covered != list(range(dim)):
        raise ValueError(f"latent groups must cover the {dim} code columns exactly once")


def _group_coordinates(block: np.ndarray, group: LatentGroup) -> tuple[np.ndarray, list[str]]:
    """Columns ``[N, m]`` and their kinds for one group's ambient block ``[N, d]``."""
    topology, dim = group.topology, block.shape[1]
    if topology == "loop" or (topology == "sphere" and dim == 2):
        return np.arctan2(block[:, 1], block[:, 0])[:, None], ["loop"]
    if topology == "sphere":
        direction = block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
        kind = "points" if dim == 1 else "segment"
        return direction, [kind] * dim
    if topology in ("points", "segment") and group.factor is not None:
        with torch.no_grad():
            coordinate = group.factor.coordinate(torch.from_numpy(block))
        return coordinate.double().numpy().reshape(len(block), -1), [topology]
    if topology not in LATENT_KIND:
        raise ValueError(f"unknown latent topology {topology!r}")
    return block, [LATENT_KIND[topology]] * dim


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
