"""``loop_coverage``: the unbiased squared Fourier coefficients of loop blocks' angles, on
angle distributions whose coefficients are known; ``points_coverage``: how unevenly a points
block's codes fill its points, against the population's shares; ``segment_coverage``: the
unbiased squared cosine coefficients of segment blocks' positions, likewise; and
``product(coverage_weight)``."""

import math

import pytest
import torch
from tests.tolerances import float_tol, monte_carlo_tol

from prodvae.objectives import get_objective
from prodvae.objectives.coverage import loop_coverage, points_coverage, segment_coverage
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


SEGMENT = ProductSpace.parse("points(3) * segment(2, 0.25)")


def along(u):
    """Codes at positions ``u`` (in units of the half length) along SEGMENT's segment."""
    return torch.stack([torch.zeros_like(u), 2.0 * u], dim=1)


def test_a_whole_segment_is_even_and_a_part_of_it_is_not():
    """``c_k = E cos(k pi (u + 1) / 2)``: 0 for ``u`` uniform on the segment; for ``u`` uniform
    on ``[a, b]``, ``c_k = 2 (sin(k pi (b + 1) / 2) - sin(k pi (a + 1) / 2)) / (k pi (b - a))``."""
    generator = torch.Generator().manual_seed(0)

    def uniform(a, b):
        return a + (b - a) * torch.rand(N, generator=generator, dtype=torch.float64)

    def expected(a, b):
        return sum(
            (
                2
                * (math.sin(k * math.pi * (b + 1) / 2) - math.sin(k * math.pi * (a + 1) / 2))
                / (k * math.pi * (b - a))
            )
            ** 2
            for k in (1, 2)
        )

    # unbiased: mean 0, standard deviation about sqrt(2) / N per term (two terms)
    assert abs(segment_coverage(along(uniform(-1, 1)), SEGMENT).item()) < 5 * 2 / N
    for a, b in [(0.0, 1.0), (-1 / 3, 1 / 3), (-1.0, -0.5)]:
        # each c_k^2 estimate: standard deviation about 2 |c_k| sd(cos) / sqrt(N) <= 2 / sqrt(N)
        assert segment_coverage(along(uniform(a, b)), SEGMENT).item() == pytest.approx(
            expected(a, b), abs=monte_carlo_tol(2 * 2.0, N)
        )
    # every code at the centre: c_1 = 0, c_2 = -1; at an end: c_1 = c_2 = 1
    centre = along(torch.zeros(8, dtype=torch.float64))
    assert segment_coverage(centre, SEGMENT).item() == pytest.approx(1.0, abs=1e-12)
    end = along(-torch.ones(8, dtype=torch.float64))
    assert segment_coverage(end, SEGMENT).item() == pytest.approx(2.0, abs=1e-12)


def test_a_shrunken_segment_block_is_pushed_to_spread_along_it():
    u = torch.linspace(-0.1, 0.1, 9, dtype=torch.float64, requires_grad=True)
    segment_coverage(along(u), SEGMENT).backward()
    assert u.grad is not None
    # descent moves every code but the middle one away from the centre
    outward = -u.grad * u.detach().sign()
    assert (outward[u.detach() != 0] > 0).all()


def test_no_segment_no_penalty_and_a_tiny_batch_is_an_error():
    assert segment_coverage(torch.randn(8, 3), ProductSpace.parse("loop * points(3)")) == 0.0
    assert segment_coverage(torch.randn(8, 1), ProductSpace.parse("segment(0, 0.25)")) == 0.0
    with pytest.raises(ValueError, match="at least 2 codes"):
        segment_coverage(torch.randn(1, 2), SEGMENT)


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


def test_segment_coverage_weight_adds_the_segments_coverage_apart_from_coverage_weight(
    monkeypatch,
):
    from prodvae.models import build_vae
    from prodvae.objectives import product

    seen = {}

    def recorded(name):
        real = getattr(product, name)

        def record(codes, space, *rest):
            seen[name] = (codes.detach().clone(), real(codes, space, *rest))
            return seen[name][1]

        return record

    for name in ("loop_coverage", "points_coverage", "segment_coverage"):
        monkeypatch.setattr(product, name, recorded(name))
    space = ProductSpace.parse("loop(3, 0.5) * points(3) * segment(2, 0.25)")
    torch.manual_seed(0)
    model = build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16)
    x = torch.rand(16, 1, 32, 32)
    both = get_objective(
        "product", anneal_steps=0, coverage_weight=10.0, segment_coverage_weight=5.0
    )
    torch.manual_seed(1)
    loss, logs = both(model, x, 0)
    assert set(seen) == {"loop_coverage", "points_coverage", "segment_coverage"}
    codes = seen["segment_coverage"][0]
    assert all(torch.equal(c, codes) for c, _ in seen.values())  # the same codes
    # an untrained encoder puts every code near one place: about 1 (0 spread evenly)
    segment = seen["segment_coverage"][1].item()
    assert segment > 0.5
    tol = float_tol(torch.float32, 3.0, 4)
    loops_and_points = seen["loop_coverage"][1].item() + seen["points_coverage"][1].item()
    assert logs["coverage"] == pytest.approx(loops_and_points, abs=tol)
    assert logs["segment_coverage"] == pytest.approx(segment, abs=tol)
    torch.manual_seed(1)
    base, _ = get_objective("product", anneal_steps=0, coverage_weight=10.0)(model, x, 0)
    tol = float_tol(torch.float32, abs(loss.item()) + 5.0 * segment, 4)
    assert loss.item() == pytest.approx(base.item() + 5.0 * segment, abs=tol)
    with pytest.raises(ValueError, match="segment_coverage_weight"):
        get_objective("product", segment_coverage_weight=-1.0)


