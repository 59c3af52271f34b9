"""MCC and the unsupervised Gaussian scores."""

import math

import numpy as np
import pytest
from scipy import linalg

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
    assert scores["gaussian_total_correlation"] == pytest.approx(
        -0.5 * math.log(1 - r * r), abs=0.02
    )
    independent = unsupervised_scores(rng.normal(size=(20000, 3)))
    assert independent["gaussian_total_correlation"] < 0.005
    assert scores["mutual_info_score"] > 5 * independent["mutual_info_score"]
    with_constant = unsupervised_scores(np.column_stack([codes, np.ones(len(codes))]))
    assert with_constant["gaussian_total_correlation"] == pytest.approx(
        scores["gaussian_total_correlation"]
    )
