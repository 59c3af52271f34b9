"""Mean correlation coefficient (Khemakhem et al., AISTATS 2020; Hyvarinen & Morioka 2016).

``|corr(code_i, factor_j)|`` (Pearson, or Spearman on ranks) for every pair, then the
one-to-one matching of codes to factors that maximises the total (Hungarian algorithm);
MCC is the mean matched ``|corr|`` over the ``min(L, K)`` matched pairs. Constant columns
correlate 0. ``fast`` has no effect.

Loops are correlated as loops: where a code is a loop angle (``code_kinds``) or a factor is a
loop (``factor_periods``: its number of grid values, so index k is the angle 2πk/size), a
loop against a line uses √ of Mardia's circular-linear R², and two loops |Fisher-Lee|.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.optimize import linear_sum_assignment

from prodvae.metrics._checks import check_pair
from prodvae.metrics.circular import circular_linear_r2, fisher_lee
from prodvae.metrics.registry import MetricInputs, register_metric
from prodvae.spaces import is_circular


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


def _circular_entry(x: np.ndarray, x_loop: bool, y: np.ndarray, y_loop: bool) -> float:
    """|correlation| of two columns of which at least one is an angle."""
    if x_loop and y_loop:
        return abs(fisher_lee(x, y))
    angle, line = (x, y) if x_loop else (y, x)
    return float(np.sqrt(circular_linear_r2(angle, line)))


def mcc(
    codes: np.ndarray,
    factors: np.ndarray,
    method: str = "pearson",
    code_kinds: tuple[str, ...] = (),
    factor_periods: tuple[int | None, ...] = (),
) -> dict[str, float]:
    """``{"mcc"}``: mean matched absolute correlation of ``codes [N, L]`` and
    ``factors [N, K]``; ``code_kinds[i]`` "loop" marks angle codes, ``factor_periods[j]``
    the number of grid values of a loop factor (``None`` for other factors)."""
    data = check_pair(codes, factors)
    corr = abs_correlation(data.codes, data.factors, method)
    code_loops = [is_circular(kind) for kind in code_kinds] or [False] * corr.shape[0]
    periods = list(factor_periods) or [None] * corr.shape[1]
    if len(code_loops) != corr.shape[0] or len(periods) != corr.shape[1]:
        raise ValueError(
            f"code_kinds/factor_periods must have {corr.shape[0]}/{corr.shape[1]} entries, "
            f"got {len(code_loops)}/{len(periods)}"
        )
    for j, period in enumerate(periods):
        factor = data.factors[:, j]
        factor = factor if period is None else 2 * np.pi * factor / period
        for i, code_loop in enumerate(code_loops):
            if code_loop or period is not None:
                corr[i, j] = _circular_entry(
                    data.codes[:, i], code_loop, factor, period is not None
                )
    rows, cols = linear_sum_assignment(corr, maximize=True)
    return {"mcc": float(corr[rows, cols].mean())}


@register_metric("mcc", suites=("standard",))
def _mcc_metric(inputs: MetricInputs) -> dict[str, float]:
    periods = tuple(f.size if is_circular(f.kind) else None for f in inputs.spec or ())
    return mcc(inputs.codes_train, inputs.factors_train, "pearson", inputs.code_kinds, periods)
