"""``segment_spread``: a hinge on the batch's standard deviation of a segment block's
positions, against known answers (exactly 0 with no gradient above the floor, the square of
the shortfall below it), and ``product(segment_spread_weight)``."""

import math

import pytest
import torch
from tests.tolerances import float_tol

from prodvae.objectives import get_objective
from prodvae.objectives.coverage import SPREAD_FLOOR, segment_spread
from prodvae.spaces import ProductSpace

SPACE = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * points(3)")


def codes_at(u: torch.Tensor) -> torch.Tensor:
    """Codes whose segment block sits at positions ``u`` (half lengths); the other blocks
    spread at random, which the hinge must not read."""
    g = torch.Generator().manual_seed(0)
    rest = torch.randn(u.shape[0], 3, generator=g, dtype=u.dtype)
    return torch.cat([rest[:, :2], 2.0 * u[:, None], rest[:, 2:]], dim=1)


def test_a_block_spread_wider_than_the_floor_costs_exactly_nothing_and_moves_nothing():
    u = torch.linspace(-1, 1, 64, dtype=torch.float64)  # deviation about 0.58
    codes = codes_at(u).requires_grad_()
    term = segment_spread(codes, SPACE)
    assert term.item() == 0.0
    term.backward()
    assert torch.equal(codes.grad, torch.zeros_like(codes))
    # just above the floor too: the hinge is exact, not a soft one
    above = codes_at(torch.tensor([-1.0, 1.0], dtype=torch.float64) * SPREAD_FLOOR * 1.001)
    assert segment_spread(above, SPACE).item() == 0.0


def test_a_shrunken_block_costs_the_square_of_its_shortfall_below_the_floor():
    """Positions ``+-a`` alternating over an even batch ``n``: the unbiased deviation is
    ``a sqrt(n / (n - 1))``, so the term is ``(1 - a sqrt(n / (n - 1)) / floor)^2``."""
    n = 10
    for a in (0.0, 0.02, 0.05, 0.09):
        u = a * torch.tensor([1.0, -1.0], dtype=torch.float64).repeat(n // 2)
        spread = a * math.sqrt(n / (n - 1))
        expected = (1 - spread / SPREAD_FLOOR) ** 2
        got = segment_spread(codes_at(u), SPACE).item()
        assert got == pytest.approx(expected, abs=float_tol(torch.float64, 1.0, 20))
    # a wider floor reads the same block as further short of it
    u = 0.05 * torch.tensor([1.0, -1.0], dtype=torch.float64).repeat(n // 2)
    wide = segment_spread(codes_at(u), SPACE, floor=0.2).item()
    expected = (1 - 0.05 * math.sqrt(n / (n - 1)) / 0.2) ** 2
    assert wide == pytest.approx(expected, abs=float_tol(torch.float64, 1.0, 20))


def test_descent_spreads_a_shrunken_block_and_a_block_at_one_point_has_a_finite_gradient():
    u = torch.linspace(-0.02, 0.03, 9, dtype=torch.float64)
    codes = codes_at(u).requires_grad_()
    segment_spread(codes, SPACE).backward()
    step = codes.detach() - 0.01 * codes.grad
    before, after = codes[:, 2].detach().std(), step[:, 2].std()
    assert after > before
    # only the segment's column moves
    others = [0, 1, 3]
    assert torch.equal(codes.grad[:, others], torch.zeros_like(codes.grad[:, others]))
    # every code at one place: the whole penalty, 1, and no 0 / 0 in its gradient
    same = codes_at(torch.full((8,), 0.3, dtype=torch.float64)).requires_grad_()
    term = segment_spread(same, SPACE)
    assert term.item() == pytest.approx(1.0, abs=float_tol(torch.float64, 1.0, 4))
    term.backward()
    assert torch.isfinite(same.grad).all()


def test_no_segment_no_penalty_and_bad_input_is_an_error():
    assert segment_spread(torch.zeros(8, 3), ProductSpace.parse("loop * points(3)")) == 0.0
    assert segment_spread(torch.zeros(8, 1), ProductSpace.parse("segment(0, 0.25)")) == 0.0
    with pytest.raises(ValueError, match="at least 2 codes"):
        segment_spread(torch.zeros(1, 4), SPACE)
    with pytest.raises(ValueError, match="floor > 0"):
        segment_spread(torch.zeros(8, 4), SPACE, floor=0.0)
    with pytest.raises(ValueError, match="segment_spread_weight"):
        get_objective("product", segment_spread_weight=-1.0)


def test_product_adds_the_weighted_spread_and_logs_it():
    from prodvae.models import build_vae

    torch.manual_seed(0)
    model = build_vae(SPACE, "burgess", (1, 32, 32), width=4, hidden_dim=16)
    x = torch.rand(16, 1, 32, 32)
    torch.manual_seed(1)
    loss, logs = get_objective("product", anneal_steps=0, segment_spread_weight=5.0)(model, x, 0)
    torch.manual_seed(1)
    base, base_logs = get_objective("product", anneal_steps=0)(model, x, 0)
    assert "segment_spread" not in base_logs
    # an untrained encoder puts every code near one place: the block is short of the floor
    spread = logs["segment_spread"]
    assert 0 < spread <= 1
    tol = float_tol(torch.float32, abs(loss.item()) + 5.0 * spread, 4)
    assert loss.item() == pytest.approx(base.item() + 5.0 * spread, abs=tol)
