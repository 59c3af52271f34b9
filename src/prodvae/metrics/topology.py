"""Topology report: does each ground-truth factor have a latent coordinate of its own kind,
and how well does that coordinate recover it?

For ground-truth factor ``j`` the best-matching latent coordinate is the one with the most
normalised mutual information (20 bins). Its kind matches when both are points, segments or
loops (a Euclidean line counts as a segment). Recovery, by the factor's kind:

- loop: circular alignment of the latent angle with ``symmetry * 2 pi value / period``; a
  linear latent gets ``sqrt`` of Mardia's circular-linear R^2 instead. A loop whose
  symmetry depends on another factor (``symmetry_given``: dSprites' square repeats every
  quarter turn, its heart never) is read in groups of rows of one symmetry, each at its own
  harmonic and with its own offset and direction (no pair of images relates one group's
  angles to another's: a square at 0 and at a quarter turn is one image, a heart's two are
  not), the scores weighted by the groups' rows (:func:`loop_score`);
- segment: ``|Spearman|`` between factor and a linear latent; ``sqrt`` circular-linear R^2
  against a loop latent;
- points: matched accuracy: the latent coordinate is cut into as many groups as the factor
  has values (a point-set latent: its point index; otherwise equal-frequency bins), groups
  and values are paired one-to-one to maximise agreement (Hungarian), chance removed.

``topology_match`` and ``recovery`` are the means over factors, in ``[0, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import linear_sum_assignment

from prodvae.metrics._checks import as_grid_indices, require_varying
from prodvae.metrics.circular import circular_alignment, circular_linear_r2
from prodvae.metrics.groups import IntrinsicCodes
from prodvae.metrics.information import binned_mutual_information, entropies
from prodvae.metrics.registry import MetricInputs, register_metric
from prodvae.spaces import is_circular, is_discrete


@dataclass(frozen=True)
class FactorTopology:
    """One ground-truth factor's row of the report."""

    name: str
    kind: str
    latent: int
    latent_kind: str
    kind_match: bool
    recovery: float


def factor_angles(indices: np.ndarray, spec: Any, folds: np.ndarray | None = None) -> np.ndarray:
    """Angles ``symmetry * 2 pi value / period`` of a loop factor's grid ``indices [N]`` (with
    ``folds [N]``, each row's own symmetry instead: :func:`loop_folds`)."""
    values = np.asarray(spec.values, dtype=np.float64)[indices]
    return (spec.symmetry if folds is None else folds) * 2 * np.pi * values / spec.period


def loop_folds(indices: np.ndarray, spec: tuple[Any, ...], j: int) -> np.ndarray | None:
    """How many times loop factor ``j``'s images repeat in one period at each row of grid
    ``indices [N, K]``, ``int64 [N]``, when that depends on another factor (its
    ``symmetry_given``: by that factor's grid index); ``None`` when it does not (every row
    repeats ``symmetry`` times). One ``ValueError`` when the factor named is not among
    ``spec`` or lists another number of values than there are folds."""
    given = getattr(spec[j], "symmetry_given", None)
    if given is None:
        return None
    name, folds = given
    names = [s.name for s in spec]
    if name not in names:
        raise ValueError(
            f"factor {spec[j].name!r}: its symmetry is given by {name!r}, which is not a factor "
            f"here ({', '.join(names)})"
        )
    other = names.index(name)
    if len(folds) != spec[other].size:
        raise ValueError(
            f"factor {spec[j].name!r}: its symmetry_given lists {len(folds)} folds, but "
            f"{name!r} has {spec[other].size} values"
        )
    return np.asarray(folds, dtype=np.int64)[indices[:, other]]


def fold_groups(folds: np.ndarray | None) -> list[np.ndarray] | None:
    """The rows of each symmetry among the rows of ``folds`` (:func:`loop_folds`); ``None``
    when every row has one symmetry (one group of them all)."""
    if folds is None or np.unique(folds).size == 1:
        return None
    return [np.flatnonzero(folds == fold) for fold in np.unique(folds)]


def loop_score(
    score: Callable[[np.ndarray, slice | np.ndarray], float],
    indices: np.ndarray,
    spec: Any,
    folds: np.ndarray | None,
) -> float:
    """``score(theta, rows)`` of a loop factor's angles ``theta`` (:func:`factor_angles`) on
    each group of rows of one symmetry (:func:`fold_groups`), weighted by the groups' rows:
    the score itself on all rows when the symmetry does not vary."""
    theta = factor_angles(indices, spec, folds)
    groups = fold_groups(folds)
    if groups is None:
        return score(theta, slice(None))
    return float(sum(rows.size * score(theta[rows], rows) for rows in groups) / len(indices))


