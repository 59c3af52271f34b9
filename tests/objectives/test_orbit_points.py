"""``product(orbit_points_weight)``: a points block's codes spread over its points within an
orbit (``prodvae.objectives.orbit_pull``)."""

import itertools
import math

import numpy as np
import pytest
import torch
from tests.tolerances import float_tol

from prodvae.data import ArrayDataset, FactorSpec
from prodvae.data.grid import FactorGrid
from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.objectives.orbit_pull import orbit_apart, orbit_overlap, orbit_points
from prodvae.spaces import ProductSpace


def points_grid(sizes: tuple[int, int] = (4, 5)) -> ArrayDataset:
    """A grid: a bar at one of ``sizes[0]`` heights (points) and ``sizes[1]`` widths."""
    cells = np.stack(np.meshgrid(*(np.arange(s) for s in sizes), indexing="ij"), -1)
    cells = cells.reshape(-1, 2)
    pixels = np.zeros((len(cells), 32, 32), dtype=np.uint8)
    for row, (height, width) in enumerate(cells):
        pixels[row, 4 + 6 * height : 8 + 6 * height, 2 : 8 + 4 * width] = 255
    spec = (
        FactorSpec("height", "points", tuple(range(sizes[0]))),
        FactorSpec("width", "segment", tuple(np.linspace(0, 1, sizes[1]))),
    )
    return ArrayDataset(pixels, cells.astype(np.float64), spec, FactorGrid(sizes))


def test_the_overlap_is_small_for_distinct_points_and_grows_as_values_crowd():
    factor = ProductSpace.parse("points(4, 0.5)").factors[0]
    at = factor.points
    overlap = {
        name: orbit_overlap(at[idx].view(1, 4, 1), factor).item()
        for name, idx in {
            "apart": [0, 1, 2, 3],
            "reversed": [3, 2, 1, 0],
            "two share an end": [0, 0, 2, 3],
            "two share a middle": [1, 1, 2, 3],
            "all at one": [0, 0, 0, 0],
        }.items()
    }
    assert overlap["apart"] == pytest.approx(overlap["reversed"]) and overlap["apart"] < 1e-3
    assert 0.4 < overlap["two share a middle"] < overlap["two share an end"] < 0.7
    assert overlap["all at one"] > 6
    # orbits are averaged: one apart and one crowded give half the crowded one's
    both = orbit_overlap(torch.stack([at[[0, 1, 2, 3]], at[[0, 0, 2, 3]]])[..., None], factor)
    expected = (overlap["apart"] + overlap["two share an end"]) / 2
    assert both.item() == pytest.approx(expected, rel=1e-12)


def test_the_overlap_moves_a_crowded_code_toward_the_empty_point():
    factor = ProductSpace.parse("points(4, 0.5)").factors[0]
    at = factor.points
    codes = at[[0, 0, 2, 3]].clone().view(1, 4, 1).requires_grad_()
    codes.data[0, 1] += 0.05  # the second a little toward point 1, which nothing holds
    orbit_overlap(codes, factor).backward()
    # descent moves both out of the crowded end toward point 1, the nearer one the faster
    assert codes.grad[0, 1, 0] < codes.grad[0, 0, 0] < 0
    assert codes.grad[0, 2:].abs().max() < 0.1 * codes.grad[0, 1].abs()  # the rest stay


def test_orbit_points_picks_points_blocks_of_points_factors(caplog):
    dataset = points_grid()
    space = ProductSpace.parse("points(4, 0.5) * segment(2, 0.25)")
    assert orbit_points(dataset, space, [0, 1]) == {0: 0}
    few = ProductSpace.parse("points(3, 0.5) * segment(2, 0.25)")  # 4 values, 3 points
    with caplog.at_level("WARNING"):
        assert orbit_points(dataset, few, [0, 1]) == {}
    assert "points block 0 (3 points) is not spread: height is a points of 4 values" in (
        caplog.text
    )


