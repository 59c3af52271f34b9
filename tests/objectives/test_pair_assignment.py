"""The points blocks' logits (posterior ``point_logits``) and the pair term read on them."""

import math

import pytest
import torch
from tests.tolerances import float_tol, monte_carlo_tol

from prodvae.models import build_vae, make_posterior
from prodvae.objectives import get_objective, weak
from prodvae.objectives.coverage import points_coverage
from prodvae.objectives.weak import log_sum_of_others, pair_assignment, pair_separation
from prodvae.spaces import PointSet, ProductSpace, Segment

SPACE = ProductSpace.parse("points(3) * segment * points(4)")
LOGITS = {"points": "point_logits"}


def test_the_mean_is_the_points_weighted_by_the_softmax_of_the_logits():
    family, factor = make_posterior("point_logits"), PointSet(num_points=4)
    raw = torch.tensor([[0.3, -1.2, 2.0, 0.1, -3.0], [9.0, -9.0, -9.0, -9.0, 0.5]])
    mu, logvar = family.parameters(factor, raw)
    weights = torch.exp(raw[:, :4]) / torch.exp(raw[:, :4]).sum(-1, keepdim=True)
    expected = (weights * factor.points.float()).sum(-1, keepdim=True)
    # a sum of four products of size <= 4.5
    assert torch.allclose(mu, expected, rtol=0, atol=float_tol(torch.float32, 4.5, 8))
    assert torch.equal(logvar, raw[:, 4:])
    shares = family.log_shares(factor, raw).exp()
    assert torch.allclose(shares, weights, atol=float_tol(torch.float32, 1, 8))
    # a logit that leads by 18 puts the mean at its point, to within 3 e^-18 spacings
    assert mu[1].item() == pytest.approx(-4.5, abs=3 * 3 * math.exp(-18) + 1e-6)
    # the KL is the Gaussian's to the points prior at that mean
    assert torch.equal(family.kl(factor, mu, logvar), factor.kl(mu, logvar))


def test_point_logits_serve_points_factors_only_and_start_at_the_asked_logvar():
    family = make_posterior("point_logits")
    family.check(PointSet(num_points=3))
    with pytest.raises(ValueError, match="point_logits.*points"):
        family.check(Segment())
    model = build_vae(SPACE, "burgess", (1, 32, 32), posterior=LOGITS, initial_logvar=-4, width=4)
    assert model.head_sizes == (3 + 1, 2, 4 + 1)
    bias = model.head.bias.detach().split(model.head_sizes)
    assert bias[0][3].item() == -4 and bias[2][4].item() == -4


def test_the_model_shares_each_point_logits_block_among_its_points():
    torch.manual_seed(0)
    model = build_vae(SPACE, "burgess", (1, 32, 32), posterior=LOGITS, width=4)
    x = torch.rand(5, 1, 32, 32)
    posterior, shares = model.encode_with_shares(x)
    assert sorted(shares) == [0, 2]
    assert shares[0].shape == (5, 3) and shares[2].shape == (5, 4)
    for k, p in shares.items():
        points = model.space.factors[k].points.float()
        code = model.space.split(posterior.mu)[k][:, 0]
        assert torch.allclose(code, p.exp() @ points, atol=float_tol(torch.float32, 4.5, 8))
    assert torch.equal(model.encode(x).mu, posterior.mu)
    gaussian = build_vae(SPACE, "burgess", (1, 32, 32), width=4)
    assert gaussian.encode_with_shares(x)[1] == {}


def test_assignment_is_the_cross_entropy_of_one_point_for_both_against_keeping_the_factor():
    shares = torch.tensor(
        [
            [0.5, 0.25, 0.25],  # pair 0: s = 0.5 * 0.5 + 0.25 * 0.25 + 0.25 * 0.25, kept
            [0.5, 0.5, 0.0],  # pair 1: s = 0.5 * 0.25 + 0.5 * 0.25 = 0.25, changed
            [1 / 3, 1 / 3, 1 / 3],  # pair 2: s = 1/3, kept
            [0.5, 0.25, 0.25],  # pair 0's second image
            [0.25, 0.25, 0.5],
            [0.0, 1.0, 0.0],
        ]
    )
    shared = torch.tensor([[True, True, True], [False, True, True], [True, True, True]])
    expected = (-math.log(0.375) - math.log(0.75) - math.log(1 / 3)) / 3
    tol = float_tol(torch.float32, 2.0, 16)
    assert pair_assignment({0: shares.log()}, shared).item() == pytest.approx(expected, abs=tol)
    with pytest.raises(ValueError, match=r"expected log-shares \[6, points\] for factor 0"):
        pair_assignment({0: shares[:5].log()}, shared)


