"""``product(orbit_points_weight)``: a points block's codes spread over its points within an
orbit (``prodvae.objectives.points_orbits``), on a grid and on a file's rows."""

import itertools
import math

import numpy as np
import pytest
import torch
from tests.tolerances import float_tol

from prodvae.data import ArrayDataset, FactorSpec
from prodvae.data.grid import FactorGrid
from prodvae.data.pairs import row_pairs
from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.objectives.points_orbits import (
    GridPointsOrbits,
    RowPointsOrbits,
    orbit_apart,
    orbit_overlap,
    orbit_points,
    orbit_spread,
    ragged_apart,
    ragged_overlap,
)
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
    (block, orbits), *rest = orbit_points(dataset, space, [0, 1]).items()
    assert not rest and block == 0 and isinstance(orbits, GridPointsOrbits)
    assert orbits.column == 0
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
    assert list(objective.orbit_points) == [0] and objective.orbits == {}
    assert objective.orbit_points[0].column == 0
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


def test_an_orbit_of_many_values_is_spread_a_few_values_at_a_time(monkeypatch):
    """A points factor with more values than orbit_batch // draws (cars3d's 183 cars): each
    orbit holds that many of them, distinct, at random, the rest held; the step encodes no
    more images than a loop's orbits do."""
    cells = torch.cartesian_prod(torch.arange(40), torch.arange(3)).numpy()
    pixels = np.zeros((len(cells), 8, 8), dtype=np.uint8)
    pixels[np.arange(len(cells)), cells[:, 0] % 8, cells[:, 0] // 8 + cells[:, 1]] = 255
    spec = (
        FactorSpec("car", "points", tuple(float(v) for v in range(40))),
        FactorSpec("light", "segment", (0.0, 1.0, 2.0)),
    )
    dataset = ArrayDataset(pixels, cells.astype(np.float64), spec, FactorGrid((40, 3)))
    space = ProductSpace.parse("points(40) * segment")
    objective = get_objective(
        "product",
        weak="ada_gvae",
        changed="known",
        orbit_points_weight=1.0,
        orbit_draws=4,
        orbit_batch=32,
    )
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    model = build_vae(space, "burgess", (1, 8, 8), width=4, posterior={"points": "point_logits"})
    drawn = []
    render = dataset.images_from_factors
    monkeypatch.setattr(dataset, "images_from_factors", lambda c: drawn.append(c) or render(c))
    seen = set()
    for step in range(30):
        assert torch.isfinite(objective.orbit_spread(model, step))
        orbits = drawn[-1].view(4, 8, 2)  # 32 // 4 = 8 cars an orbit
        for orbit in orbits:
            assert len(set(orbit[:, 0].tolist())) == 8  # distinct cars
            assert bool((orbit[:, 1] == orbit[0, 1]).all())  # the light held
            seen.update(orbit[:, 0].tolist())
    assert seen == set(range(40))  # every car, over the steps
    with pytest.raises(ValueError, match="at least 2 values"):
        orbit_spread(model, objective.orbit_points, 4, torch.Generator(), most=1)


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


def bars_file(cells: np.ndarray, widths: np.ndarray | None = None) -> ArrayDataset:
    """The bars of :func:`points_grid` at ``cells [n, 2]`` (height index, width index), rows
    in any order and any number, as a file with no grid; ``widths`` (the width's values,
    default the index) may make it continuous."""
    pixels = np.zeros((len(cells), 32, 32), dtype=np.uint8)
    for row, (height, width) in enumerate(cells):
        pixels[row, 4 + 6 * height : 8 + 6 * height, 2 : 8 + 4 * width] = 255
    width = cells[:, 1].astype(np.float64) if widths is None else widths
    spec = (
        FactorSpec("height", "points", (0.0, 1.0, 2.0, 3.0)),
        FactorSpec("width", "segment", tuple(np.unique(width))),
    )
    return ArrayDataset(pixels, np.stack([cells[:, 0], width], 1).astype(np.float64), spec)


def recorded_rows(dataset: ArrayDataset) -> list[np.ndarray]:
    """The rows of each ``images_at`` call on ``dataset`` from now on, in order."""
    taken: list[np.ndarray] = []
    at = dataset.images_at
    dataset.images_at = lambda rows: taken.append(rows) or at(rows)  # type: ignore[method-assign]
    return taken


def test_a_files_points_orbits_are_one_row_per_level_of_a_group_of_the_other_factors():
    # width 0: heights 0, 1, 1 (twice), 3; width 1: heights 2 and 0; width 2: height 1 alone
    cells = np.array([[0, 0], [1, 0], [1, 0], [3, 0], [2, 1], [0, 1], [1, 2]])
    dataset = bars_file(cells)
    assert not dataset.is_grid
    orbits = RowPointsOrbits(dataset, 0)
    assert len(orbits) == 2  # width 2 holds one height: no orbit
    taken = recorded_rows(dataset)
    generator = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(200):
        images, sizes = orbits.draw(3, generator, 4)
        rows = taken[-1]
        assert sum(sizes) == len(rows) == len(images) and set(sizes) <= {2, 3}
        start = 0
        for size in sizes:
            orbit = cells[rows[start : start + size]]
            assert len(set(orbit[:, 1])) == 1  # the width held
            expected = {0: [0, 1, 3], 1: [0, 2]}[int(orbit[0, 1])]
            assert sorted(orbit[:, 0]) == expected  # each of its heights once
            start += size
        seen.update(int(r) for r in rows)
    assert seen == {0, 1, 2, 3, 4, 5}  # both rows of height 1 at width 0 are drawn


def test_a_files_points_orbit_of_more_values_than_most_holds_most_of_them():
    cells = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [2, 1], [0, 1]])
    dataset = bars_file(cells)
    orbits = RowPointsOrbits(dataset, 0)
    taken = recorded_rows(dataset)
    generator = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(100):
        _, sizes = orbits.draw(1, generator, 3)
        orbit = cells[taken[-1]]
        width = int(orbit[0, 1])
        assert sizes == ({0: 3, 1: 2}[width],) == (len(orbit),)  # 3 of width 0's 4 heights
        assert len(set(orbit[:, 0])) == len(orbit) and len(set(orbit[:, 1])) == 1
        assert list(orbit[:, 0]) == sorted(orbit[:, 0])  # in order
        if width == 0:
            seen.add(tuple(orbit[:, 0]))
    assert len(seen) == 4  # every 3 of the 4 heights


