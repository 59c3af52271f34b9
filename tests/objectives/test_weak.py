import math

import pytest
import torch
from tests.tolerances import float_tol, monte_carlo_tol

from prodvae.models import Posterior, build_vae
from prodvae.objectives import get_objective
from prodvae.objectives.weak import (
    GEOMETRY_MIN_PAIRS,
    factor_kl,
    merge_pair,
    pair_consistency,
    pair_geometry,
    pair_separation,
    prior_spreads,
    shared_factors,
)
from prodvae.spaces import ProductSpace
from prodvae.spaces.base import PRIOR_SAMPLES

SPACE = ProductSpace.parse("loop(3, 0.5) * segment * points(3)")


def posteriors():
    mu1 = torch.tensor([[3.0, 0.0, 0.5, -3.0]])
    mu2 = torch.tensor([[0.0, 3.0, 0.52, -3.01]])  # only the loop really changed
    logvar1 = torch.tensor([[-2.0, -2.0, -1.0, -3.0]])
    logvar2 = torch.tensor([[-1.0, -1.0, -2.0, -3.0]])
    return Posterior(mu1, logvar1), Posterior(mu2, logvar2)


def test_factor_kl_sums_over_a_factors_dimensions():
    first, second = posteriors()
    kl = factor_kl(SPACE, first, second)
    assert kl.shape == (1, 3)
    loop = torch.distributions.Normal(first.mu[0, :2], (0.5 * first.logvar[0, :2]).exp())
    other = torch.distributions.Normal(second.mu[0, :2], (0.5 * second.logvar[0, :2]).exp())
    expected = torch.distributions.kl_divergence(loop, other).sum()
    # two float32 formulas, each a handful of roundings of terms no larger than the KL
    assert kl[0, 0].item() == pytest.approx(expected.item(), rel=float_tol(torch.float32, 1.0, 16))


def test_the_changed_factor_is_detected_and_the_rest_are_shared():
    first, second = posteriors()
    assert shared_factors(factor_kl(SPACE, first, second)).tolist() == [[False, True, True]]


def test_ada_gvae_averages_shared_factors_only():
    first, second = posteriors()
    pair = merge_pair(SPACE, first, second, "ada_gvae")
    assert torch.equal(pair.first.mu[:, :2], first.mu[:, :2])  # loop kept per image
    assert torch.equal(pair.second.mu[:, :2], second.mu[:, :2])
    assert torch.allclose(pair.first.mu[:, 2:], 0.5 * (first.mu[:, 2:] + second.mu[:, 2:]))
    var = 0.5 * (first.logvar[:, 2:].exp() + second.logvar[:, 2:].exp())
    assert torch.allclose(pair.first.logvar[:, 2:].exp(), var)


def test_ada_ml_vae_multiplies_gaussians():
    first, second = posteriors()
    pair = merge_pair(SPACE, first, second, "ada_ml_vae")
    v1, v2 = first.logvar[0, 2].exp(), second.logvar[0, 2].exp()
    var = 1 / (1 / v1 + 1 / v2)
    mean = var * (first.mu[0, 2] / v1 + second.mu[0, 2] / v2)
    few = float_tol(torch.float32, 1.0, 8)  # a few float32 operations, in another order
    assert pair.second.logvar[0, 2].exp().item() == pytest.approx(var.item(), rel=few)
    assert pair.second.mu[0, 2].item() == pytest.approx(mean.item(), rel=few)


def test_a_shared_loop_is_merged_as_a_whole_and_stays_isotropic():
    mu1 = torch.tensor([[3.0, 0.0, 0.5, -3.0]])
    mu2 = torch.tensor([[2.9, 0.1, -1.5, -3.0]])  # now the segment changed
    logvar = torch.tensor([[-2.0, -2.0, -1.0, -3.0]])
    other = torch.tensor([[-1.0, -1.0, -1.0, -3.0]])
    pair = merge_pair(SPACE, Posterior(mu1, logvar), Posterior(mu2, other), "ada_gvae")
    assert pair.shared.tolist() == [[True, False, True]]
    assert pair.first.logvar[0, 0] == pair.first.logvar[0, 1]
    assert torch.allclose(pair.first.mu[0, :2], torch.tensor([2.95, 0.05]))


@pytest.mark.parametrize("name", ["ada_gvae", "ada_ml_vae"])
def test_weak_objectives_train_on_pairs(name):
    torch.manual_seed(0)
    model = build_vae(SPACE, "burgess", (1, 32, 32), width=4)
    objective = get_objective(name)
    assert objective.needs_pairs and not objective.needs_labels
    loss, logs = objective(model, torch.rand(4, 2, 1, 32, 32), 0)
    assert loss.dim() == 0 and math.isfinite(loss.item())
    assert 0.0 <= logs["shared_fraction"] <= 1.0


