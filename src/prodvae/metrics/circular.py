"""Statistics of angles: wrapping, circular variance, alignment and correlations.

Angles are in radians. References: Fisher & Lee (1983) circular correlation (computed with
the O(N) sums of Fisher 1993, eq. 6.36); Mardia (1976) circular-linear correlation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _angles(values: object, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty vector [N], got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def wrap(angle: np.ndarray) -> np.ndarray:
    """Angles mapped into ``[-pi, pi)``."""
    return (np.asarray(angle, dtype=np.float64) + np.pi) % (2 * np.pi) - np.pi


def wrapped_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest signed angle from ``b`` to ``a``, in ``[-pi, pi)``."""
    return wrap(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))


def mean_resultant_length(angles: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``R = |mean exp(i angle)|`` in ``[0, 1]`` (1: all angles equal)."""
    angles = np.asarray(angles, dtype=np.float64)
    return np.hypot(np.cos(angles).mean(axis=axis), np.sin(angles).mean(axis=axis))


def circular_variance(angles: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``1 - R`` in ``[0, 1]``; about ``sigma^2 / 2`` for a small spread ``sigma``."""
    return 1.0 - mean_resultant_length(angles, axis)


def circular_std(angles: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``sqrt(-2 log R)``; equals the standard deviation for a wrapped normal."""
    r = np.clip(mean_resultant_length(angles, axis), 1e-300, 1.0)
    return np.sqrt(-2.0 * np.log(r))


def circular_alignment(
    phi: np.ndarray, theta: np.ndarray, harmonics: Sequence[int] = (1,)
) -> float:
    """``max_{s=+-1, k} |mean exp(i (phi - s k theta))|`` in ``[0, 1]``.

    1 exactly when ``phi = +-k theta + c`` for one of the ``harmonics``; about
    ``sqrt(pi / 4N)`` for unrelated angles of ``N`` samples.
    """
    phi = _angles(phi, "phi")
    theta = _angles(theta, "theta")
    if phi.shape != theta.shape:
        raise ValueError(f"phi and theta differ in length: {phi.size} and {theta.size}")
    ks = [int(k) for k in harmonics]
    if not ks or min(ks) < 1:
        raise ValueError(f"harmonics must be positive integers, got {tuple(harmonics)!r}")
    best = 0.0
    for k in ks:
        for sign in (1, -1):
            best = max(best, float(mean_resultant_length(phi - sign * k * theta)))
    return best


def fisher_lee(phi: np.ndarray, theta: np.ndarray) -> float:
    """Fisher-Lee circular correlation in ``[-1, 1]`` (the sign tells the orientation)."""
    a = _angles(phi, "phi")
    b = _angles(theta, "theta")
    if a.shape != b.shape:
        raise ValueError(f"phi and theta differ in length: {a.size} and {b.size}")
    n = a.size
    ca, sa, cb, sb = np.cos(a), np.sin(a), np.cos(b), np.sin(b)
    numerator = 4 * ((ca * cb).sum() * (sa * sb).sum() - (ca * sb).sum() * (sa * cb).sum())
    spread_a = n * n - np.cos(2 * a).sum() ** 2 - np.sin(2 * a).sum() ** 2
    spread_b = n * n - np.cos(2 * b).sum() ** 2 - np.sin(2 * b).sum() ** 2
    denominator = np.sqrt(max(spread_a, 0.0) * max(spread_b, 0.0))
    return float(numerator / denominator) if denominator > 1e-12 * n * n else 0.0


def circular_linear_r2(theta: np.ndarray, x: np.ndarray) -> float:
    """Mardia's circular-linear ``R^2`` in ``[0, 1]``: the share of the variance of ``x``
    explained by a linear regression on ``(cos theta, sin theta)``."""
    theta = _angles(theta, "theta")
    x = _angles(x, "x")
    if theta.shape != x.shape:
        raise ValueError(f"theta and x differ in length: {theta.size} and {x.size}")
    design = np.column_stack([np.ones_like(theta), np.cos(theta), np.sin(theta)])
    coef = np.linalg.lstsq(design, x, rcond=None)[0]
    residual = ((x - design @ coef) ** 2).sum()
    total = ((x - x.mean()) ** 2).sum()
    return float(np.clip(1.0 - residual / total, 0.0, 1.0)) if total > 0 else 0.0
