"""Mean correlation coefficient (Khemakhem et al., AISTATS 2020; Hyvarinen & Morioka 2016).

``|corr(code_i, factor_j)|`` (Pearson, or Spearman on ranks) for every pair, then the
one-to-one matching of codes to factors that maximises the total (Hungarian algorithm);
MCC is the mean matched ``|corr|`` over the ``min(L, K)`` matched pairs. Constant columns
correlate 0. ``fast`` has no effect.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.optimize import linear_sum_assignment

from prodvae.metrics._checks import check_pair
from prodvae.metrics.registry import MetricInputs, register_metric


def abs_correlation(x: np.ndarray, y: np.ndarray, method: str = "pearson") -> np.ndarray:
    """``|corr(x_i, y_j)|`` ``[Lx, Ly]`` for ``x [N, Lx]``, ``y [N, Ly]``; 0 for constants."""
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if method == "spearman":
        x = stats.rankdata(x, axis=0)
        y = stats.rankdata(y, axis=0)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    nx = np.sqrt((x**2).sum(axis=0))
    ny = np.sqrt((y**2).sum(axis=0))
    scale = np.outer(nx, ny)
    cov = np.abs(x.T @ y)
    return np.where(scale > 0, cov / np.where(scale > 0, scale, 1.0), 0.0)


def mcc(codes: np.ndarray, factors: np.ndarray, method: str = "pearson") -> dict[str, float]:
    """``{"mcc"}``: mean matched absolute correlation of ``codes [N, L]`` and
    ``factors [N, K]``."""
    data = check_pair(codes, factors)
    corr = abs_correlation(data.codes, data.factors, method)
    rows, cols = linear_sum_assignment(corr, maximize=True)
    return {"mcc": float(corr[rows, cols].mean())}


@register_metric("mcc", suites=("standard",))
def _mcc_metric(inputs: MetricInputs) -> dict[str, float]:
    return mcc(inputs.codes_train, inputs.factors_train)
