"""Factor recovery: is each ground-truth factor carried by a latent factor of its own, of its
kind -- and each loop once round?

Stricter than the topology report (:mod:`prodvae.metrics.topology`), which lets several
factors pick the same latent coordinate: here factors and latent coordinates are paired one
to one (Hungarian assignment, maximising the summed score), and a loop must also *wind once*.

Each varying ground-truth factor ``j`` is scored against each intrinsic code column of a
compatible kind:

- loop factor, loop column (an angle): circular alignment with the factor's angle at its
  symmetry harmonic, ``symmetry * 2 pi value / period`` (a symmetry that depends on another
  factor, ``symmetry_given``: in groups of rows of one symmetry, each with its own offset
  and direction, :func:`~prodvae.metrics.topology.loop_score`);
- segment factor, segment column: ``|Spearman|``;
- points factor, points or segment column: chance-corrected matched accuracy
  (:func:`~prodvae.metrics.topology.matched_accuracy`; a segment column is cut into
  equal-frequency groups);
- any other pairing scores 0: a factor carried by a coordinate of the wrong kind is not
  recovered.

A model without any loop column (a Euclidean latent) may still carry a loop in two of its
coordinates: a loop factor is then read from its best pair of columns, as the angle of the
two standardised columns. Those pairs are not held to be distinct from the other factors'
columns -- a reading that favours the Euclidean model.

The **winding number** of a loop factor's matched angle ``phi`` is the number of turns
``phi`` makes while the factor's angle goes once round: the circular mean of ``phi`` at
each value of the factor, summed wrapped increments from value to value. A map that folds
the factor's circle onto an arc winds 0 times (with ``symmetry_given``, each group of rows
of one symmetry winds on its own; the factor's is the largest group's, or the first that
does not wind once). A factor is *recovered* when its score is at
least ``threshold`` (0.9) and, for a loop of at least 3 values, its winding number is
``+-1`` (with 2 values there is no path round to follow: no winding number).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from prodvae.metrics._checks import as_grid_indices, require_varying
from prodvae.metrics.groups import IntrinsicCodes, intrinsic_codes
from prodvae.metrics.registry import MetricInputs, register_metric
from prodvae.metrics.topology import (
    abs_spearman,
    aligned,
    binned_accuracy,
    factor_angles,
    fold_groups,
    loop_folds,
    loop_score,
    matched_accuracy,
)
from prodvae.spaces import is_circular, is_discrete

#: A factor is recovered at this score or above (and a loop winds once).
THRESHOLD = 0.9


@dataclass(frozen=True)
class SymmetryGroup:
    """The rows of a loop whose images repeat ``folds`` times a period, where that depends
    on another factor (``symmetry_given``): how many rows, their score at that harmonic and
    their winding number (``None`` for fewer than 3 angles)."""

    folds: int
    rows: int
    score: float
    winding: int | None


@dataclass(frozen=True)
class FactorRecovery:
    """One ground-truth factor: the code columns paired with it (one, or two for a loop read
    from a Euclidean latent; empty when none was left), its score, for a loop the winding
    number of its angle, and for a loop whose symmetry depends on another factor, each
    symmetry's own reading (largest first; empty otherwise)."""

    name: str
    kind: str
    columns: tuple[int, ...]
    score: float
    winding: int | None
    recovered: bool
    groups: tuple[SymmetryGroup, ...] = ()


def _circle_keys(theta: np.ndarray) -> np.ndarray:
    """Angles in ``[0, 2 pi)`` rounded to 1e-9, so equal angles compare equal."""
    return np.round(np.mod(theta, 2 * np.pi), 9) % np.round(2 * np.pi, 9)


def _distinct_angles(theta: np.ndarray) -> int:
    return np.unique(_circle_keys(theta)).size


