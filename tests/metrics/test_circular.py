"""Angles: wrapping, alignment (with a sample-size bound), Fisher-Lee, circular-linear R^2."""

import math

import numpy as np
import pytest
from tests.tolerances import float_tol, monte_carlo_tol

from prodvae.metrics import (
    circular_alignment,
    circular_linear_r2,
    circular_std,
    circular_variance,
    fisher_lee,
    wrapped_difference,
)


def test_wrapping_and_spread():
    assert wrapped_difference(3.0, -3.0) == pytest.approx(6.0 - 2 * math.pi)
    # 1 - |mean of 5 unit vectors|: a few roundings of 1
    assert circular_variance(np.full(5, 2.0)) == pytest.approx(0.0, abs=float_tol(np.float64, 1, 8))
    assert circular_variance(np.arange(4) * math.pi / 2) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    sample = rng.normal(0.0, 0.2, 200000) + math.pi  # a wrapped normal straddling the cut
    # for a narrow wrapped normal the circular std, like a sample std, has standard error
    # sigma / sqrt(2 n)
    assert circular_std(sample) == pytest.approx(0.2, abs=monte_carlo_tol(0.2, 2 * len(sample)))


def test_alignment_known_answers():
    rng = np.random.default_rng(1)
    theta = rng.uniform(-math.pi, math.pi, 2000)
    assert circular_alignment(theta + 1.3, theta) == pytest.approx(1.0)
    assert circular_alignment(-theta + 0.2, theta) == pytest.approx(1.0)
    assert circular_alignment(-2 * theta + 0.7, theta, harmonics=(1, 2)) == pytest.approx(1.0)
    # For independent uniform angles N R^2 is Exp(1): P(max over 2|H| tries > r) <= 2|H| e^(-N r^2)
    n, harmonics = 2000, (1, 2)
    bound = math.sqrt(math.log(2 * len(harmonics) * 1e6) / n)
    assert circular_alignment(-2 * theta, theta) < bound  # harmonic 2 not offered
    phi = rng.uniform(-math.pi, math.pi, n)
    assert circular_alignment(phi, theta, harmonics=harmonics) < bound


def test_fisher_lee_matches_pairwise_definition():
    rng = np.random.default_rng(2)
    theta = rng.uniform(-math.pi, math.pi, 60)
    phi = theta + rng.normal(0, 0.8, 60)
    d_phi = np.sin(phi[:, None] - phi[None, :])
    d_theta = np.sin(theta[:, None] - theta[None, :])
    upper = np.triu_indices(60, 1)
    expected = (d_phi[upper] * d_theta[upper]).sum() / np.sqrt(
        (d_phi[upper] ** 2).sum() * (d_theta[upper] ** 2).sum()
    )
    # float64 sums of 1770 pair terms, whose ratio has size <= 1: up to 1770 eps each
    rounding = float_tol(np.float64, 1.0, 2 * len(upper[0]))
    assert fisher_lee(phi, theta) == pytest.approx(expected, abs=rounding)
    assert fisher_lee(theta + 2.0, theta) == pytest.approx(1.0)
    assert fisher_lee(-theta, theta) == pytest.approx(-1.0)


def test_circular_linear_r2_matches_mardia_formula():
    rng = np.random.default_rng(3)
    theta = rng.uniform(-math.pi, math.pi, 500)
    x = np.cos(theta - 0.3) + rng.normal(0, 0.5, 500)
    r_xc = np.corrcoef(x, np.cos(theta))[0, 1]
    r_xs = np.corrcoef(x, np.sin(theta))[0, 1]
    r_cs = np.corrcoef(np.cos(theta), np.sin(theta))[0, 1]
    mardia = (r_xc**2 + r_xs**2 - 2 * r_xc * r_xs * r_cs) / (1 - r_cs**2)
    # three correlations of 500 terms (each off by up to 500 eps), combined with |r| <= 1
    rounding = float_tol(np.float64, 1.0, 8 * len(theta))
    assert circular_linear_r2(theta, x) == pytest.approx(mardia, abs=rounding)
    assert circular_linear_r2(theta, 2 * np.sin(theta + 1)) == pytest.approx(1.0)


def test_bad_angles_raise():
    with pytest.raises(ValueError, match="harmonics"):
        circular_alignment(np.zeros(3), np.zeros(3), harmonics=(0,))
    with pytest.raises(ValueError, match="phi"):
        fisher_lee(np.array([np.nan]), np.zeros(1))
