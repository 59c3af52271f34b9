"""Modularity and explicitness (Ridgeway & Mozer, NeurIPS 2018) as in disentanglement_lib.

Modularity from the 20-bin MI matrix ``m [L, K]``: per code
``1 - (sum_j m_ij^2 - max_j m_ij^2) / (max_j m_ij^2 (K - 1))`` (0 for a code with no
information), averaged over codes. Explicitness: per factor, a one-vs-rest L2 logistic
regression (liblinear, C = 1: what the reference's ``LogisticRegression()`` was) on codes
standardised with the training mean and std; the macro ROC-AUC of its probabilities over
the classes, on train and on test; averaged over factors. Constant factors are left out.
The factors' regressions run in worker processes (:mod:`prodvae.metrics.parallel`), factors
with more classes first; the scores equal the sequential ones exactly.
``fast`` changes nothing: the metric takes a few seconds at the reference sizes and the
plug-in MI is biased on fewer samples (2,000 instead of 10,000 moved modularity from 0.746
to 0.705 in ``benchmarks/metrics_speed.py``).

A loop code (an angle: ``code_kinds[i]`` is "loop") enters the regressions as (cos, sin):
a linear model on the raw angle would cut the circle at ±π. Binned MI needs no change.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier

from prodvae.metrics._checks import check_split, require_varying
from prodvae.metrics.information import binned_mutual_information
from prodvae.metrics.parallel import Job, num_binary_problems, run_jobs
from prodvae.metrics.registry import MetricInputs, register_metric
from prodvae.spaces import is_circular


def modularity(mutual_information: np.ndarray) -> float:
    """Modularity of an MI matrix ``[L codes, K factors]`` (K >= 2)."""
    squared = np.square(np.asarray(mutual_information, dtype=np.float64))
    if squared.shape[1] < 2:
        raise ValueError("modularity needs at least two varying factors")
    top = squared.max(axis=1)
    rest = squared.sum(axis=1) - top
    safe = np.where(top > 0, top, 1.0)
    score = np.where(top > 0, 1.0 - rest / (safe * (squared.shape[1] - 1)), 0.0)
    return float(score.mean())


def _macro_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    aucs = []
    for c_index, c in enumerate(classes):
        positive = y == c
        if 0 < positive.sum() < y.size:
            aucs.append(roc_auc_score(positive, proba[:, c_index]))
    return float(np.mean(aucs)) if aucs else float("nan")


def explicitness_per_factor(x_train, y_train, x_test, y_test) -> tuple[float, float]:
    """Train and test macro ROC-AUC of one-vs-rest logistic regression."""
    model = OneVsRestClassifier(LogisticRegression(solver="liblinear")).fit(x_train, y_train)
    return (
        _macro_auc(y_train, model.predict_proba(x_train), model.classes_),
        _macro_auc(y_test, model.predict_proba(x_test), model.classes_),
    )


def regression_features(codes: np.ndarray, code_kinds: tuple[str, ...]) -> np.ndarray:
    """Codes ``[N, L]`` as regression inputs: each loop angle becomes (cos, sin)."""
    if code_kinds and len(code_kinds) != codes.shape[1]:
        raise ValueError(f"code_kinds must have {codes.shape[1]} entries, got {len(code_kinds)}")
    columns = []
    for i, kind in enumerate(code_kinds or ("",) * codes.shape[1]):
        angle = codes[:, i]
        columns += [np.cos(angle), np.sin(angle)] if is_circular(kind) else [codes[:, i]]
    return np.column_stack(columns)


def modularity_explicitness(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    code_kinds: tuple[str, ...] = (),
    n_jobs: int | None = -1,
) -> dict[str, float]:
    """``{"modularity", "explicitness_train", "explicitness_test"}``; ``n_jobs`` worker
    processes fit the factors' regressions (joblib's convention; 1: sequentially here)."""
    train, test = check_split(codes_train, factors_train, codes_test, factors_test)
    keep = require_varying(train.factors, "modularity_explicitness")
    mi = binned_mutual_information(train.codes, train.factors[:, keep])
    features_train = regression_features(train.codes, code_kinds)
    features_test = regression_features(test.codes, code_kinds)
    mean = features_train.mean(axis=0)
    std = features_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x_train, x_test = (features_train - mean) / std, (features_test - mean) / std
    jobs = [
        Job(
            explicitness_per_factor,
            (x_train, train.factors[:, j], x_test, test.factors[:, j]),
            cost=num_binary_problems(train.factors[:, j]),
        )
        for j in keep
    ]
    scores = np.array(run_jobs(jobs, n_jobs))
    return {
        "modularity": modularity(mi),
        "explicitness_train": float(np.mean(scores[:, 0])),
        "explicitness_test": float(np.mean(scores[:, 1])),
    }


@register_metric("modularity_explicitness", suites=("standard",), fits_in_workers=True)
def _modularity_metric(inputs: MetricInputs) -> dict[str, float]:
    return modularity_explicitness(
        inputs.codes_train,
        inputs.factors_train,
        inputs.codes_test,
        inputs.factors_test,
        code_kinds=inputs.code_kinds,
    )
