"""MCC and the unsupervised Gaussian scores."""

import math

import numpy as np
import pytest
from scipy import linalg
from tests.tolerances import monte_carlo_tol

from prodvae.metrics import (
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    mcc,
    unsupervised_scores,
)


def test_mcc_permutation_and_sign_invariant(identity_split, noise_split):
    codes, factors = identity_split.codes_train, identity_split.factors_train
    assert mcc(-codes[:, [2, 0, 1]], factors)["mcc"] > 0.99
    assert mcc(noise_split.codes_train, noise_split.factors_train)["mcc"] < 0.1
    spearman = mcc(codes, factors, method="spearman")["mcc"]
    assert spearman > 0.9  # below 1 only because factor ranks are tied
    assert mcc(np.exp(codes), factors, method="spearman")["mcc"] == pytest.approx(spearman)


def test_mcc_scores_loops_as_loops():
    """A loop code that equals the true angle up to a rotation matches perfectly only when the
    angle is treated as an angle: linearly, the wrap at ±π breaks the correlation."""
    rng = np.random.default_rng(0)
    size = 24
    loop_index = rng.integers(size, size=4000)
    line_index = rng.integers(10, size=4000)
    factors = np.column_stack([loop_index, line_index])
    theta = 2 * np.pi * loop_index / size
    angle_code = np.angle(np.exp(1j * (theta + 2.5)))  # wrapped into (-pi, pi]
    codes = np.column_stack([angle_code, line_index + 0.1 * rng.normal(size=4000)])
    kinds, periods = ("loop", "segment"), (size, None)
    assert mcc(codes, factors, code_kinds=kinds, factor_periods=periods)["mcc"] > 0.99
    assert mcc(codes, factors)["mcc"] < 0.9  # the linear reading is fooled by the wrap
    unrelated = np.column_stack([rng.uniform(-np.pi, np.pi, 4000), rng.normal(size=4000)])
    assert mcc(unrelated, factors, code_kinds=kinds, factor_periods=periods)["mcc"] < 0.1
    with pytest.raises(ValueError, match="code_kinds"):
        mcc(codes, factors, code_kinds=("loop",), factor_periods=periods)


def test_gaussian_total_correlation_closed_form():
    r = 0.6
    cov = np.array([[1.0, r], [r, 1.0]])
    assert gaussian_total_correlation(cov) == pytest.approx(-0.5 * math.log(1 - r * r))
    assert gaussian_total_correlation(np.diag([2.0, 3.0])) == pytest.approx(0.0)
    w = 4 - 2 * (math.sqrt(1 + r) + math.sqrt(1 - r))  # eigenvalues of cov are 1 +- r
    assert gaussian_wasserstein_correlation(cov) == pytest.approx(w)
    assert np.allclose(linalg.sqrtm(cov) @ linalg.sqrtm(cov), cov)


def test_unsupervised_scores_on_samples():
    rng = np.random.default_rng(0)
    r = 0.6
    codes = rng.multivariate_normal([0, 0], [[1, r], [r, 1]], size=20000)
    scores = unsupervised_scores(codes)
    # a sample correlation has standard error (1 - r²) / sqrt(n), and -log(1 - r²) / 2 moves
    # by r / (1 - r²) per unit of r: standard error r / sqrt(n)
    assert scores["gaussian_total_correlation"] == pytest.approx(
        -0.5 * math.log(1 - r * r), abs=monte_carlo_tol(r, len(codes))
    )
    independent = unsupervised_scores(rng.normal(size=(20000, 3)))
    # independent: each of the 3 correlations is about N(0, 1 / n), so TC ≈ Σ r² / 2 stays
    # below 3 (5 standard errors)² / 2
    assert independent["gaussian_total_correlation"] < 3 * monte_carlo_tol(1.0, 20000) ** 2 / 2
    assert scores["mutual_info_score"] > 5 * independent["mutual_info_score"]
    with_constant = unsupervised_scores(np.column_stack([codes, np.ones(len(codes))]))
    assert with_constant["gaussian_total_correlation"] == pytest.approx(
        scores["gaussian_total_correlation"]
    )