@pytest.fixture(params=["table", "linear"])
def form(request, monkeypatch):
    """pair_assignment summed through its [pairs, points, points] table, or (as past
    JOINT_ELEMENTS entries) through the log-sums of the other points."""
    if request.param == "linear":
        monkeypatch.setattr(weak, "JOINT_ELEMENTS", 0)
    return request.param


@pytest.mark.parametrize("lead", [5.0, 30.0, 80.0])
def test_two_images_sure_of_one_point_cost_and_pull_apart_however_sure(lead, form):
    # both images' logits lead at point 0 by `lead`: 1 - s = 2 (K - 1) e^-lead / (1 + (K - 1)
    # e^-lead)^2 to first order, below float32's eps from lead 17 on
    k = 4
    logits = torch.zeros(2, k, dtype=torch.float64)
    logits[:, 0] = lead
    logits.requires_grad_(True)
    logp = torch.log_softmax(logits, -1)
    cost = pair_assignment({0: logp}, torch.tensor([[False]]))
    p = torch.softmax(logits.detach(), -1)
    # 1 - s summed term by term: sum over j != l of p1_j p2_l (no cancellation)
    apart = sum(p[0, j] * p[1, m] for j in range(k) for m in range(k) if j != m).item()
    assert cost.item() == pytest.approx(-math.log(apart), rel=float_tol(torch.float64, 1, 64))
    cost.backward()
    # the other points' logits are pushed up by 1/(2(K-1)) - O(e^-lead) each, not by 0
    push = -logits.grad[0, 1:]
    assert torch.allclose(
        push,
        torch.full((k - 1,), 0.5 / (k - 1), dtype=torch.float64),
        atol=k * math.exp(-lead) + 1e-12,
    )
    # kept, the same pair costs -log s, nearly nothing
    kept = pair_assignment({0: logp.detach()}, torch.tensor([[True]])).item()
    assert 0 <= kept <= 2 * (k - 1) * math.exp(-lead) * (1 + 1e-9)


def test_one_point_for_both_is_the_chance_two_independent_draws_fall_together():
    gen = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(2, 5, generator=gen), -1)
    n = 400_000
    a = torch.multinomial(p[0], n, replacement=True, generator=gen)
    b = torch.multinomial(p[1], n, replacement=True, generator=gen)
    frequency = (a == b).double().mean().item()
    same = (p[0] * p[1]).sum().item()
    # two draws falling together is a Bernoulli(s) trial: its standard deviation sqrt(s(1-s))
    shared = torch.tensor([[True]])
    cost = pair_assignment({0: p.log()}, shared).item()
    assert math.exp(-cost) == pytest.approx(same, rel=float_tol(torch.float32, 1, 16))
    assert frequency == pytest.approx(same, abs=monte_carlo_tol(math.sqrt(same * (1 - same)), n))


def with_and_without(changed, **options):
    """An untrained point-logits model's loss on random pairs by ``product`` without and with
    ``options`` (the same draws), and the log-shares of the pairs' first then second images."""
    torch.manual_seed(0)
    model = build_vae(SPACE, "burgess", (1, 32, 32), posterior=LOGITS, width=4)
    pairs = torch.rand(6, 2, 1, 32, 32)
    plain = get_objective("product", weak="ada_gvae", changed="known")
    objective = get_objective("product", weak="ada_gvae", changed="known", **options)
    objective.check_model(model)
    torch.manual_seed(1)
    base = plain(model, pairs, 10, changed=changed)
    torch.manual_seed(1)
    out = objective(model, pairs, 10, changed=changed)
    first, second = (model.encode_with_shares(pairs[:, i])[1] for i in (0, 1))
    return base, out, {k: torch.cat([first[k], second[k]]) for k in first}


