import math

import pytest
import torch
from tests.tolerances import float_tol

from prodvae.objectives.total_correlation import (
    dimension_blocks,
    kl_decomposition,
    log_stratified_weights,
    total_correlation,
)


def gaussian_codes(n, correlated, generator, sigma=0.3):
    mu = torch.randn(n, 2, generator=generator, dtype=torch.float64)
    if correlated:
        mu[:, 1] = mu[:, 0]
    logvar = torch.full((n, 2), 2 * math.log(sigma), dtype=torch.float64)
    z = mu + sigma * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return z, mu, logvar


def test_weights_are_a_distribution_per_row():
    weights = log_stratified_weights(8, 1000, torch.zeros(())).exp()
    assert torch.allclose(weights.sum(1), torch.ones(8, dtype=weights.dtype))
    assert weights[0, 0] == pytest.approx(1 / 1000)


def test_total_correlation_is_zero_for_independent_codes():
    z, mu, logvar = gaussian_codes(1000, False, torch.Generator().manual_seed(0))
    tc = total_correlation(z, mu, logvar, dimension_blocks(2), 100_000)
    assert abs(tc.item()) < 0.05


def test_total_correlation_matches_gaussian_mutual_information_when_correlated():
    z, mu, logvar = gaussian_codes(1000, True, torch.Generator().manual_seed(0))
    tc = total_correlation(z, mu, logvar, dimension_blocks(2), 100_000)
    # The aggregate posterior is N(0, [[1.09, 1], [1, 1.09]]): TC = -½ log(1 - ρ²).
    rho = 1 / 1.09
    assert tc.item() == pytest.approx(-0.5 * math.log(1 - rho**2), abs=0.08)


def test_blocks_group_dimensions():
    # Two copies of one code in one block: no dependence between blocks remains.
    z, mu, logvar = gaussian_codes(1000, True, torch.Generator().manual_seed(1))
    one_block = total_correlation(z, mu, logvar, (slice(0, 2),), 100_000)
    # the same float64 log-sum-exps on either side: a few roundings of log densities (< 10)
    assert one_block.item() == pytest.approx(0.0, abs=float_tol(torch.float64, 10.0, 8))


def test_decomposition_adds_up_to_the_sampled_kl():
    z, mu, logvar = gaussian_codes(256, True, torch.Generator().manual_seed(2))
    log_prior = (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).sum(-1)
    parts = kl_decomposition(z, mu, logvar, log_prior, dimension_blocks(2), 10_000)
    log_conditional = (-0.5 * ((z - mu) ** 2 / logvar.exp() + logvar + math.log(2 * math.pi))).sum(
        -1
    )
    total = parts.mutual_information + parts.total_correlation + parts.dimension_kl
    # the parts telescope: float64 means (and log-sum-exps) over 256 codes of log densities
    # no larger than these, off by up to 256 eps of them each
    size = (log_conditional.abs() + log_prior.abs()).max().item()
    expected = (log_conditional - log_prior).mean().item()
    assert total.item() == pytest.approx(expected, abs=float_tol(torch.float64, size, 4 * len(z)))


def test_bad_sizes_fail_clearly():
    with pytest.raises(ValueError, match="dataset_size"):
        log_stratified_weights(10, 5, torch.zeros(()))
    with pytest.raises(ValueError, match="batch size"):
        log_stratified_weights(2, 5, torch.zeros(()))
