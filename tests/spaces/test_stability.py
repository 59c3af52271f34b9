"""float32 stays finite and accurate over the documented parameter ranges; gradients finite."""

import itertools
import math

import pytest
import torch
from tests.tolerances import float_tol

from prodvae.spaces import Euclidean, Loop, PointSet, Segment, Tilted

WIDTHS = (0.01, 0.1, 1.0, 10.0)
SCALES = (0.0, 1.0, 100.0)


def factors():
    for width, scale in itertools.product(WIDTHS, SCALES):
        yield Loop(radius=scale, width=width)
        yield Segment(half_length=scale, width=width)
        yield PointSet(num_points=3, spacing=max(scale, 0.5), width=width)
    for tau in (0.0, 1.0, 30.0, 100.0):
        for dim in (1, 2, 3, 10):
            yield Tilted(dim=dim, tau=tau)
    yield Euclidean(4)


def posterior_grid(dim, dtype):
    """Means from 0 to |mu| = 1e3 (including exact zeros) and log-variances from -20 to 8."""
    magnitudes = torch.tensor([0.0, 1e-3, 0.5, 3.0, 30.0, 100.0, 1e3])
    logvars = torch.tensor([-20.0, -8.0, -2.0, 0.0, 3.0, 8.0])
    m, lv = torch.meshgrid(magnitudes, logvars, indexing="ij")
    direction = torch.ones(dim) / dim**0.5
    mu = m.reshape(-1, 1) * direction
    return mu.to(dtype), lv.reshape(-1, 1).expand(-1, dim).to(dtype).clone()


@pytest.mark.parametrize("factor", list(factors()), ids=repr)
def test_float32_kl_is_finite_accurate_and_differentiable(factor):
    mu, logvar = posterior_grid(factor.dim, torch.float32)
    mu.requires_grad_(True)
    logvar.requires_grad_(True)
    kl = factor.kl(mu, logvar)
    assert kl.dtype == torch.float32
    assert torch.isfinite(kl).all()
    kl.sum().backward()
    assert torch.isfinite(mu.grad).all() and torch.isfinite(logvar.grad).all()
    reference = factor.kl(mu.detach().double(), logvar.detach().double())
    # rtol: the documented accuracy (README); atol: near the prior a float32 KL cancels terms
    # of size 1 per dimension (e^logvar against 1 + logvar) to about 0
    cancellation = float_tol(torch.float32, factor.dim, 4)
    assert torch.allclose(kl.double(), reference, rtol=1e-5, atol=cancellation)


@pytest.mark.parametrize("factor", list(factors()), ids=repr)
def test_float32_log_prob_and_energy_are_finite_with_finite_gradients(factor):
    z = torch.tensor([[0.0], [1e-3], [1.0], [100.0], [-1e3]]).expand(-1, factor.dim).clone()
    z.requires_grad_(True)
    log_p = factor.log_prob(z)
    assert torch.isfinite(log_p).all()
    log_p.sum().backward()
    assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize("dim", [1, 2, 3, 10])
def test_both_methods_of_the_mean_norm_agree_where_they_switch(dim):
    """The non-central chi mean uses a series below x = 100 and an asymptotic one above."""
    from prodvae.spaces import radial

    x = torch.tensor([60.0, 100.0, 150.0], dtype=torch.float64)
    series = radial._hyp1f1_series(x, dim / 2)
    asymptotic = radial._hyp1f1_asymptotic(x, dim / 2)
    # the series is summed in log space: the logs of its terms, up to n log x for n below
    # _NUM_SERIES_TERMS, carry a few roundings of that size, which exp makes relative
    log_size = radial._NUM_SERIES_TERMS * math.log(x.max().item())
    assert torch.allclose(series, asymptotic, rtol=float_tol(torch.float64, log_size, 4), atol=0)