def test_a_continuous_factor_is_held_at_the_levels_the_pairs_match_on():
    # each row at a width of its own: no two rows share a width, but the pairs bin the widths
    # (more distinct values than levels), and the orbits hold the bins
    rng = np.random.default_rng(0)
    cells = np.stack([np.repeat(np.arange(4), 600), rng.integers(0, 5, 2400)], 1)
    widths = rng.random(2400)
    dataset = bars_file(cells, widths)
    level = row_pairs(dataset).levels[1]
    assert level.num_levels < 2400 and level.tolerance > 0
    orbits = RowPointsOrbits(dataset, 0)
    taken = recorded_rows(dataset)
    _, sizes = orbits.draw(50, torch.Generator().manual_seed(1), 4)
    spreads, start = [], 0
    for size in sizes:
        rows = taken[-1][start : start + size]
        start += size
        assert 2 <= size <= 4 and len(set(cells[rows, 0])) == size  # distinct heights
        assert len(set(level.codes[rows])) == 1  # one width level
        spreads.append(np.ptp(widths[rows]))
    assert 0 < max(spreads) <= level.tolerance  # different widths, within one level's spread


def test_a_file_without_two_values_of_a_points_factor_in_one_context_names_it():
    # each width holds one height: no orbit, and no pair changes the height alone either
    dataset = bars_file(np.array([[0, 0], [1, 1], [2, 2], [3, 3]]))
    with pytest.raises(ValueError, match="factors 'height', 'width' never change alone"):
        RowPointsOrbits(dataset, 0)
    one = bars_file(np.array([[2, 0], [2, 1], [2, 2]]))  # one height: no orbit of it
    with pytest.raises(ValueError, match="at two levels of 'height', so it has no orbit"):
        RowPointsOrbits(one, 0)


