"""Separated attribute predictability (Kumar et al., ICLR 2018) as in disentanglement_lib.

For discrete factors ``S_ij`` is the plain test accuracy of a linear SVM
(``LinearSVC(C=0.01, class_weight="balanced")``, other arguments scikit-learn's defaults)
predicting factor ``j`` from code ``i`` alone; ``SAP = mean_j (top1_j - top2_j)``. The
``L x K`` fits are independent and run in worker processes (:mod:`prodvae.metrics.parallel`),
factors with more classes first (liblinear fits one line per class); the scores equal the
sequential ones exactly. Constant factors are left out. ``fast`` changes nothing: the metric
takes about a second at the reference sizes, and subsampling is not faithful (C = 0.01
regularises relatively more on fewer samples: 2,000 instead of 10,000 training samples moved
SAP from 0.228 to 0.156 in ``benchmarks/metrics_speed.py``).

A loop code (an angle: ``code_kinds[i]`` is "loop") is given to its SVM as (cos, sin): a
linear boundary on the raw angle would cut the circle at ±π.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from prodvae.metrics._checks import check_split, require_varying
from prodvae.metrics.parallel import Job, num_binary_problems, run_jobs
from prodvae.metrics.registry import MetricInputs, register_metric
from prodvae.spaces import is_circular


def _features(column: np.ndarray, is_loop: bool) -> np.ndarray:
    """One code as SVM features: ``[N, 1]``, or ``[N, 2]`` (cos, sin) for an angle."""
    return np.column_stack([np.cos(column), np.sin(column)]) if is_loop else column[:, None]


def _accuracy(x_train, y_train, x_test, y_test) -> float:
    with warnings.catch_warnings():
        # The reference runs liblinear with its default iteration cap; keep its answer.
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm = LinearSVC(C=0.01, class_weight="balanced").fit(x_train, y_train)
    return float(np.mean(svm.predict(x_test) == y_test))


def sap_matrix(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    n_jobs: int | None = -1,
    code_kinds: tuple[str, ...] = (),
) -> np.ndarray:
    """Score matrix ``[L, K']`` of single-code SVM test accuracies over varying factors."""
    train, test = check_split(codes_train, factors_train, codes_test, factors_test)
    keep = require_varying(train.factors, "sap")
    num_codes = train.codes.shape[1]
    loops = [is_circular(kind) for kind in code_kinds] or [False] * num_codes
    if len(loops) != num_codes:
        raise ValueError(f"code_kinds must have {num_codes} entries, got {len(loops)}")
    x_train = [_features(train.codes[:, i], loops[i]) for i in range(num_codes)]
    x_test = [_features(test.codes[:, i], loops[i]) for i in range(num_codes)]
    lines = [num_binary_problems(train.factors[:, j]) for j in keep]
    jobs = [
        Job(
            _accuracy,
            (x_train[i], train.factors[:, j], x_test[i], test.factors[:, j]),
            cost=lines[k],
        )
        for i in range(num_codes)
        for k, j in enumerate(keep)
    ]
    return np.asarray(run_jobs(jobs, n_jobs)).reshape(num_codes, len(keep))


def sap(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    n_jobs: int | None = -1,
    code_kinds: tuple[str, ...] = (),
) -> dict[str, float]:
    """SAP score ``{"sap"}`` from train/test codes ``[N, L]`` and factors ``[N, K]``."""
    scores = sap_matrix(codes_train, factors_train, codes_test, factors_test, n_jobs, code_kinds)
    matrix = np.sort(scores, 0)
    second = matrix[-2] if matrix.shape[0] > 1 else np.zeros(matrix.shape[1])
    return {"sap": float(np.mean(matrix[-1] - second))}


@register_metric("sap", suites=("standard",), fits_in_workers=True)
def _sap_metric(inputs: MetricInputs) -> dict[str, float]:
    return sap(
        inputs.codes_train,
        inputs.factors_train,
        inputs.codes_test,
        inputs.factors_test,
        code_kinds=inputs.code_kinds,
    )
