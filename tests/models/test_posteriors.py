import math

import numpy as np
import pytest
import torch
from scipy import integrate
from tests.tolerances import QUAD_TARGET, float_tol, monte_carlo_tol

from prodvae.models import POSTERIORS, make_posterior
from prodvae.spaces import Loop, Segment


@pytest.mark.parametrize("kappa", [0.3, 2.0, 15.0])
def test_power_spherical_kl_matches_quadrature(kappa):
    family, loop = make_posterior("power_spherical"), Loop(radius=2.0, width=0.5)
    norm = integrate.quad(lambda a: (1 + math.cos(a)) ** kappa, -math.pi, math.pi)[0]

    def integrand(a):
        p = (1 + math.cos(a)) ** kappa / norm
        return p * math.log(p * 2 * math.pi) if p > 0 else 0.0

    expected = integrate.quad(integrand, -math.pi, math.pi, limit=200)[0]
    mu = torch.tensor([[0.0, 2.0]], dtype=torch.float64)
    logvar = torch.full((1, 2), -math.log(kappa), dtype=torch.float64)
    # two quads (the normaliser and the integral), each good to QUAD_TARGET of its size
    accuracy = 2 * QUAD_TARGET * (1 + abs(expected))
    assert family.kl(loop, mu, logvar).item() == pytest.approx(expected, abs=accuracy)


def test_power_spherical_samples_match_the_density():
    family, loop = make_posterior("power_spherical"), Loop(radius=3.0, width=0.5)
    kappa, n = 4.0, 200_000
    torch.manual_seed(0)
    mu = torch.tensor([[3.0, 0.0]]).expand(n, -1).double()
    logvar = torch.full((n, 2), -math.log(kappa), dtype=torch.float64)
    z = family.rsample(loop, mu, logvar, torch.Generator().manual_seed(1))
    assert torch.allclose(z.norm(dim=-1), torch.full((n,), 3.0, dtype=torch.float64))
    cos = z[:, 0] / 3.0
    norm = integrate.quad(lambda a: (1 + math.cos(a)) ** kappa, -math.pi, math.pi)[0]
    mean_cos = integrate.quad(lambda a: math.cos(a) * (1 + math.cos(a)) ** kappa, -math.pi, math.pi)
    assert cos.mean().item() == pytest.approx(
        mean_cos[0] / norm, abs=monte_carlo_tol(cos.std().item(), n)
    )
    # symmetric about the mean: a fair coin per draw, standard deviation 1/2
    assert abs((z[:, 1] > 0).double().mean().item() - 0.5) < monte_carlo_tol(0.5, n)


@pytest.mark.parametrize("raw", [(0.0, 1.0), (-2.0, 3.0), (1.5, 0.5)])
def test_kumaraswamy_median_kl_and_samples(raw):
    family, segment = make_posterior("kumaraswamy"), Segment(half_length=2.0, width=0.25)
    mu, logvar = family.parameters(segment, torch.tensor([raw], dtype=torch.float64))
    a, b = (v.item() for v in family.shapes(segment, mu, logvar))
    median = (mu.item() / 2.0 + 1) / 2
    # 1 - median**a rounds by eps / 2, which the power b multiplies by b
    assert 1 - (1 - median**a) ** b == pytest.approx(0.5, abs=float_tol(np.float64, max(b, 1.0), 4))

    def neg_plogp(x):
        log_density = math.log(a * b) + (a - 1) * math.log(x) + (b - 1) * math.log1p(-(x**a))
        return -math.exp(log_density) * log_density

    entropy = integrate.quad(neg_plogp, 0, 1, limit=200)[0]
    accuracy = 2 * QUAD_TARGET * (1 + abs(entropy))  # quad's target, with headroom
    assert family.kl(segment, mu, logvar).item() == pytest.approx(-entropy, abs=accuracy)

    n = 100_000
    z = family.rsample(
        segment, mu.expand(n, -1), logvar.expand(n, -1), torch.Generator().manual_seed(0)
    )
    assert z.abs().max() <= 2.0
    # a sample median's standard error is 1 / (2 f(median) sqrt(n)); z = 2 (2 x - 1) has
    # density f_x / 4 where x, a Kumaraswamy(a, b) draw, has density f_x
    density = a * b * median ** (a - 1) * (1 - median**a) ** (b - 1) / 4
    assert torch.median(z).item() == pytest.approx(mu.item(), abs=monte_carlo_tol(0.5 / density, n))


def test_kumaraswamy_kl_matches_monte_carlo_for_a_u_shaped_posterior():
    family, segment = make_posterior("kumaraswamy"), Segment(half_length=2.0, width=0.25)
    mu, logvar = family.parameters(segment, torch.tensor([[1.5, -1.0]], dtype=torch.float64))
    a, b = family.shapes(segment, mu, logvar)
    assert a.item() < 1 and b.item() < 1
    n = 400_000
    z = family.rsample(
        segment, mu.expand(n, -1), logvar.expand(n, -1), torch.Generator().manual_seed(0)
    )
    x = ((z[:, 0] / 2.0 + 1) / 2).clamp(1e-12, 1 - 1e-12)
    log_density = torch.log(a * b) + (a - 1) * x.log() + (b - 1) * torch.log1p(-(x**a))
    standard_error = log_density.std().item() / math.sqrt(n)
    estimate = log_density.mean().item()  # KL to the uniform on [0, 1] = E[log q]
    assert family.kl(segment, mu, logvar).item() == pytest.approx(estimate, abs=4 * standard_error)


def test_kumaraswamy_gradients_are_finite():
    family, segment = make_posterior("kumaraswamy"), Segment(half_length=1.0, width=0.25)
    raw = torch.tensor([[0.3, 0.5], [-4.0, 5.0], [4.0, -3.0]], requires_grad=True)
    mu, logvar = family.parameters(segment, raw)
    z = family.rsample(segment, mu, logvar, torch.Generator().manual_seed(0))
    (z.sum() + family.kl(segment, mu, logvar).sum()).backward()
    assert torch.isfinite(raw.grad).all()


def test_gaussian_family_samples_have_the_right_moments():
    family, loop = make_posterior("gaussian"), Loop()
    n = 100_000
    mu = torch.tensor([[1.0, -2.0]]).expand(n, -1)
    logvar = torch.log(torch.tensor([[0.25, 0.25]])).expand(n, -1)
    z = family.rsample(loop, mu, logvar, torch.Generator().manual_seed(0))
    assert np.allclose(z.mean(0).numpy(), [1.0, -2.0], rtol=0, atol=monte_carlo_tol(0.5, n))
    # a normal sample's standard deviation has standard error sigma / sqrt(2 n)
    assert np.allclose(z.std(0).numpy(), [0.5, 0.5], rtol=0, atol=monte_carlo_tol(0.5, 2 * n))


def test_unknown_family_fails_clearly():
    with pytest.raises(ValueError, match="unknown posterior 'vmf'"):
        make_posterior("vmf")
    assert {"gaussian", "power_spherical", "kumaraswamy"} <= set(POSTERIORS)
