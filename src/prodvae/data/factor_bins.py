"""A dataset's factor values as the scores read them: classes, continuous ones in bins.

Scores read ground-truth factors as classes (MIG's and SAP's entropies, DCI's classifiers,
the association matrix's NMI), indices into each factor's listed values. A grid lists a few
values per factor; a file that is no grid lists every distinct value, thousands for a factor
drawn at random, which would make every row its own class. :func:`scored_factors` keeps a
factor with at most :data:`SCORE_BINS` values (and any ``points`` factor) at its values and
puts a continuous segment or loop in equal-width bins (a segment's over its range, a loop's
over its period, ``symmetry`` times as many bins so that each repeat of its images has
:data:`SCORE_BINS`; with ``symmetry_given``, as many times as its largest fold), each bin
standing at its centre, as disentanglement_lib bins codes in 20.
The topology scores lose little to the bins: a perfect loop code aligns at ``sinc(1/20)``
(0.996) with its bin centres, a perfect segment code at Spearman ``sqrt(1 - 1/20**2)``.
"""

from __future__ import annotations

import numpy as np

from prodvae.data.spec import FactorSpec

#: Bins a continuous factor is scored in (per repeat of a loop's images).
SCORE_BINS = 20


def _bins(column: np.ndarray, factor: FactorSpec) -> tuple[np.ndarray, np.ndarray]:
    """Equal-width bin indices of one continuous factor's values and the bins' centres."""
    if factor.kind == "loop":
        assert factor.period is not None  # a loop always has one
        folds = factor.symmetry_given[1] if factor.symmetry_given is not None else ()
        count = SCORE_BINS * max((factor.symmetry, *folds))
        low, width = 0.0, factor.period / count
        column = np.mod(column, factor.period)
    else:
        count = SCORE_BINS
        low, high = min(factor.values), max(factor.values)
        width = (high - low) / count
    indices = np.clip(np.floor((column - low) / width), 0, count - 1).astype(np.int64)
    return indices, low + (np.arange(count) + 0.5) * width


def factor_matrix(values: object, spec: tuple[FactorSpec, ...], name: str) -> np.ndarray:
    """``values`` as float64 ``[N, K]`` for the ``K`` factors of ``spec``; one ``ValueError``
    naming ``name`` for another shape or a NaN or infinite entry."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != len(spec):
        raise ValueError(f"{name} must have shape [N, {len(spec)}], got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return array


def scored_factors(
    values: np.ndarray, spec: tuple[FactorSpec, ...]
) -> tuple[np.ndarray, tuple[FactorSpec, ...]]:
    """Factor values ``[n, K]`` (rows of a dataset whose ``spec`` lists each factor's distinct
    values) as the metrics score them: indices ``int64 [n, K]`` and the spec they index (see
    the module docstring: exact for at most :data:`SCORE_BINS` values and for points, else
    equal-width bins at their centres)."""
    values = factor_matrix(values, spec, "factor values")
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
