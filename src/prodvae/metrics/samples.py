"""What the metrics score: images drawn from a dataset, their codes and their factors.

On a grid dataset the draws are grid cells, each factor uniform over its values, scored at
their grid indices. Any other labelled dataset -- a user's file of photographs at whatever
angles they were taken, or a grid with rows missing -- has no cells to draw: its rows are drawn
uniformly (with replacement), and each row's factor values are scored through
:func:`scored_factors`. A factor with at most :data:`SCORE_BINS` distinct values (and any
``points`` factor) is scored at its values. A continuous segment or loop (more) is scored at
the equal-width bin of its value that it falls in (a segment's over its range, a loop's over
its period, ``symmetry`` times as many bins so that each repeat of its images has
:data:`SCORE_BINS`), each bin standing at its centre: the standard scores read factors as
classes (MIG's and SAP's entropies, DCI's classifiers), which thousands of distinct values
would make meaningless, and binning follows disentanglement_lib's 20 bins for codes. The
topology scores lose little to the bins: a perfect loop code aligns at ``sinc(1/20)``
(0.996) with its bin centres, a perfect segment code at Spearman ``sqrt(1 - 1/20**2)``.

Scores that hold one factor and draw the others (``needs_dataset``: the FactorVAE and BetaVAE
scores) need a grid; :func:`~prodvae.metrics.evaluate.evaluate` leaves them out elsewhere and
says so in its results (``left_out``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

from prodvae.data.spec import FactorSpec
from prodvae.metrics.interventional import ENCODE_BATCH, Encode, encode_factors, encoded

#: Bins a continuous factor is scored in (per repeat of a loop's images).
SCORE_BINS = 20


class Draws(NamedTuple):
    """Draws of a dataset: ambient codes ``float64 [n, D]``, the factors as indices ``int64
    [n, K]`` into ``spec[k].values``, and that spec (the dataset's on a grid; with bin centres
    for the continuous factors of any other dataset)."""

    ambient: np.ndarray
    factors: np.ndarray
    spec: tuple[FactorSpec, ...]


def _bins(column: np.ndarray, factor: FactorSpec) -> tuple[np.ndarray, np.ndarray]:
    """Equal-width bin indices of one continuous factor's values and the bins' centres."""
    if factor.kind == "loop":
        assert factor.period is not None  # a loop always has one
        count = SCORE_BINS * factor.symmetry
        low, width = 0.0, factor.period / count
        column = np.mod(column, factor.period)
    else:
        count = SCORE_BINS
        low, high = min(factor.values), max(factor.values)
        width = (high - low) / count
    indices = np.clip(np.floor((column - low) / width), 0, count - 1).astype(np.int64)
    return indices, low + (np.arange(count) + 0.5) * width


def scored_factors(
    values: np.ndarray, spec: tuple[FactorSpec, ...]
) -> tuple[np.ndarray, tuple[FactorSpec, ...]]:
    """Factor values ``[n, K]`` (rows of a dataset whose ``spec`` lists each factor's distinct
    values) as the metrics score them: indices ``int64 [n, K]`` and the spec they index (see
    the module docstring: exact for at most :data:`SCORE_BINS` values and for points, else
    equal-width bins at their centres)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(spec):
        raise ValueError(f"factor values must be [n, {len(spec)}], got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("factor values hold NaN or infinite entries")
    indices = np.empty(values.shape, dtype=np.int64)
    scored = []
    for k, factor in enumerate(spec):
        if not factor.values:
            raise ValueError(f"factor {factor.name!r} lists no values to score against")
        if factor.kind == "points" or len(factor.values) <= SCORE_BINS:
            indices[:, k] = factor.index_of(values[:, k])
            scored.append(factor)
            continue
        indices[:, k], centres = _bins(values[:, k], factor)
        scored.append(
            FactorSpec(
                factor.name,
                factor.kind,
                values=tuple(centres),
                period=factor.period,
                symmetry=factor.symmetry,
                symmetry_given=factor.symmetry_given,
            )
        )
    return indices, tuple(scored)


def encode_rows(dataset: Any, encode: Encode, rows: np.ndarray) -> np.ndarray:
    """Ambient codes ``float64 [n, D]`` of the images at dataset ``rows [n]``."""
    chunks = [
        encoded(encode, dataset.images_at(rows[start : start + ENCODE_BATCH]))
        for start in range(0, len(rows), ENCODE_BATCH)
    ]
    return np.concatenate(chunks, axis=0)


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
