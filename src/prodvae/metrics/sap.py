"""Separated attribute predictability (Kumar et al., ICLR 2018) as in disentanglement_lib.

For discrete factors ``S_ij`` is the plain test accuracy of a linear SVM
(``LinearSVC(C=0.01, class_weight="balanced")``, other arguments scikit-learn's defaults)
predicting factor ``j`` from code ``i`` alone; ``SAP = mean_j (top1_j - top2_j)``. The
``L x K`` fits are independent and run in parallel threads (liblinear releases the GIL).
Constant factors are left out. ``fast`` changes nothing: the metric takes about a second at
the reference sizes, and subsampling is not faithful (C = 0.01 regularises relatively more on
fewer samples: 2,000 instead of 10,000 training samples moved SAP from 0.228 to 0.156 in
``benchmarks/metrics_speed.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from prodvae.metrics._checks import check_split, require_varying
from prodvae.metrics.registry import MetricInputs, register_metric


def _accuracy(x_train, y_train, x_test, y_test) -> float:
    with warnings.catch_warnings():
        # The reference runs liblinear with its default iteration cap; keep its answer.
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm = LinearSVC(C=0.01, class_weight="balanced").fit(x_train[:, None], y_train)
    return float(np.mean(svm.predict(x_test[:, None]) == y_test))


def sap_matrix(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    n_jobs: int | None = -1,
) -> np.ndarray:
    """Score matrix ``[L, K']`` of single-code SVM test accuracies over varying factors."""
    train, test = check_split(codes_train, factors_train, codes_test, factors_test)
    keep = require_varying(train.factors, "sap")
    pairs = [(i, j) for i in range(train.codes.shape[1]) for j in keep]
    scores = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_accuracy)(
            train.codes[:, i], train.factors[:, j], test.codes[:, i], test.factors[:, j]
        )
        for i, j in pairs
    )
    return np.asarray(scores).reshape(train.codes.shape[1], len(keep))


def sap(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    n_jobs: int | None = -1,
) -> dict[str, float]:
    """SAP score ``{"sap"}`` from train/test codes ``[N, L]`` and factors ``[N, K]``."""
    matrix = np.sort(sap_matrix(codes_train, factors_train, codes_test, factors_test, n_jobs), 0)
    second = matrix[-2] if matrix.shape[0] > 1 else np.zeros(matrix.shape[1])
    return {"sap": float(np.mean(matrix[-1] - second))}


@register_metric("sap", suites=("standard",))
def _sap_metric(inputs: MetricInputs) -> dict[str, float]:
    return sap(inputs.codes_train, inputs.factors_train, inputs.codes_test, inputs.factors_test)
