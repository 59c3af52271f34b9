"""``loop_coverage``: the unbiased squared Fourier coefficients of loop blocks' angles, on
angle distributions whose coefficients are known; and ``product(coverage_weight)``."""

import math

import pytest
import torch
from tests.tolerances import float_tol, monte_carlo_tol

from prodvae.objectives import get_objective
from prodvae.objectives.coverage import loop_coverage
from prodvae.spaces import ProductSpace

SPACE = ProductSpace.parse("loop(3, 0.5) * segment")
N = 20_000


def codes_at(phi, radius=3.0):
    return torch.stack([radius * phi.cos(), radius * phi.sin(), torch.rand(len(phi))], dim=1)


def test_a_whole_ring_is_even_and_an_arc_is_not():
    generator = torch.Generator().manual_seed(0)
    uniform = torch.rand(N, generator=generator, dtype=torch.float64) * 2 * math.pi
    # unbiased: mean 0, standard deviation about sqrt(2) / N per term (two terms)
    assert abs(loop_coverage(codes_at(uniform), SPACE).item()) < 5 * 2 / N
    arc = torch.rand(N, generator=generator, dtype=torch.float64) * math.pi / 2
    # uniform on [0, a]: |c_k| = |sin(k a / 2) / (k a / 2)|; a = pi/2, k = 1, 2
    expected = (2 * math.sqrt(2) / math.pi) ** 2 + (2 / math.pi) ** 2
    # each |c_k|^2 estimate: standard deviation about 2 |c_k| sd(cos) / sqrt(N) <= 2 / sqrt(N)
    assert loop_coverage(codes_at(arc), SPACE).item() == pytest.approx(
        expected, abs=monte_carlo_tol(2 * 2.0, N)
    )


def test_no_loop_no_penalty_and_a_tiny_batch_is_an_error():
    space = ProductSpace.parse("segment * points(3)")
    assert loop_coverage(torch.randn(8, 2), space).item() == 0.0
    with pytest.raises(ValueError, match="at least 2 codes"):
        loop_coverage(torch.randn(1, 3), SPACE)


def test_product_adds_the_weighted_coverage_and_logs_it():
    from prodvae.models import build_vae

    torch.manual_seed(0)
    model = build_vae(SPACE, "burgess", (1, 32, 32), width=4, hidden_dim=16)
    plain = get_objective("product", anneal_steps=0)
    covered = get_objective("product", anneal_steps=0, coverage_weight=10.0)
    x = torch.rand(16, 1, 32, 32)
    torch.manual_seed(1)
    loss, logs = covered(model, x, 0)
    torch.manual_seed(1)
    base, _ = plain(model, x, 0)
    # the same terms in the same order, one more float32 addition (and the log's rounding)
    tol = float_tol(torch.float32, abs(loss.item()) + 10.0 * abs(logs["coverage"]), 4)
    assert loss.item() == pytest.approx(base.item() + 10.0 * logs["coverage"], abs=tol)
    with pytest.raises(ValueError, match="coverage_weight"):
        get_objective("product", coverage_weight=-1.0)