def test_weak_supervision_is_an_option_of_the_product_objective():
    objective = get_objective("product", weak="ada_gvae")
    assert objective.needs_pairs


def test_known_changes_decide_what_is_shared_whatever_the_posteriors_say():
    first, second = posteriors()  # the KL rule would share the segment and the points
    changed = torch.tensor([[False, True, False]])  # the data: only the segment changed
    pair = merge_pair(SPACE, first, second, "ada_gvae", changed)
    assert pair.shared.tolist() == [[True, False, True]]
    assert torch.equal(pair.first.mu[:, 2], first.mu[:, 2])  # the segment kept per image
    assert torch.equal(pair.second.mu[:, 2], second.mu[:, 2])
    assert torch.allclose(pair.first.mu[:, :2], 0.5 * (first.mu[:, :2] + second.mu[:, :2]))
    assert torch.equal(pair.first.mu[:, 3], pair.second.mu[:, 3])


def test_known_changes_need_one_latent_factor_per_ground_truth_factor():
    first, second = posteriors()
    with pytest.raises(ValueError, match="the data has 2 factors, the space 3"):
        merge_pair(SPACE, first, second, "ada_gvae", torch.tensor([[True, False]]))
    with pytest.raises(ValueError, match=r"expected bool \[1, factors\] for 1 pairs"):
        merge_pair(SPACE, first, second, "ada_gvae", torch.zeros(2, 3, dtype=torch.bool))


def test_the_changed_option_is_checked():
    objective = get_objective("product", weak="ada_gvae", changed="known")
    assert objective.options.changed == "known" and objective.needs_pairs
    with pytest.raises(ValueError, match="changed known needs pairs"):
        get_objective("product", changed="known")
    with pytest.raises(ValueError, match="changed"):
        get_objective("product", weak="ada_gvae", changed="guessed")
    model = build_vae(SPACE, "burgess", (1, 32, 32), width=4)
    pairs = torch.rand(4, 2, 1, 32, 32)
    with pytest.raises(ValueError, match="needs each pair's changed factors"):
        objective(model, pairs, 0)
    changed = torch.zeros(4, 3, dtype=torch.bool)
    changed[:, 1] = True
    two_thirds = torch.tensor(2 / 3).item()  # the float32 mean of the shared flags, exact
    assert objective(model, pairs, 0, changed=changed).logs["shared_fraction"] == two_thirds


def test_consistency_is_nil_when_shared_blocks_agree_whatever_the_changed_ones_do():
    first, second = posteriors()
    codes = torch.cat([first.mu, first.mu.clone()])
    codes[1, :2] = torch.tensor([-3.0, 0.0])  # only the loop moves
    shared = torch.tensor([[False, True, True]])
    assert pair_consistency(SPACE, codes, shared).item() == 0.0


def test_consistency_counts_each_shared_block_in_units_of_its_priors_spread():
    first, _ = posteriors()
    second = first.mu.clone()
    second[0, 2] += 0.5  # the segment moves by 0.5
    codes = torch.cat([first.mu, second])
    spreads = prior_spreads(SPACE)
    moved = pair_consistency(SPACE, codes, torch.tensor([[True, True, True]]), spreads)
    assert moved.item() == pytest.approx(0.25 / spreads[1], rel=float_tol(torch.float32, 1.0, 4))
    kept = pair_consistency(SPACE, codes, torch.tensor([[True, False, True]]), spreads)
    assert kept.item() == 0.0  # the pair changes the segment: its move is not counted


