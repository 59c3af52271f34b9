"""What the metrics score: images drawn from a dataset, their codes and their factors.

On a grid dataset the draws are grid cells, each factor uniform over its values, scored at
their grid indices. Any other labelled dataset -- a user's file of photographs at whatever
angles they were taken, or a grid with rows missing -- has no cells to draw: its rows are drawn
uniformly (with replacement), and each row's factor values are scored as classes by
:func:`~prodvae.data.factor_bins.scored_factors` (a continuous segment or loop in 20
equal-width bins, the rest at their values).

Scores that hold one factor and draw the others (the FactorVAE and BetaVAE scores) hold it at
those same values or bins on such a dataset (:mod:`prodvae.metrics.interventional`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

from prodvae.data.factor_bins import scored_factors
from prodvae.data.spec import FactorSpec
from prodvae.metrics.interventional import Encode, encode_factors, encode_rows


class Draws(NamedTuple):
    """Draws of a dataset: ambient codes ``float64 [n, D]``, the factors as indices ``int64
    [n, K]`` into ``spec[k].values``, and that spec (the dataset's on a grid; with bin centres
    for the continuous factors of any other dataset)."""

    ambient: np.ndarray
    factors: np.ndarray
    spec: tuple[FactorSpec, ...]


def draw(dataset: Any, encode: Encode, n: int, generator: torch.Generator) -> Draws:
    """``n`` draws of ``dataset`` (grid cells on a grid, else rows: the module docstring),
    encoded with ``encode``; the same ``generator`` state gives the same draws."""
    if n < 1:
        raise ValueError(f"draws: n must be >= 1, got {n}")
    if getattr(dataset, "is_grid", False):
        indices = dataset.sample_factors(n, generator)
        return Draws(encode_factors(dataset, encode, indices), indices.numpy(), dataset.spec)
    if len(dataset) == 0:
        raise ValueError("draws: the dataset holds no rows")
    rows = torch.randint(len(dataset), (n,), generator=generator).numpy()
    factors, spec = scored_factors(dataset.factors_at(rows).numpy(), tuple(dataset.spec))
    return Draws(encode_rows(dataset, encode, rows), factors, spec)


def bins_of(spec: tuple[FactorSpec, ...], scored: tuple[FactorSpec, ...]) -> dict[str, int]:
    """The factors :func:`scored_factors` binned, each with its number of bins."""
    return {new.name: len(new.values) for old, new in zip(spec, scored) if new is not old}