def test_orbit_spread_reads_whole_orbits_and_reaches_the_encoder(monkeypatch):
    dataset = points_grid()
    space = ProductSpace.parse("points(4, 0.5) * segment(2, 0.25)")
    objective = get_objective(
        "product", weak="ada_gvae", changed="known", orbit_points_weight=1.0, orbit_draws=3
    )
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    assert objective.orbit_points == {0: 0} and objective.orbits == {}
    model = build_vae(space, "burgess", dataset.image_shape, width=4)
    drawn = []
    render = dataset.images_from_factors
    monkeypatch.setattr(dataset, "images_from_factors", lambda c: drawn.append(c) or render(c))
    spread = objective.orbit_spread(model, step=5)
    (cells,) = drawn
    orbits = cells.view(3, 4, 2)
    assert torch.equal(orbits[:, :, 0], torch.arange(4).repeat(3, 1))  # every height
    assert bool((orbits[:, :, 1] == orbits[:, :1, 1]).all())  # the width held
    assert objective.orbit_spread(model, step=5).item() == spread.item()
    spread.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    # in training, from orbit_start on, logged
    pairs = torch.rand(2, 2, 1, 32, 32)
    changed = torch.tensor([[True, False], [False, True]])
    _, logs = objective(model, pairs, 0, changed=changed)
    assert "orbits" not in logs
    assert logs["orbit_spread"] == pytest.approx(objective.orbit_spread(model, 0).item())


@pytest.mark.parametrize(("draws", "points_draws", "expected"), [(3, 0, 3), (1, 5, 5)])
def test_orbit_points_draws_sets_how_many_orbits_are_spread(
    monkeypatch, draws, points_draws, expected
):
    dataset = points_grid()
    space = ProductSpace.parse("points(4, 0.5) * segment(2, 0.25)")
    objective = get_objective(
        "product",
        weak="ada_gvae",
        changed="known",
        orbit_points_weight=1.0,
        orbit_draws=draws,
        orbit_points_draws=points_draws,
    )
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    model = build_vae(space, "burgess", dataset.image_shape, width=4)
    drawn = []
    render = dataset.images_from_factors
    monkeypatch.setattr(dataset, "images_from_factors", lambda c: drawn.append(c) or render(c))
    objective.orbit_spread(model, step=2)
    assert drawn[0].shape == (expected * 4, 2)  # that many orbits of the four heights


def test_orbit_points_draws_must_be_a_count():
    with pytest.raises(ValueError, match="orbit_points_draws"):
        get_objective("product", weak="ada_gvae", changed="known", orbit_points_draws=-1)


def test_orbit_points_weight_needs_changed_known():
    with pytest.raises(ValueError, match="orbit_points_weight.*changed: known"):
        get_objective("product", weak="ada_gvae", orbit_points_weight=1.0)


def test_orbits_of_a_point_logits_block_pull_every_two_values_apart():
    torch.manual_seed(0)
    log_shares = torch.log_softmax(torch.randn(3, 4, 4, dtype=torch.float64), -1)
    # every two values of an orbit, as a pair that changes the factor: -log(1 - p_i . p_j)
    costs = [
        -math.log(1 - float(log_shares[o, i].exp() @ log_shares[o, j].exp()))
        for o in range(3)
        for i, j in itertools.combinations(range(4), 2)
    ]
    expected = sum(costs) / len(costs)
    assert orbit_apart(log_shares, 1).item() == pytest.approx(expected, rel=1e-12)
    # orbit_spread reads the logits of such a block instead of the overlap of its means
    dataset = points_grid()
    space = ProductSpace.parse("points(4, 0.5) * segment(2, 0.25)")
    objective = get_objective(
        "product", weak="ada_gvae", changed="known", orbit_points_weight=1.0, orbit_draws=3
    )
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    model = build_vae(
        space, "burgess", dataset.image_shape, posterior={"points": "point_logits"}, width=4
    )
    drawn = []
    render = dataset.images_from_factors
    dataset.images_from_factors = lambda c: drawn.append(c) or render(c)
    spread = objective.orbit_spread(model, step=5)
    x = render(drawn[0]).float() / 255
    model.eval()
    with torch.no_grad():
        log_shares = model.encode_with_shares(x)[1][0]
    tol = float_tol(torch.float32, spread.item(), 64)
    assert spread.item() == pytest.approx(orbit_apart(log_shares.view(3, 4, 4), 0).item(), abs=tol)