def test_orbits_of_any_length_crowd_and_part_as_orbits_of_one_length_do():
    factor = ProductSpace.parse("points(4, 0.5)").factors[0]
    codes = torch.randn(9, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    sizes = (4, 2, 3)
    parts = codes.split(sizes)
    expected = sum(orbit_overlap(p[None], factor) for p in parts) / len(sizes)
    assert ragged_overlap(codes, sizes, factor).item() == pytest.approx(expected.item(), rel=1e-12)
    even = codes[:8]
    tol = float_tol(torch.float64, 8.0, 8)
    assert ragged_overlap(even, (4, 4), factor).item() == pytest.approx(
        orbit_overlap(even.view(2, 4, 1), factor).item(), abs=tol
    )
    log_shares = torch.log_softmax(torch.randn(9, 4, dtype=torch.float64), -1)
    pairs = [
        (start + i, start + j)
        for start, size in zip((0, 4, 6), sizes)
        for i, j in itertools.combinations(range(size), 2)
    ]  # every two values of an orbit, all pairs weighed alike
    costs = [-math.log(1 - float(log_shares[i].exp() @ log_shares[j].exp())) for i, j in pairs]
    got = ragged_apart(log_shares, sizes, 0).item()
    assert got == pytest.approx(sum(costs) / len(costs), rel=1e-12)
    assert ragged_apart(log_shares[:8], (4, 4), 0).item() == pytest.approx(
        orbit_apart(log_shares[:8].view(2, 4, 4), 0).item(), rel=1e-12
    )


@pytest.mark.parametrize("posterior", [None, {"points": "point_logits"}])
def test_a_files_points_orbits_are_spread_in_training(posterior):
    rng = np.random.default_rng(0)
    cells = np.stack(np.meshgrid(np.arange(4), np.arange(5), indexing="ij"), -1).reshape(-1, 2)
    dataset = bars_file(cells[rng.random(len(cells)) < 0.7])
    space = ProductSpace.parse("points(4, 0.5) * segment(2, 0.25)")
    objective = get_objective(
        "product", weak="ada_gvae", changed="known", orbit_points_weight=1.0, orbit_draws=3
    )
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    orbits = objective.orbit_points[0]
    assert isinstance(orbits, RowPointsOrbits)
    extra = {} if posterior is None else {"posterior": posterior}
    model = build_vae(space, "burgess", dataset.image_shape, width=4, **extra)
    drawn: list[tuple[int, ...]] = []
    draw = orbits.draw
    orbits.draw = lambda n, g, m: drawn.append((out := draw(n, g, m))[1]) or out  # type: ignore[method-assign]
    spread = objective.orbit_spread(model, step=5)
    assert objective.orbit_spread(model, step=5).item() == spread.item()  # a step's own draw
    (sizes, _) = drawn
    assert len(set(sizes)) > 1  # orbits of unequal length: the ragged terms
    # the same images again, encoded as orbit_spread encodes them, scored by the ragged terms
    images, again = draw(3, torch.Generator().manual_seed(objective._spread_seed + 5), 32)
    assert again == sizes
    model.eval()
    with torch.no_grad():
        posterior_, shares = model.encode_with_shares(images.float() / 255)
    if posterior is None:
        expected = ragged_overlap(space.split(posterior_.mu)[0], sizes, space.factors[0])
    else:
        expected = ragged_apart(shares[0], sizes, 0)
    tol = float_tol(torch.float32, max(expected.item(), 1.0), 64)
    assert spread.item() == pytest.approx(expected.item(), abs=tol)
    assert spread.item() > 0
    spread.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
