"""DCI: disentanglement, completeness, informativeness (Eastwood & Williams, ICLR 2018),
as in disentanglement_lib.

One classifier per factor on the raw codes gives ``R[i, j]`` = importance of code ``i`` for
factor ``j`` and the factor's train/test accuracy (informativeness). With ``P_i = R_i / sum``
and entropies in base ``K`` (codes) or ``L`` (factors), after adding 1e-11 like the reference:
``D = sum_i rho_i (1 - H_K(P_i.))``, ``rho_i`` the share of importance of code ``i``, and
``C = sum_j share_j (1 - H_L(P_.j))``.

Each factor's model is fitted once, in worker processes (:mod:`prodvae.metrics.parallel`),
factors with more classes first: a multi-class boosting stage builds one tree per class, so
a factor's cost grows with its number of classes. Every factor has the same
``random_state``, wherever it runs, so the scores equal the sequential ones exactly.
``fast`` uses ``regressor="hist"`` (see :mod:`prodvae.metrics.importance`).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from prodvae.metrics._checks import check_split, require_varying
from prodvae.metrics.importance import REGRESSORS, FittedFactor
from prodvae.metrics.parallel import Job, num_binary_problems, run_jobs
from prodvae.metrics.registry import MetricInputs, register_metric

#: Regressor used by the fast preset.
FAST_REGRESSOR = "hist"


def _weighted_one_minus_entropy(matrix: np.ndarray, axis: int) -> float:
    """``sum_g share_g (1 - H_base(P_g))`` over groups along ``axis`` (0: columns)."""
    base = matrix.shape[axis]
    if base < 2:
        raise ValueError("dci needs at least two codes and two varying factors")
    per_group = 1.0 - stats.entropy(matrix + 1e-11, base=base, axis=axis)
    weights = matrix if matrix.sum() > 0 else np.ones_like(matrix)
    share = weights.sum(axis=axis) / weights.sum()
    return float(np.sum(per_group * share))


def disentanglement(importance: np.ndarray) -> float:
    """D from an importance matrix ``[L codes, K factors]``."""
    return _weighted_one_minus_entropy(np.asarray(importance, dtype=np.float64), axis=1)


def completeness(importance: np.ndarray) -> float:
    """C from an importance matrix ``[L codes, K factors]``."""
    return _weighted_one_minus_entropy(np.asarray(importance, dtype=np.float64), axis=0)


def importance_matrix(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    regressor: str = "gbt",
    random_state: int = 0,
    n_jobs: int | None = -1,
) -> list[FittedFactor]:
    """Fit one classifier per varying factor; their importances and accuracies.

    ``n_jobs`` worker processes fit the factors (joblib's convention; 1: sequentially here).
    """
    fit = REGRESSORS[regressor]  # an unknown name lists the registered ones
    train, test = check_split(codes_train, factors_train, codes_test, factors_test)
    keep = require_varying(train.factors, "dci")
    jobs = [
        Job(
            fit,
            (train.codes, train.factors[:, j], test.codes, test.factors[:, j], random_state),
            cost=num_binary_problems(train.factors[:, j]),
        )
        for j in keep
    ]
    return run_jobs(jobs, n_jobs)


def dci(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    regressor: str = "gbt",
    random_state: int = 0,
    n_jobs: int | None = -1,
) -> dict[str, float]:
    """DCI scores: ``{"disentanglement", "completeness", "informativeness_train",
    "informativeness_test"}`` (informativeness as mean classification accuracy)."""
    fitted = importance_matrix(
        codes_train, factors_train, codes_test, factors_test, regressor, random_state, n_jobs
    )
    matrix = np.stack([f.importance for f in fitted], axis=1)
    return {
        "disentanglement": disentanglement(matrix),
        "completeness": completeness(matrix),
        "informativeness_train": float(np.mean([f.accuracy_train for f in fitted])),
        "informativeness_test": float(np.mean([f.accuracy_test for f in fitted])),
    }


@register_metric("dci", suites=("standard",), fits_in_workers=True)
def _dci_metric(inputs: MetricInputs) -> dict[str, float]:
    regressor = FAST_REGRESSOR if inputs.fast else "gbt"
    return dci(
        inputs.codes_train,
        inputs.factors_train,
        inputs.codes_test,
        inputs.factors_test,
        regressor=regressor,
        random_state=inputs.seed,
    )