def winding_number(phi: np.ndarray, theta: np.ndarray, bins: int | None = None) -> int:
    """Turns of ``phi`` while ``theta`` goes once round ``[0, 2 pi)``.

    ``theta`` takes a few values (a grid factor's angles), or is rounded to the nearest of
    ``bins`` equally spaced ones (continuous angles); ``phi`` is averaged on the circle at
    each value, and the wrapped increments from each value to the next, in order round the
    circle and back to the first, are summed.
    """
    phi, theta = np.asarray(phi, np.float64), np.asarray(theta, np.float64)
    if phi.shape != theta.shape:
        raise ValueError(f"phi and theta differ in shape: {phi.shape} and {theta.shape}")
    if bins is not None:
        theta = np.round(theta / (2 * np.pi) * bins) * (2 * np.pi / bins)
    values, inverse = np.unique(_circle_keys(theta), return_inverse=True)
    if values.size < 3:
        raise ValueError(f"a winding number needs >= 3 distinct angles, got {values.size}")
    means = np.zeros(values.size, dtype=np.complex128)
    np.add.at(means, inverse.reshape(-1), np.exp(1j * phi))
    steps = np.angle(np.roll(means, -1) / means)  # values are sorted: each to the next
    return int(round(steps.sum() / (2 * np.pi)))


def _score(
    factor: np.ndarray, spec: Any, code: np.ndarray, kind: str, folds: np.ndarray | None = None
) -> float:
    """Recovery of grid indices ``factor`` from one code column of ``kind`` (0: wrong kind);
    a loop's rows repeat ``folds`` times a period (:func:`loop_folds`; ``None``: its
    symmetry)."""
    if is_circular(spec.kind):
        if not is_circular(kind):
            return 0.0
        return loop_score(aligned(code), factor, spec, folds)
    if is_discrete(spec.kind):
        if is_discrete(kind):
            return matched_accuracy(code, factor)
        return 0.0 if is_circular(kind) else binned_accuracy(code, factor)
    if is_circular(kind) or is_discrete(kind):
        return 0.0
    return abs_spearman(code, factor)


