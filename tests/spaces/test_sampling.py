"""Exact samplers: sample statistics against quadrature of the normalised density."""

import math

import pytest
import torch
from scipy import integrate
from tests.tolerances import monte_carlo_tol

from prodvae.spaces import Euclidean, Loop, PointSet, Segment, Tilted

N = 200_000


def draw(factor, seed=0):
    return factor.sample(N, torch.Generator().manual_seed(seed), dtype=torch.float64)


def radius_moment(factor, dim, power, peak, scale):
    """E|z|^power under the prior, by radial quadrature of its own normalised log_prob."""
    area = 2 * math.pi ** (dim / 2) / math.gamma(dim / 2)

    def integrand(r):
        z = torch.zeros(1, dim, dtype=torch.float64)
        z[0, 0] = r
        return area * r ** (dim - 1 + power) * math.exp(factor.log_prob(z).item())

    return integrate.quad(integrand, 0, peak + 40 * scale, points=[peak], limit=500)[0]


@pytest.mark.parametrize(
    "factor, peak, scale",
    [
        (Loop(3.0, 0.5), 3.0, 0.5),
        (Loop(0.5, 1.0), 0.5, 1.0),
        (Tilted(2, 4.0), 4.0, 1.0),
        (Tilted(3, 0.0), 1.4, 1.0),
        (Tilted(10, 6.0), 7.2, 1.0),
    ],
)
def test_radius_moments_match_quadrature(factor, peak, scale):
    radius = draw(factor).norm(dim=-1)
    for power in (1, 2):
        expected = radius_moment(factor, factor.dim, power, peak, scale)
        spread = (radius**power).std().item()
        assert (radius**power).mean().item() == pytest.approx(
            expected, abs=monte_carlo_tol(spread, N)
        )


@pytest.mark.parametrize("factor", [Loop(3.0, 0.5), Tilted(3, 4.0), Tilted(10, 6.0)])
def test_directions_are_uniform(factor):
    z = draw(factor)
    direction = z / z.norm(dim=-1, keepdim=True)
    # each coordinate of a unit vector has standard deviation at most 1
    assert direction.mean(0).abs().max().item() < monte_carlo_tol(1.0, N)


def test_loop_angle_is_uniform():
    angle = Loop(2.0, 0.3).coordinate(draw(Loop(2.0, 0.3)))
    counts = torch.histc(angle, bins=12, min=-math.pi, max=math.pi)
    expected = N / 12
    chi2 = ((counts - expected) ** 2 / expected).sum().item()
    assert chi2 < 40  # 11 degrees of freedom: P(chi2 > 40) < 1e-4


@pytest.mark.parametrize("half_length, width", [(2.0, 0.25), (0.5, 1.0), (0.0, 0.7)])
def test_segment_mass_inside_and_tails(half_length, width):
    z = draw(Segment(half_length, width))[:, 0]
    inside = 2 * half_length / (2 * half_length + math.sqrt(2 * math.pi) * width)
    frac = (z.abs() <= half_length).double().mean().item()
    assert frac == pytest.approx(inside, abs=5 * math.sqrt(inside * (1 - inside) / N) + 1e-12)
    excess = (z.abs() - half_length).clamp_min(0)
    tails = excess[z.abs() > half_length]
    # Outside the segment the excess is half-normal with scale w: E = w √(2/π).
    expected = width * math.sqrt(2 / math.pi)
    assert tails.mean().item() == pytest.approx(
        expected, abs=monte_carlo_tol(tails.std().item(), len(tails))
    )


def test_point_set_occupation_and_spread():
    factor = PointSet(num_points=4, spacing=3.0, width=0.4)
    z = draw(factor)
    index = factor.coordinate(z)
    occupation = torch.bincount(index, minlength=4).double() / N
    quarter = torch.full((4,), 0.25, dtype=torch.float64)
    binomial = monte_carlo_tol(math.sqrt(0.25 * 0.75), N)
    assert torch.allclose(occupation, quarter, rtol=0, atol=binomial)
    residual = z[:, 0] - factor.points[index]
    # a normal sample's standard deviation has standard error w / sqrt(2 N); the cut at the
    # midpoints, 3.75 widths out, lowers it by only 0.1%
    assert residual.std().item() == pytest.approx(0.4, abs=monte_carlo_tol(0.4, 2 * N))


def test_euclidean_moments():
    z = draw(Euclidean(3))
    assert z.mean(0).abs().max().item() < monte_carlo_tol(1.0, N)
    # the sample variance of N standard normals has standard deviation sqrt(2 / N)
    ones = torch.ones(3, dtype=torch.float64)
    assert torch.allclose(z.var(0), ones, rtol=0, atol=monte_carlo_tol(math.sqrt(2), N))


def test_sample_log_prob_matches_entropy_of_the_prior():
    """A cross-check of sampler and density together: -E[log p] = H(p) by quadrature."""
    factor = Segment(1.0, 0.5)
    log_p = factor.log_prob(draw(factor))

    def integrand(x):
        lp = factor.log_prob(torch.tensor([[x]], dtype=torch.float64)).item()
        return -math.exp(lp) * lp

    entropy = sum(integrate.quad(integrand, a, b)[0] for a, b in [(-12, -1), (-1, 1), (1, 12)])
    assert -log_p.mean().item() == pytest.approx(
        entropy, abs=monte_carlo_tol(log_p.std().item(), N)
    )