def test_the_product_objective_adds_the_pairs_assignment():
    changed = torch.zeros(6, 3, dtype=torch.bool)
    changed[:3, 0] = True
    changed[3:, 2] = True
    base, out, shares = with_and_without(changed, assignment_weight=3)
    assert "assignment" not in base.logs
    expected = pair_assignment(shares, ~changed).item()
    # an untrained head shares nearly evenly: s close to 1/3 and 1/4
    assert 0.5 < expected < 2.0
    assert out.logs["assignment"] == pytest.approx(expected, rel=float_tol(torch.float32, 1, 16))
    tol = float_tol(torch.float32, abs(base.loss.item()) + 3 * expected, 64)
    assert out.loss.item() == pytest.approx(base.loss.item() + 3 * expected, abs=tol)


def test_assignment_needs_pairs_and_point_logits():
    with pytest.raises(ValueError, match="assignment_weight > 0 is read on pairs"):
        get_objective("product", assignment_weight=1.0)
    with pytest.raises(ValueError, match="assignment_weight"):
        get_objective("product", weak="ada_gvae", assignment_weight=-1.0)
    objective = get_objective("product", weak="ada_gvae", assignment_weight=1.0)
    gaussian = build_vae(SPACE, "burgess", (1, 32, 32), width=4)
    with pytest.raises(ValueError, match="factor 0 has posterior 'gaussian'.*point_logits"):
        objective.check_model(gaussian)
    # a space without points blocks asks nothing of its posteriors (one recipe for all data)
    objective.check_model(build_vae(ProductSpace.parse("loop * segment"), "burgess", (1, 32, 32)))


def test_a_pair_of_shares_learns_to_tell_values_apart_where_the_mean_cannot():
    # Two shares vectors trained by the term alone from a tie: a changed pair ends at two
    # points, a kept pair at one.
    for keep in (False, True):
        logits = torch.zeros(2, 4, requires_grad=True)
        with torch.no_grad():
            logits[0, 0] += 0.1  # break the tie
            logits[1, 1] += 0.1 if not keep else 0.0
        optimiser = torch.optim.SGD([logits], lr=1.0)
        for _ in range(200):
            optimiser.zero_grad()
            loss = pair_assignment({0: torch.log_softmax(logits, -1)}, torch.tensor([[keep]]))
            loss.backward()
            optimiser.step()
        p = torch.softmax(logits.detach(), -1)
        same = (p[0] * p[1]).sum().item()
        assert (same > 0.9) if keep else (same < 0.1)


def test_a_space_without_points_trains_as_if_neither_were_asked():
    # one recipe serves the dial (two loops) too: nothing there changes, to the last bit
    space = ProductSpace.parse("loop * segment")
    changed = torch.tensor([[True, False], [False, True], [True, False]])
    losses = []
    for posterior, options in ((None, {}), (LOGITS, {"assignment_weight": 20.0})):
        torch.manual_seed(0)
        model = build_vae(space, "burgess", (1, 32, 32), posterior=posterior, width=4)
        objective = get_objective("product", weak="ada_gvae", changed="known", **options)
        objective.check_model(model)
        torch.manual_seed(1)
        out = objective(model, torch.rand(3, 2, 1, 32, 32), 10, changed=changed)
        losses.append(out.loss.item())
        assert "assignment" not in out.logs
    assert losses[0] == losses[1]


def test_blocks_read_by_their_softmax_are_left_out_of_the_separation():
    first = torch.zeros(2, SPACE.dim)
    second = torch.zeros(2, SPACE.dim)  # every changed factor at one place: as short as can be
    codes = torch.cat([first, second])
    shared = torch.zeros(2, 3, dtype=torch.bool)
    # two points factors, each pair short of its margin on both: 1 a factor
    assert pair_separation(SPACE, codes, shared).item() == pytest.approx(2.0)
    assert pair_separation(SPACE, codes, shared, skip=(2,)).item() == pytest.approx(1.0)
    assert pair_separation(SPACE, codes, shared, skip=(0, 2)).item() == 0.0


def test_the_points_coverage_reads_a_softmax_where_it_is_given():
    space = ProductSpace.parse("points(4)")
    n, k = 8, 4
    codes = torch.zeros(n, 1)  # every mean at the centre: the kernel splits them two ways
    one_point = torch.full((n, k), -1e4)
    one_point[:, 0] = 0.0  # the softmax puts every code at point 0
    # every code at one point: K / (K - 1) (1 - 1 / K) = 1
    crowded = points_coverage(codes, space, {0: torch.log_softmax(one_point, -1)}).item()
    assert crowded == pytest.approx(1.0, abs=float_tol(torch.float32, 1, 16))
    # one code a point, in turn: the unbiased estimate -1 / (n - 1)
    even = torch.full((n, k), -1e4)
    even[torch.arange(n), torch.arange(n) % k] = 0.0
    spread = points_coverage(codes, space, {0: torch.log_softmax(even, -1)}).item()
    assert spread == pytest.approx(-1 / (n - 1), abs=float_tol(torch.float32, 1, 16))
    # without the softmax the same means read the kernel's shares
    assert points_coverage(codes, space).item() == pytest.approx(
        points_coverage(codes, space, {}).item()
    )


