"""``product(orbit_kept_weight)``: every two images of a pulled orbit as a pair that keeps
every factor but the orbit's own (``prodvae.objectives.orbit_pull.orbit_kept``)."""

import itertools
import math

import pytest
import torch
from tests.objectives.test_orbits import blob_grid, product_on
from tests.tolerances import float_tol

from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.objectives.orbit_pull import draw_orbits, orbit_kept, shares_with_running_norms
from prodvae.objectives.weak import prior_spreads
from prodvae.spaces import ProductSpace

SPACE = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * points(3)")


def test_orbit_kept_is_the_sum_over_each_orbits_pairs_written_out():
    generator = torch.Generator().manual_seed(0)
    sizes, block = (3, 5, 2), 0
    mu = torch.randn(sum(sizes), SPACE.dim, generator=generator, dtype=torch.float64)
    logits = torch.randn(sum(sizes), 3, generator=generator, dtype=torch.float64)
    shares = {2: logits.log_softmax(-1)}
    spreads = prior_spreads(SPACE)
    got = orbit_kept(SPACE, mu, shares, sizes, block, spreads).item()
    # by hand: every pair within an orbit keeps the segment (dim 2) and the points (dim 3, and
    # its softmax); the loop (dims 0 and 1) is the orbit's own factor, left free
    consistency, assignment, pairs = 0.0, 0.0, 0
    starts = [0, 3, 8]
    for start, size in zip(starts, sizes):
        for i, j in itertools.combinations(range(start, start + size), 2):
            consistency += (mu[i, 2] - mu[j, 2]).item() ** 2 / spreads[1]
            consistency += (mu[i, 3] - mu[j, 3]).item() ** 2 / spreads[2]
            assignment -= math.log((shares[2][i].exp() * shares[2][j].exp()).sum().item())
            pairs += 1
    assert pairs == 3 + 10 + 1
    expected = (consistency + assignment) / pairs
    # float64 sums of a few dozen terms of size <= ~10
    assert got == pytest.approx(expected, rel=0, abs=float_tol(torch.float64, 10, 64))


def test_orbit_kept_is_zero_when_each_orbit_keeps_the_other_blocks_and_is_sure():
    sizes = (4, 4)
    mu = torch.zeros(8, SPACE.dim)
    mu[:, :2] = torch.randn(8, 2)  # the orbits' own factor moves freely
    mu[4:, 2] = 0.7  # the second orbit elsewhere on the segment, held
    one_hot = torch.full((8, 3), -torch.inf)
    one_hot[:4, 0], one_hot[4:, 2] = 0.0, 0.0
    kept = orbit_kept(SPACE, mu, {2: one_hot}, sizes, 0, prior_spreads(SPACE))
    assert kept.item() == 0.0
    # one code of the first orbit moved along the segment costs; a split softmax costs
    moved = mu.clone()
    moved[1, 2] = 0.5
    assert orbit_kept(SPACE, moved, {2: one_hot}, sizes, 0, prior_spreads(SPACE)).item() > 0
    split = one_hot.clone()
    split[5] = torch.tensor([0.5, 0.0, 0.5]).log()
    assert orbit_kept(SPACE, mu, {2: split}, sizes, 0, prior_spreads(SPACE)).item() > 0


def test_orbits_of_one_image_make_no_pair_and_cost_nothing():
    mu = torch.randn(3, SPACE.dim)
    shares = {2: torch.randn(3, 3).log_softmax(-1)}
    kept = orbit_kept(SPACE, mu, shares, (1, 1, 1), 0, prior_spreads(SPACE))
    assert kept.item() == 0.0


def test_orbit_kept_checks_the_orbit_sizes():
    with pytest.raises(ValueError, match="orbit_kept: orbits of 7 images, got 8 codes"):
        orbit_kept(SPACE, torch.zeros(8, SPACE.dim), {}, (3, 4), 0, prior_spreads(SPACE))


def test_orbit_kept_weight_needs_the_orbit_pull():
    with pytest.raises(ValueError, match="orbit_kept_weight.*orbit_weight"):
        get_objective("product", weak="ada_gvae", changed="known", orbit_kept_weight=1.0)
    with pytest.raises(ValueError, match="orbit_kept_weight"):
        get_objective(
            "product", weak="ada_gvae", changed="known", orbit_weight=1, orbit_kept_weight=-1
        )


def test_the_pull_reads_what_its_orbits_keep_and_training_logs_it():
    dataset = blob_grid(size=32)
    objective, _ = product_on(dataset, orbit_kept_weight=3.0, orbit_draws=2)
    space = ProductSpace.parse("loop(3, 0.5) * loop(3, 0.5) * points(6, 0.5)")
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    assert sorted(objective.orbits) == [0, 1]
    torch.manual_seed(0)
    logits = {"points": "point_logits"}
    model = build_vae(space, "burgess", dataset.image_shape, width=4, posterior=logits)
    pull = objective.orbit_pull(model, step=7)
    assert pull.kept is not None and pull.kept.item() > 0
    # the same orbits' kept term by hand: each pulled block's orbits encoded, their pairs read
    generator = torch.Generator().manual_seed(objective._orbit_seed + 7)
    drawn = draw_orbits(objective.orbits, 8, generator, 2)
    assert drawn.sizes == {0: (4, 4), 1: (4, 4)}
    expected = 0.0
    for block, images in drawn.images.items():
        posterior, shares = shares_with_running_norms(model, images.float() / 255)
        spreads = prior_spreads(space)
        expected += orbit_kept(space, posterior.mu, shares, (4, 4), block, spreads).item()
    assert pull.kept.item() == pytest.approx(expected, rel=float_tol(torch.float32, 1, 64))
    pull.kept.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    # in training it is weighted into the loss and logged
    pairs = torch.rand(2, 2, 1, 32, 32)
    changed = torch.tensor([[True, False, False], [False, True, False]])
    _, logs = objective(model, pairs, 7, changed=changed)
    assert logs["orbit_kept"] == pull.kept.item()
    plain, _ = product_on(dataset, orbit_draws=2)
    plain.prepare(dataset, space, torch.Generator().manual_seed(0))
    _, plain_logs = plain(model, pairs, 7, changed=changed)
    assert "orbit_kept" not in plain_logs