def pair_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The angle of two code columns, each centred and scaled to unit variance."""
    a = (a - a.mean()) / max(a.std(), 1e-12)
    b = (b - b.mean()) / max(b.std(), 1e-12)
    return np.arctan2(b, a)


def _best_pair(
    codes: IntrinsicCodes, factor: np.ndarray, spec: Any, folds: np.ndarray | None = None
) -> tuple[tuple, float]:
    """The two Euclidean columns whose angle best follows loop factor ``spec``."""
    linear = [m for m, kind in enumerate(codes.kinds) if kind == "segment"]
    best: tuple[tuple[int, ...], float] = ((), 0.0)
    for a, b in itertools.combinations(linear, 2):
        phi = pair_angle(codes.values[:, a], codes.values[:, b])
        score = loop_score(aligned(phi), factor, spec, folds)
        if score > best[1]:
            best = ((a, b), score)
    return best


def _angle_of(codes: IntrinsicCodes, columns: tuple[int, ...]) -> np.ndarray:
    if len(columns) == 2:
        return pair_angle(codes.values[:, columns[0]], codes.values[:, columns[1]])
    return codes.values[:, columns[0]]


def factor_recovery(
    codes: IntrinsicCodes,
    factors: np.ndarray,
    spec: tuple[Any, ...],
    threshold: float = THRESHOLD,
) -> list[FactorRecovery]:
    """One :class:`FactorRecovery` per varying ground-truth factor, in ``spec`` order.

    ``codes``: intrinsic codes ``[N, M]`` (:func:`~prodvae.metrics.groups.intrinsic_codes`);
    ``factors [N, K]``: grid indices into ``spec[j].values``.
    """
    indices = as_grid_indices(factors, spec)
    keep = require_varying(indices, "factor_recovery")
    folds = {j: loop_folds(indices, spec, j) for j in keep if is_circular(spec[j].kind)}
    scores = np.array(
        [
            [
                _score(indices[:, j], spec[j], codes.values[:, m], k, folds.get(j))
                for m, k in enumerate(codes.kinds)
            ]
            for j in keep
        ]
    )
    rows, cols = linear_sum_assignment(scores, maximize=True)
    paired = {keep[r]: ((int(c),), float(scores[r, c])) for r, c in zip(rows, cols)}
    euclidean = not any(is_circular(kind) for kind in codes.kinds)
    report = []
    for j in keep:
        columns, score = paired.get(j, ((), 0.0))
        winding: int | None = None
        groups: tuple[SymmetryGroup, ...] = ()
        if is_circular(spec[j].kind):
            if euclidean:
                columns, score = _best_pair(codes, indices[:, j], spec[j], folds[j])
            angular = len(columns) == 2 or (columns and is_circular(codes.kinds[columns[0]]))
            if angular:
                phi = _angle_of(codes, columns)
                groups = _symmetry_groups(phi, indices[:, j], spec[j], folds[j])
                winding = _winding(phi, indices[:, j], spec[j], folds[j], groups)
        ok = score >= threshold and (winding is None or abs(winding) == 1)
        report.append(
            FactorRecovery(spec[j].name, spec[j].kind, columns, score, winding, ok, groups)
        )
    return report


def _symmetry_groups(
    phi: np.ndarray, factor: np.ndarray, spec: Any, folds: np.ndarray | None
) -> tuple[SymmetryGroup, ...]:
    """Each symmetry's reading of ``phi`` round loop factor ``spec`` at its grid ``factor``
    (:func:`fold_groups`), largest first; empty where every row has one symmetry."""
    groups = fold_groups(folds)
    if groups is None:
        return ()
    assert folds is not None
    theta = factor_angles(factor, spec, folds)
    readings = []
    for rows in sorted(groups, key=lambda r: -r.size):
        winding = (
            winding_number(phi[rows], theta[rows]) if _distinct_angles(theta[rows]) >= 3 else None
        )
        score = aligned(phi)(theta[rows], rows)
        readings.append(SymmetryGroup(int(folds[rows[0]]), int(rows.size), score, winding))
    return tuple(readings)


def _winding(
    phi: np.ndarray,
    factor: np.ndarray,
    spec: Any,
    folds: np.ndarray | None,
    groups: tuple[SymmetryGroup, ...],
) -> int | None:
    """The winding number of ``phi`` round loop factor ``spec`` at its grid ``factor``; with
    ``groups`` (:func:`_symmetry_groups`), the largest group's, or the first that does not
    wind once; ``None`` when the angles (a group's) take fewer than 3 values (no path round
    to follow)."""
    if groups:
        windings = [group.winding for group in groups]
        if any(w is None for w in windings):
            return None
        return next((w for w in windings if w is not None and abs(w) != 1), windings[0])
    theta = factor_angles(factor, spec, folds)
    return winding_number(phi, theta) if _distinct_angles(theta) >= 3 else None


def recovery_scores(report: list[FactorRecovery]) -> dict[str, float]:
    """``factor_recovery`` (the fraction of factors recovered), ``score.<name>`` (each
    factor's score), ``winding.<name>`` (each loop's winding number) and ``recovered.<name>``
    (1 or 0)."""
    scores = {"factor_recovery": float(np.mean([r.recovered for r in report]))}
    scores.update({f"score.{r.name}": r.score for r in report})
    scores.update({f"recovered.{r.name}": float(r.recovered) for r in report})
    scores.update({f"winding.{r.name}": float(r.winding) for r in report if r.winding is not None})
    return scores


@register_metric("factor_recovery", suites=("topology",))
def _factor_recovery_metric(inputs: MetricInputs) -> dict[str, float]:
    if inputs.spec is None:
        raise ValueError("factor recovery needs the dataset's factor specs")
    codes = intrinsic_codes(inputs.ambient_train, inputs.groups)
    return recovery_scores(factor_recovery(codes, inputs.factors_train, inputs.spec))