def test_with_the_assignment_the_separation_leaves_the_softmax_blocks_to_it():
    changed = torch.zeros(6, 3, dtype=torch.bool)
    changed[:, 0] = True
    changed[:, 2] = True
    torch.manual_seed(0)
    model = build_vae(SPACE, "burgess", (1, 32, 32), posterior=LOGITS, width=4)
    pairs = torch.rand(6, 2, 1, 32, 32)
    objective = get_objective(
        "product", weak="ada_gvae", changed="known", separation_weight=1, assignment_weight=1
    )
    out = objective(model, pairs, 10, changed=changed)
    codes = torch.cat([model.encode(pairs[:, 0]).mu, model.encode(pairs[:, 1]).mu])
    skipped = pair_separation(SPACE, codes, ~changed, skip=(0, 2)).item()
    assert out.logs["separation"] == skipped == 0.0  # both points blocks read by the softmax
    alone = get_objective("product", weak="ada_gvae", changed="known", separation_weight=1)
    assert alone(model, pairs, 10, changed=changed).logs["separation"] > 0


def test_the_log_sum_of_the_other_entries_matches_the_sum_left_out():
    gen = torch.Generator().manual_seed(0)
    logp = torch.randn(6, 7, generator=gen, dtype=torch.float64) * 20
    expected = torch.stack(
        [torch.cat([logp[:, :j], logp[:, j + 1 :]], -1).logsumexp(-1) for j in range(7)], -1
    )
    # log-sums of up to 7 terms, of size up to ~80: a few eps of that size
    tol = float_tol(torch.float64, 80.0, 16)
    assert torch.allclose(log_sum_of_others(logp), expected, rtol=0, atol=tol)
    # one entry holding nearly all the mass: the rest's log-sum, not log(1 - p) = -inf
    sure = torch.tensor([[0.0, -60.0, -70.0]], dtype=torch.float64)
    others = log_sum_of_others(sure)
    assert others[0, 0].item() == pytest.approx(math.log(math.exp(-60) + math.exp(-70)), rel=1e-12)
    assert log_sum_of_others(torch.zeros(2, 1)).eq(-torch.inf).all()


@pytest.mark.parametrize("points", [2, 4, 37])
def test_the_two_forms_give_one_cost_and_one_gradient(points, monkeypatch):
    gen = torch.Generator().manual_seed(points)
    logits = (torch.randn(2 * 50, points, generator=gen, dtype=torch.float64) * 8).requires_grad_()
    shared = torch.rand(50, 1, generator=gen) < 0.5

    def cost_and_grad(elements):
        monkeypatch.setattr(weak, "JOINT_ELEMENTS", elements)
        logits.grad = None
        cost = pair_assignment({0: torch.log_softmax(logits, -1)}, shared)
        cost.backward()
        return cost.detach(), logits.grad.clone()

    table, linear = cost_and_grad(2**40), cost_and_grad(0)
    # means of log-sums of size up to ~50: a few eps of that size, in float64
    tol = float_tol(torch.float64, 50.0, 64)
    assert torch.allclose(table[0], linear[0], rtol=0, atol=tol)
    assert torch.allclose(table[1], linear[1], rtol=0, atol=tol)


def test_many_pairs_of_many_points_fit_in_memory():
    """Every two of an orbit of 183 values (cars3d's cars), four orbits: 66,612 pairs over 183
    points, whose table would take 8.9 GB of float32; summed through the other points' log-sums,
    49 MB a tensor."""
    gen = torch.Generator().manual_seed(0)
    pairs, points = 4 * 183 * 182 // 2, 183
    logp = torch.log_softmax(torch.randn(2 * pairs, points, generator=gen), -1)
    cost = pair_assignment({0: logp}, torch.zeros(pairs, 1, dtype=torch.bool))
    # random logits: the chance two values fall together is near 1/183, so -log(1 - s) ~ 1/183
    assert 0 < cost.item() < 3 / points