def test_consistency_of_independent_prior_draws_is_two_per_block():
    # E||z1 - z2||^2 = 2 E||z - E z||^2 for independent draws: 2 per shared block
    n = 200_000
    draws = SPACE.sample(2 * n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    spreads = prior_spreads(SPACE)
    for k, s in enumerate(SPACE.slices):
        shared = torch.zeros(n, SPACE.num_factors, dtype=torch.bool)
        shared[:, k] = True
        moved = pair_consistency(SPACE, draws, shared, spreads).item()
        per_pair = (draws[:n, s] - draws[n:, s]).pow(2).sum(-1) / spreads[k]
        from_centre = (draws[:, s] - draws[:, s].mean(0)).pow(2).sum(-1) / spreads[k]
        # this mean's standard error, and twice that of the spread it is divided by
        # (PRIOR_SAMPLES draws of another generator)
        tol = monte_carlo_tol(per_pair.std().item(), n) + 2 * monte_carlo_tol(
            from_centre.std().item(), PRIOR_SAMPLES
        )
        assert abs(moved - 2.0) < tol, (k, moved, tol)


def test_consistency_checks_its_shapes():
    codes = torch.zeros(4, SPACE.dim)
    with pytest.raises(ValueError, match=r"expected codes \[2, 4\] for 1 pairs"):
        pair_consistency(SPACE, codes, torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"expected shared \[2, 3\]"):
        pair_consistency(SPACE, codes, torch.ones(2, 2, dtype=torch.bool))


def with_and_without(changed, **options):
    """An untrained model's loss on random pairs with ``changed``, by ``product`` without and
    with ``options`` (the same draws), the encoder's means of the pairs' first images then
    second images, and those images."""
    torch.manual_seed(0)
    model = build_vae(SPACE, "burgess", (1, 32, 32), width=4)
    pairs = torch.rand(4, 2, 1, 32, 32)
    plain = get_objective("product", weak="ada_gvae", changed="known")
    objective = get_objective("product", weak="ada_gvae", changed="known", **options)
    torch.manual_seed(1)
    base = plain(model, pairs, 10, changed=changed)
    torch.manual_seed(1)
    out = objective(model, pairs, 10, changed=changed)
    codes = torch.cat([model.encode(pairs[:, 0]).mu, model.encode(pairs[:, 1]).mu])
    return base, out, codes, torch.cat([pairs[:, 0], pairs[:, 1]])


def test_the_product_objective_penalises_shared_blocks_that_move():
    changed = torch.zeros(4, 3, dtype=torch.bool)
    changed[:, 0] = True
    base, out, codes, _ = with_and_without(changed, consistency_weight=3)
    assert "consistency" not in base.logs and out.logs["consistency"] > 0
    expected = pair_consistency(SPACE, codes, ~changed)
    tol = float_tol(torch.float32, abs(base.loss.item()) + 3 * expected.item(), 64)
    # the same encoder on the same images: equal up to the roundings of the sum over blocks
    assert out.logs["consistency"] == pytest.approx(
        expected.item(), rel=float_tol(torch.float32, 1.0, 16)
    )
    assert out.loss.item() == pytest.approx(base.loss.item() + 3 * expected.item(), abs=tol)
    with pytest.raises(ValueError, match="consistency_weight"):
        get_objective("product", weak="ada_gvae", consistency_weight=-1)


def test_separation_counts_how_far_short_of_the_next_point_a_changed_points_factor_falls():
    # SPACE's points(3) factor: spacing 3, the last column
    first = torch.tensor([[3.0, 0.0, 0.5, -3.0], [3.0, 0.0, 0.5, -3.0], [3.0, 0.0, 0.5, -3.0]])
    second = first.clone()
    second[0, 3] = -3.0  # the same point: as short as can be (1)
    second[1, 3] = -1.5  # half-way to the next point: (1/2)^2
    second[2, 3] = 0.0  # at the next point: 0
    second[:, :3] += 5.0  # the other factors move as they like: not counted
    codes = torch.cat([first, second])
    changed = torch.tensor([[False, False, True]]).expand(3, 3)
    expected = (1.0 + 0.25 + 0.0) / 3
    tol = float_tol(torch.float32, 1.0, 8)
    assert pair_separation(SPACE, codes, ~changed).item() == pytest.approx(expected, abs=tol)
    # a pair that keeps the points factor asks nothing of it
    assert pair_separation(SPACE, codes, torch.ones(3, 3, dtype=torch.bool)).item() == 0.0
    segments = ProductSpace.parse("segment * segment")
    assert pair_separation(segments, torch.zeros(6, 2), torch.zeros(3, 2, dtype=torch.bool)) == 0
    with pytest.raises(ValueError, match=r"expected codes \[6, 4\] for 3 pairs"):
        pair_separation(SPACE, codes[:5], ~changed)
    with pytest.raises(ValueError, match=r"expected shared \[3, 3\]"):
        pair_separation(SPACE, codes, torch.ones(3, 2, dtype=torch.bool))


def test_the_product_objective_pushes_changed_points_apart():
    changed = torch.zeros(4, 3, dtype=torch.bool)
    changed[:, 2] = True  # every pair changes the points factor
    base, out, codes, _ = with_and_without(changed, separation_weight=2)
    expected = pair_separation(SPACE, codes, ~changed).item()
    assert expected > 0  # an untrained encoder puts random images within a spacing
    assert out.logs["separation"] == pytest.approx(expected, rel=float_tol(torch.float32, 1, 16))
    tol = float_tol(torch.float32, abs(base.loss.item()) + 2 * expected, 64)
    assert out.loss.item() == pytest.approx(base.loss.item() + 2 * expected, abs=tol)
    with pytest.raises(ValueError, match="separation_weight"):
        get_objective("product", weak="ada_gvae", separation_weight=float("nan"))


def ring_codes(angles, radii) -> torch.Tensor:
    """Rows of SPACE's codes whose loop (radius 3) sits at ``angles`` and ``radii``, the
    segment and points factors at 0."""
    angles, radii = torch.as_tensor(angles, dtype=torch.float64), torch.as_tensor(radii)
    codes = torch.zeros(len(angles), SPACE.dim, dtype=torch.float64)
    codes[:, 0], codes[:, 1] = radii * torch.cos(angles), radii * torch.sin(angles)
    return codes.float()


def test_separation_counts_how_far_short_of_a_fraction_of_a_turn_a_changed_ring_falls():
    fraction = 1 / 12
    margin = 2 * 3.0 * math.sin(math.pi * fraction)  # SPACE's loop: radius 3
    first = ring_codes([0.5, 0.5, 0.5, 0.5], [3.0, 3.0, 3.0, 3.0])
    turn = 2 * math.pi * fraction
    # the same angle at another radius (radii are left out); half the margin's angle; the
    # margin's angle; the opposite point
    second = ring_codes([0.5, 0.5 + turn / 2, 0.5 + turn, 0.5 + math.pi], [1.0, 5.0, 3.0, 2.0])
    second[:, 2:] += 4.0  # the segment and points factors move as they like: not counted
    changed = torch.tensor([[True, False, False]]).expand(4, 3)
    half = 2 * 3.0 * math.sin(turn / 4)  # the chord of half the margin's angle
    expected = (1.0 + ((margin - half) / margin) ** 2 + 0.0 + 0.0) / 4
    codes = torch.cat([first, second])
    separation = pair_separation(SPACE, codes, ~changed, ring_turn=fraction).item()
    # float32 codes of size 3 through a projection (atan2, cos, sin) and a chord
    assert separation == pytest.approx(expected, abs=float_tol(torch.float32, 3 / margin, 32))
    kept = torch.ones(4, 3, dtype=torch.bool)
    assert pair_separation(SPACE, codes, kept, ring_turn=fraction).item() == 0.0
    assert pair_separation(SPACE, codes, ~changed).item() == 0.0  # rings only when asked


def test_the_product_objective_pushes_changed_rings_apart_when_asked():
    changed = torch.zeros(4, 3, dtype=torch.bool)
    changed[:, 0] = True  # every pair changes the loop
    _, plain, codes, _ = with_and_without(changed, separation_weight=2)
    _, rings, _, _ = with_and_without(changed, separation_weight=2, ring_separation=0.25)
    assert plain.logs["separation"] == 0.0  # the loop is left out by default
    expected = pair_separation(SPACE, codes, ~changed, ring_turn=0.25).item()
    assert expected > 0  # an untrained encoder puts random images within a quarter turn
    assert rings.logs["separation"] == pytest.approx(expected, rel=float_tol(torch.float32, 1, 64))
    for bad in (-0.1, 0.6, float("nan")):
        with pytest.raises(ValueError, match="ring_separation"):
            get_objective("product", weak="ada_gvae", ring_separation=bad)


def pairs_of_images(n, seed=0):
    """``n`` pairs of random 1x4x4 images: the first images, then the second."""
    return torch.rand(2 * n, 1, 4, 4, generator=torch.Generator().manual_seed(seed))


def relative_distances(images):
    n = images.shape[0] // 2
    x1, x2 = images[:n].flatten(1).double(), images[n:].flatten(1).double()
    return (x1 - x2).norm(dim=1) / (x1.pow(2).sum(1) + x2.pow(2).sum(1)).sqrt()


def test_geometry_is_one_minus_the_correlation_of_ring_chords_and_image_distances():
    n = 12
    images = pairs_of_images(n)
    g = torch.Generator().manual_seed(1)
    angles, radii = 7 * torch.rand(2 * n, generator=g), 2 + 2 * torch.rand(2 * n, generator=g)
    codes = ring_codes(angles, radii)
    changed = torch.zeros(n, 3, dtype=torch.bool)
    changed[:9, 0] = True  # the last three pairs keep the loop: left out
    chords = 2 * 3.0 * (torch.sin((angles[:n] - angles[n:]) / 2)).abs().double()
    read = torch.stack([chords, relative_distances(images)])[:, :9]
    expected = 1 - float(torch.corrcoef(read)[0, 1])
    geometry = pair_geometry(SPACE, codes, ~changed, images).item()
    # float32 throughout: n terms of size 1 in each of the correlation's three sums
    assert geometry == pytest.approx(expected, abs=float_tol(torch.float32, 1.0, 16 * n))


def test_geometry_is_nil_when_the_chord_follows_the_images_and_two_when_it_runs_against_them():
    n = 8
    images = pairs_of_images(n, seed=2)
    apart = relative_distances(images)
    # angles whose chord on the ring of radius 3 is exactly 3 * apart (apart < sqrt 2 < 2)
    gap = 2 * torch.asin(apart / 2)
    changed = torch.zeros(n, 3, dtype=torch.bool)
    changed[:, 0] = True
    start = torch.linspace(0, 6, n, dtype=torch.float64)
    follows = ring_codes(torch.cat([start, start + gap]), [3.0] * (2 * n))
    tol = float_tol(torch.float32, 1.0, 16 * n)
    assert pair_geometry(SPACE, follows, ~changed, images).item() == pytest.approx(0, abs=tol)
    against = 2 * torch.asin((apart.max() + apart.min() - apart) / 2)  # the chord falls
    reversed_ = ring_codes(torch.cat([start, start + against]), [3.0] * (2 * n))
    assert pair_geometry(SPACE, reversed_, ~changed, images).item() == pytest.approx(2, abs=tol)
    # pairs that keep the loop, too few pairs, and factors that are not rings count nothing
    assert pair_geometry(SPACE, follows, torch.ones(n, 3, dtype=torch.bool), images) == 0
    few = GEOMETRY_MIN_PAIRS - 1
    some = changed.clone()
    some[few:, 0] = False
    assert pair_geometry(SPACE, follows, ~some, images) == 0
    segments = ProductSpace.parse("segment * segment")
    none_shared = torch.zeros(n, 2, dtype=torch.bool)
    assert pair_geometry(segments, torch.rand(2 * n, 2), none_shared, images) == 0
    with pytest.raises(ValueError, match=r"expected images \[16, ...\] for 8 pairs"):
        pair_geometry(SPACE, follows, ~changed, images[:15])


def test_the_product_objective_orders_changed_rings_by_their_images():
    changed = torch.zeros(4, 3, dtype=torch.bool)
    changed[:, 0] = True  # every pair changes the loop
    base, out, codes, images = with_and_without(changed, geometry_weight=2)
    expected = pair_geometry(SPACE, codes, ~changed, images).item()
    assert out.logs["geometry"] == pytest.approx(expected, rel=float_tol(torch.float32, 1, 64))
    tol = float_tol(torch.float32, abs(base.loss.item()) + 2 * expected, 64)
    assert out.loss.item() == pytest.approx(base.loss.item() + 2 * expected, abs=tol)
    with pytest.raises(ValueError, match="geometry_weight"):
        get_objective("product", weak="ada_gvae", geometry_weight=-1.0)


def test_ring_terms_have_finite_gradients_where_two_codes_meet_on_the_ring():
    # a block sitting at one angle: both codes project to the same point of the ring
    codes = ring_codes([0.5, 0.5, 0.5, 0.5], [3.0, 2.0, 3.0, 2.0]).requires_grad_()
    changed = torch.tensor([[True, False, False]]).expand(2, 3)
    separation = pair_separation(SPACE, codes, ~changed, ring_turn=1 / 12)
    assert separation.item() == 1.0  # the two codes of each pair coincide on the ring
    (grad,) = torch.autograd.grad(separation, codes)
    assert torch.isfinite(grad).all()
    images = pairs_of_images(GEOMETRY_MIN_PAIRS)
    many = ring_codes([0.5] * 8, [3.0] * 8).requires_grad_()
    shared = torch.tensor([[False, True, True]]).expand(GEOMETRY_MIN_PAIRS, 3)
    (grad,) = torch.autograd.grad(pair_geometry(SPACE, many, shared, images), many)
    assert torch.isfinite(grad).all()


def test_pair_terms_that_would_do_nothing_are_refused():
    with pytest.raises(ValueError, match="ring_separation > 0 needs separation_weight"):
        get_objective("product", weak="ada_gvae", ring_separation=0.1)
    for key in ("consistency_weight", "separation_weight", "geometry_weight"):
        with pytest.raises(ValueError, match=f"{key} > 0 is read on pairs"):
            get_objective("product", **{key: 1.0})