POINTS = ProductSpace.parse("points(4, 3.0, 0.5) * segment")


def test_points_coverage_estimates_the_populations_uneven_shares_without_bias():
    """Codes at the first two wells with probabilities 0.7 and 0.3: each code's shares are a
    softmax of its squared distances to the wells in units of half a spacing, so the
    population's share of well j is ``q_j = 0.7 s_j(c_0) + 0.3 s_j(c_1)``, and the penalty
    ``K / (K - 1) (sum_j q_j^2 - 1 / K)``."""
    factor = POINTS.factors[0]
    centres = factor.points
    generator = torch.Generator().manual_seed(0)
    at = torch.where(torch.rand(N, generator=generator) < 0.7, 0, 1)
    codes = torch.stack([centres[at], torch.rand(N, dtype=torch.float64)], dim=1)

    def shares(c):
        return torch.softmax(-((c - centres) ** 2) / (2 * (factor.spacing / 2) ** 2), dim=0)

    q = 0.7 * shares(centres[0]) + 0.3 * shares(centres[1])
    expected = 4 / 3 * (q.pow(2).sum() - 1 / 4)
    # each q_j^2 estimate: standard deviation about 2 q_j sd(p_j) / sqrt(N), and
    # sum_j q_j sd(p_j) <= 1: the sum within 4/3 * 2 / sqrt(N) per standard deviation
    tol = monte_carlo_tol(4 / 3 * 2, N)
    assert points_coverage(codes, POINTS).item() == pytest.approx(expected.item(), abs=tol)
    assert tol < expected.item() / 3
    # every well alike (drawn independently): the kernel's leak of shares only, 5e-5
    even_q = torch.stack([shares(c) for c in centres]).mean(0)
    even_expected = 4 / 3 * (even_q.pow(2).sum() - 1 / 4)
    assert 0 < even_expected.item() < 1e-4
    drawn = centres[torch.randint(4, (N,), generator=generator)]
    even = torch.stack([drawn, torch.zeros(N, dtype=torch.float64)], dim=1)
    assert points_coverage(even, POINTS).item() == pytest.approx(even_expected.item(), abs=tol)


def test_points_coverage_is_unbiased_in_small_batches():
    """Batches of 4 codes: the plain plug-in ``sum_j (mean_i p_ij)^2`` is biased up by
    ``sum_j var(p_j) / n`` (0.44 against 0.36 here); the estimate is not."""
    factor = POINTS.factors[0]
    centres = factor.points
    generator = torch.Generator().manual_seed(1)
    batches = 8000
    at = torch.where(torch.rand(batches, 4, generator=generator) < 0.7, 0, 1)
    values = torch.tensor(
        [
            points_coverage(
                torch.stack([centres[a], torch.zeros(4, dtype=torch.float64)], 1), POINTS
            )
            for a in at
        ]
    )
    shares = torch.softmax(-((centres[:, None] - centres) ** 2) / (2 * 1.5**2), dim=1)
    q = 0.7 * shares[0] + 0.3 * shares[1]
    expected = 4 / 3 * (q.pow(2).sum() - 1 / 4)
    tol = 5 * values.std().item() / math.sqrt(batches)
    assert values.mean().item() == pytest.approx(expected.item(), abs=tol)
    plug_in = torch.stack(
        [4 / 3 * ((shares[a].mean(0)).pow(2).sum() - 1 / 4) for a in at[:1000]]
    ).mean()
    assert plug_in.item() - expected.item() > 5 * tol  # the bias the estimate removes


def test_points_coverage_moves_codes_towards_an_empty_point():
    """Orbit's shapes on seed 1 of the recipe at 34af0e1: two astride the first well, the last
    well empty. The gradient pushes every code to the right, toward the empty well."""
    codes = torch.tensor([-5.11, -3.77, -1.44, 1.39]).repeat(16)
    codes = torch.stack([codes, torch.zeros_like(codes)], dim=1).requires_grad_()
    points_coverage(codes, POINTS).backward()
    assert (codes.grad[:, 0] < 0).all()  # descending the penalty moves each code right
    assert codes.grad[:, 1].abs().max() == 0  # the segment is left alone
    assert points_coverage(torch.randn(8, 3), SPACE).item() == 0.0  # no points: nothing
    with pytest.raises(ValueError, match="at least 2 codes"):
        points_coverage(torch.randn(1, 2), POINTS)
