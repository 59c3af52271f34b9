import math

import numpy as np
import pytest
import torch
from tests.tolerances import float_tol, monte_carlo_tol

from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.objectives.dependence import factor_hsic, hsic
from prodvae.spaces import ProductSpace


def ring(theta: torch.Tensor, radius: float = 3.0) -> torch.Tensor:
    return radius * torch.stack([theta.cos(), theta.sin()], dim=-1)


def ring_moments(radius: float, bandwidth: float) -> tuple[float, float]:
    """``E k(x, x')`` and ``E k(x, x')²`` for x, x' uniform on a ring, by quadrature over
    their angle difference (``|x - x'|² = 2 R² (1 - cos Δ)``)."""
    delta = np.linspace(0.0, 2 * math.pi, 200_001)
    k = np.exp(-(2 * radius**2 * (1 - np.cos(delta))) / (2 * bandwidth**2))
    mean = lambda f: np.trapezoid(f, delta) / (2 * math.pi)  # noqa: E731
    return mean(k), mean(k**2)


def test_hsic_of_a_ring_with_itself_matches_quadrature():
    """HSIC(x, x) = E k² - (E k)² on a ring (E_x' k(x, x') is the same for every x)."""
    radius, bandwidth = 3.0, 3.0 / math.sqrt(2)
    first, second = ring_moments(radius, bandwidth)
    population = second - first**2
    theta = torch.rand(3000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = ring(2 * math.pi * theta, radius)
    estimate = hsic(x, x, bandwidth).item()
    assert population > 0.1
    # degenerate (E_x' k(x, x') is the same for every x): the V-statistic's bias, from its
    # diagonal and centring terms, is below 4 / n and its spread about 1 / n (kernel <= 1)
    assert estimate == pytest.approx(population, abs=(4 + 5) / len(x))


def test_hsic_of_independent_rings_is_of_order_one_over_n():
    generator = torch.Generator().manual_seed(1)
    bandwidth = 3.0 / math.sqrt(2)
    same, independent = [], []
    for _ in range(20):
        a, b = (
            2 * math.pi * torch.rand(128, generator=generator, dtype=torch.float64) for _ in "ab"
        )
        same.append(hsic(ring(a), ring(a), bandwidth).item())
        independent.append(hsic(ring(a), ring(b), bandwidth).item())
    # the V-statistic's bias for independent samples is about (1 - E k)(1 - E l) / n
    first, _ = ring_moments(3.0, bandwidth)
    bias = (1 - first) ** 2 / 128
    # 5 standard errors of the mean of 20, and the O(1 / n²) the first-order bias leaves out
    spread = monte_carlo_tol(np.std(independent, ddof=1), len(independent)) + 4 / 128**2
    assert np.mean(independent) == pytest.approx(bias, abs=spread)
    assert np.mean(independent) < 0.1 * np.mean(same)


def test_hsic_sees_dependence_that_correlation_misses():
    """y = x² is uncorrelated with a symmetric x, but not independent of it."""
    x = torch.randn(1000, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    noise = torch.randn(1000, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    y = x**2
    assert abs(torch.corrcoef(torch.cat([x, y], 1).T)[0, 1].item()) < 0.1
    assert hsic(x, y, 1.0).item() > 10 * hsic(x, noise, 1.0).item()


def test_factor_hsic_averages_over_pairs_of_factors():
    generator = torch.Generator().manual_seed(4)
    a, b = (2 * math.pi * torch.rand(64, generator=generator) for _ in "ab")
    codes = torch.cat([ring(a), ring(a), ring(b)], dim=-1)
    slices = [slice(0, 2), slice(2, 4), slice(4, 6)]
    pairs = [(0, 1), (0, 2), (1, 2)]
    expected = sum(hsic(codes[:, slices[i]], codes[:, slices[j]], 2.0) for i, j in pairs) / 3
    # the same float32 sums, divided and added in another order: a few roundings
    same = float_tol(torch.float32, 1.0, 8)
    assert factor_hsic(codes, slices, 2.0).item() == pytest.approx(expected.item(), rel=same)
    assert factor_hsic(codes[:, :2], slices[:1], 2.0).item() == 0.0


def test_hsic_penalty_gradient_removes_a_dependence():
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(128, 2, generator=generator)
    y = (x + 0.1 * torch.randn(128, 2, generator=generator)).requires_grad_()
    optimizer = torch.optim.SGD([y], lr=50.0)
    start = hsic(x, y, 1.0).item()
    for _ in range(100):
        loss = hsic(x, y, 1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert hsic(x, y, 1.0).item() < 0.2 * start


def test_bad_hsic_inputs_fail_clearly():
    with pytest.raises(ValueError, match="hsic: expected"):
        hsic(torch.zeros(4, 2), torch.zeros(5, 2), 1.0)
    with pytest.raises(ValueError, match="bandwidth"):
        hsic(torch.zeros(4, 2), torch.zeros(4, 2), 0.0)
    with pytest.raises(ValueError, match="hsic_bandwidth"):
        get_objective("product", hsic_bandwidth=-1.0)
    with pytest.raises(ValueError, match="hsic_weight"):
        get_objective("product", hsic_weight=float("nan"))


def test_product_adds_the_weighted_hsic_of_its_posterior_means():
    space = ProductSpace.parse("loop(3, 0.5) * loop(3, 0.5)")
    torch.manual_seed(0)
    model = build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16)
    x = torch.rand(16, 1, 32, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():  # spread the means (not the variances) over the kernel's width
        scale = 2.0 / model.codes(x).std(0).mean()
        start = 0
        for factor, size in zip(space.factors, model.head_sizes):
            model.head.weight[start : start + factor.dim] *= scale
            start += size
    plain = get_objective("product", anneal_steps=10)
    weighted = get_objective("product", anneal_steps=10, hsic_weight=100.0, hsic_bandwidth=2.0)
    torch.manual_seed(1)
    base, _ = plain(model, x, 3)
    torch.manual_seed(1)
    loss, logs = weighted(model, x, 3)
    with torch.no_grad():
        expected = factor_hsic(model.codes(x), space.slices, 2.0).item()
    assert 100.0 * expected > 0.5
    # the objective calls factor_hsic on the same codes: equal but for a few float32 roundings
    same = float_tol(torch.float32, expected, 8)
    assert logs["hsic"] == pytest.approx(expected, abs=same)
    # both losses add the same float32 terms but the HSIC's: a few eps of their size apart
    rounding = float_tol(torch.float32, abs(loss.item()) + abs(base.item()), 4) + 100.0 * same
    assert loss.item() - base.item() == pytest.approx(100.0 * expected, abs=rounding)


def test_with_pairs_the_hsic_reads_the_codes_before_merging():
    space = ProductSpace.parse("loop(3, 0.5) * loop(3, 0.5)")
    torch.manual_seed(0)
    model = build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16)
    pairs = torch.rand(8, 2, 1, 32, 32, generator=torch.Generator().manual_seed(7))
    objective = get_objective("product", weak="ada_gvae", hsic_weight=1.0, hsic_bandwidth=0.01)
    _, logs = objective(model, pairs, 0)
    with torch.no_grad():
        codes = torch.cat([model.codes(pairs[:, 0]), model.codes(pairs[:, 1])])
    assert logs["shared_fraction"] > 0  # some factors were merged
    # the objective calls factor_hsic on the same codes: equal but for a few float32 roundings
    expected = factor_hsic(codes, space.slices, 0.01).item()
    assert logs["hsic"] == pytest.approx(expected, abs=float_tol(torch.float32, expected, 8))