def matched_accuracy(groups: np.ndarray, labels: np.ndarray) -> float:
    """Chance-corrected accuracy of the best one-to-one pairing of groups with labels."""
    _, g = np.unique(groups, return_inverse=True)
    _, y = np.unique(labels, return_inverse=True)
    table = np.zeros((g.max() + 1, y.max() + 1))
    np.add.at(table, (g.reshape(-1), y.reshape(-1)), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    accuracy = table[rows, cols].sum() / len(labels)
    chance = table.sum(axis=0).max() / len(labels)
    return float(max(0.0, (accuracy - chance) / (1 - chance))) if chance < 1 else 0.0


def abs_spearman(code: np.ndarray, values: np.ndarray) -> float:
    """``|Spearman|`` of a linear code with a factor's values; 0 for a constant code (no
    correlation is defined, and nothing is carried)."""
    if np.ptp(code) == 0:
        return 0.0
    rho = stats.spearmanr(code, values).statistic
    return float(abs(rho)) if np.isfinite(rho) else 0.0


def binned_accuracy(code: np.ndarray, labels: np.ndarray) -> float:
    """:func:`matched_accuracy` of a linear code cut into as many equal-frequency groups as
    ``labels`` has values."""
    ranks = stats.rankdata(code, method="ordinal")
    return matched_accuracy(np.ceil(ranks * np.unique(labels).size / len(ranks)), labels)


def aligned(phi: np.ndarray) -> Callable[[np.ndarray, slice | np.ndarray], float]:
    """The circular alignment of ``phi``'s ``rows`` with angles ``theta``, as
    :func:`loop_score` takes it."""
    return lambda theta, rows: circular_alignment(phi[rows], theta)


def _recovery(
    latent: np.ndarray,
    latent_kind: str,
    indices: np.ndarray,
    spec: Any,
    folds: np.ndarray | None = None,
) -> float:
    if is_circular(spec.kind):
        if is_circular(latent_kind):
            return loop_score(aligned(latent), indices, spec, folds)
        return loop_score(
            lambda theta, rows: float(np.sqrt(circular_linear_r2(theta, latent[rows]))),
            indices,
            spec,
            folds,
        )
    if not is_discrete(spec.kind):
        if is_circular(latent_kind):
            return float(np.sqrt(circular_linear_r2(latent, indices.astype(np.float64))))
        return abs_spearman(latent, indices)
    if is_discrete(latent_kind):
        return matched_accuracy(latent, indices)
    return binned_accuracy(latent, indices)


def topology_report(
    codes: IntrinsicCodes, factors: np.ndarray, spec: tuple[Any, ...]
) -> list[FactorTopology]:
    """One :class:`FactorTopology` per varying ground-truth factor.

    ``codes`` are intrinsic codes ``[N, M]``; ``factors [N, K]`` grid indices into
    ``spec[j].values``.
    """
    indices = as_grid_indices(factors, spec)
    keep = require_varying(indices, "topology_report")
    nmi = binned_mutual_information(codes.values, indices[:, keep]) / entropies(indices[:, keep])
    report = []
    for column, j in enumerate(keep):
        best = int(np.argmax(nmi[:, column]))
        kind = codes.kinds[best]
        folds = loop_folds(indices, spec, j) if is_circular(spec[j].kind) else None
        recovery = _recovery(codes.values[:, best], kind, indices[:, j], spec[j], folds)
        report.append(
            FactorTopology(spec[j].name, spec[j].kind, best, kind, kind == spec[j].kind, recovery)
        )
    return report


def topology_scores(
    codes: IntrinsicCodes, factors: np.ndarray, spec: tuple[Any, ...]
) -> dict[str, float]:
    """``{"topology_match", "recovery"}`` plus ``recovery.<factor name>`` per factor."""
    report = topology_report(codes, factors, spec)
    scores = {
        "topology_match": float(np.mean([r.kind_match for r in report])),
        "recovery": float(np.mean([r.recovery for r in report])),
    }
    scores.update({f"recovery.{r.name}": r.recovery for r in report})
    return scores


@register_metric("topology", suites=("topology",))
def _topology_metric(inputs: MetricInputs) -> dict[str, float]:
    if inputs.spec is None:
        raise ValueError("the topology report needs the dataset's factor specs")
    kinds = inputs.code_kinds or ("segment",) * inputs.codes_train.shape[1]
    codes = IntrinsicCodes(inputs.codes_train, kinds, ())
    return topology_scores(codes, inputs.factors_train, inputs.spec)
