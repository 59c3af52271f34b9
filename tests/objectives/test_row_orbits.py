"""Orbits from the rows of a dataset that is not a grid (``prodvae.objectives.row_orbits``)."""

import math

import numpy as np
import pytest
import torch
from tests.objectives.test_orbits import alignment, circle_in_space
from tests.objectives.toy import blob_images
from tests.tolerances import float_tol

from prodvae.data import ArrayDataset, FactorSpec
from prodvae.data.pairs import row_pairs
from prodvae.data.procedural import grid_values
from prodvae.models import build_vae
from prodvae.objectives.orbit_pull import orbit_frames, orbit_pull
from prodvae.objectives.orbits import AGREEMENT, orbit_angles
from prodvae.objectives.row_orbits import (
    RowOrbitFrame,
    orbit_resolutions,
    row_orbits,
    spaced_angles,
)
from prodvae.spaces import ProductSpace


def gappy_blobs(keep: float = 0.8, seed: int = 0, size: int = 16) -> ArrayDataset:
    """A blob on an outer circle (a loop of 24 values), one on an inner circle (a loop of
    12) and a points factor of 3 values that moves nothing, each row kept with probability
    ``keep``: not a grid, every orbit missing values at random; images ``size`` pixels."""
    sizes = (24, 12, 3)
    cells = np.stack(np.meshgrid(*(np.arange(s) for s in sizes), indexing="ij"), -1)
    cells = cells.reshape(-1, 3)
    cells = cells[np.random.default_rng(seed).random(len(cells)) < keep]
    values = [np.asarray(grid_values("loop", s, 0, 2 * math.pi)) for s in sizes[:2]]
    factors = np.stack([values[0][cells[:, 0]], values[1][cells[:, 1]], cells[:, 2]], axis=1)
    images = blob_images(torch.from_numpy(factors[:, :2]).float(), size=size)[:, 0]
    pixels = (images * 255).round().to(torch.uint8).numpy()
    spec = (
        FactorSpec("outer", "loop", tuple(values[0]), 2 * math.pi),
        FactorSpec("inner", "loop", tuple(values[1]), 2 * math.pi),
        FactorSpec("tag", "points", (0.0, 1.0, 2.0)),
    )
    return ArrayDataset(pixels, factors.astype(np.float64), spec)


def test_row_orbits_group_rows_by_the_other_factors_levels():
    # rows: (loop level, other level); the second group has 4 levels only, the third
    # repeats a level (its first row there is kept)
    codes = np.array(
        [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]]
        + [[0, 1], [1, 1], [2, 1], [3, 1]]
        + [[4, 2], [3, 2], [2, 2], [2, 2], [1, 2], [0, 2], [5, 2]]
    )
    orbits = row_orbits(codes, 0, [1])
    assert sorted(orbits) == [(0,), (2,)]  # 4 levels make no orbit
    assert orbits[(0,)].levels.tolist() == [0, 1, 2, 3, 4]
    assert orbits[(0,)].rows.tolist() == [0, 1, 2, 3, 4]
    assert orbits[(2,)].levels.tolist() == [0, 1, 2, 3, 4, 5]
    assert orbits[(2,)].rows.tolist() == [14, 13, 11, 10, 9, 15]


def test_spaced_angles_follow_unevenly_spaced_values():
    generator = torch.Generator().manual_seed(2)
    gaps = 0.3 + torch.rand(30, generator=generator, dtype=torch.float64) * 1.5
    truth = torch.cumsum(gaps, 0) / gaps.sum() * 2 * math.pi
    points = circle_in_space(truth)
    # chords stand for arcs: a gap g shortened by at most g^3 / 24, so no angle is off by
    # more than the sum of those, which costs 1 - cos of it in alignment at most
    widest = float(gaps.max() / gaps.sum() * 2 * math.pi)
    off = len(gaps) * widest**3 / 24
    assert 1 - alignment(spaced_angles(points), truth) <= 1 - math.cos(off)
    # the eigenvectors space the values about evenly, well off the truth here
    assert alignment(orbit_angles(points), truth) < 0.95


def test_spaced_angles_of_evenly_spaced_points_are_their_angles():
    n = 24
    truth = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    angles = spaced_angles(circle_in_space(truth))
    # n equal chords summed: n roundings of size 1 in each angle, and n in the alignment
    assert 1 - alignment(angles, truth) < float_tol(torch.float64, 1.0, n * n)


def test_spaced_angles_join_more_neighbours_across_gaps():
    truth = torch.tensor([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19], dtype=torch.float64)
    truth = truth * 2 * math.pi / 24  # three arcs with gaps wider than their steps
    images = blob_images(truth[:, None].float())
    with pytest.raises(ValueError, match="separate pieces"):
        orbit_angles(images)
    assert alignment(spaced_angles(images), truth) > 0.99


def test_a_frame_on_rows_carries_every_linked_orbit_into_one_frame():
    dataset = gappy_blobs()
    assert not dataset.is_grid
    for factor in (0, 1):
        generator = torch.Generator().manual_seed(0)
        frame = RowOrbitFrame(dataset, factor, generator)
        factors = dataset.factors_at(np.arange(len(dataset))).numpy()
        others = np.delete(factors, factor, axis=1)
        groups = {tuple(row) for row in others}
        full = [g for g in groups if len(set(factors[(others == g).all(1), factor])) >= 5]
        assert len(frame.orbits) == len(full) == len(groups)
        links = frame.check(30, generator)
        assert float(links.median()) >= AGREEMENT
        aligned, angles, truths = [], [], []
        for key in frame.reachable:
            draw = frame.orbit(key, generator)
            if draw.worst >= AGREEMENT:  # pulled toward in training
                truth = dataset.factors_at(frame.orbits[key].rows)[:, factor].numpy()
                aligned.append(alignment(draw.angles, truth))
                angles.append(draw.angles.numpy())
                truths.append(truth)
        # one frame: a single turn and direction fits every orbit pulled toward at once
        assert alignment(np.concatenate(angles), np.concatenate(truths)) >= 0.95
        # most orbits are linked well; their angles follow the factor on the whole, a few
        # (one in ten) less well than their links agree (errors add up along a chain)
        assert len(aligned) >= 0.8 * len(frame.reachable)
        assert np.median(aligned) >= 0.99
        assert np.mean(np.asarray(aligned) >= AGREEMENT) >= 0.9
        key = frame.draw(generator)
        rows = torch.tensor([0, 2])
        assert torch.equal(frame.images(key, rows), frame.images(key)[rows])
        assert frame.count(key) == len(frame.orbits[key].levels) >= 5


def test_a_factor_without_orbits_is_named():
    dataset = gappy_blobs()
    with pytest.raises(ValueError, match="'tag' has 3 levels"):
        RowOrbitFrame(dataset, 2, torch.Generator())
    # eight values of a loop, but each value of the other factor holds four of them
    sparse = two_orbits([range(4), range(2, 6)])
    with pytest.raises(ValueError, match="'turn', so it has no orbit"):
        RowOrbitFrame(sparse, 0, torch.Generator())


def two_orbits(held: list) -> ArrayDataset:
    """A blob turning through 8 values, at the values ``held[t]`` for tag ``t``."""
    values = np.arange(8) * 2 * math.pi / 8
    factors = np.array([[values[v], float(t)] for t, vs in enumerate(held) for v in vs])
    images = blob_images(torch.from_numpy(factors[:, :1]).float(), size=16)[:, 0] * 255
    spec = (
        FactorSpec("turn", "loop", tuple(values), 2 * math.pi),
        FactorSpec("tag", "points", tuple(float(t) for t in range(len(held)))),
    )
    return ArrayDataset(images.round().to(torch.uint8).numpy(), factors, spec)


def test_orbits_that_share_too_few_values_are_not_linked():
    # two orbits of one loop (8 values) through two values of another factor: the first
    # holds values 0-5, the second 3-7, so they share 3 values, too few to link
    dataset = two_orbits([range(6), range(3, 8)])
    frame = RowOrbitFrame(dataset, 0, torch.Generator().manual_seed(0))
    assert frame.reference == (0,)  # the orbit with the most values
    assert frame.reachable == [(0,)]
    assert frame.check(5, torch.Generator()).numel() == 0


@pytest.mark.parametrize(
    "held, why",
    [
        ([range(8)], "its rows make one orbit only"),
        ([range(6), range(3, 8)], "none of its 2 orbits shares 5 values with another"),
    ],
)
def test_a_file_whose_orbits_make_no_link_starts_no_loop_and_says_why(held, why, caplog):
    dataset = two_orbits(held)
    space = ProductSpace.parse("loop(3, 0.5) * points(2)")
    with caplog.at_level("WARNING", logger="prodvae.objectives.orbit_pull"):
        frames = orbit_frames(dataset, space, [0, 1], None, 8, torch.Generator().manual_seed(0))
    assert frames == {}
    assert f"no start for loop block 0 (turn): {why}" in caplog.text


def test_the_pull_draws_rows_of_an_orbit_and_reaches_the_encoder():
    dataset = gappy_blobs(size=32)
    space = ProductSpace.parse("loop(3, 0.5) * loop(3, 0.5) * points(3)")
    frames = orbit_frames(dataset, space, [0, 1, 2], None, 8, torch.Generator().manual_seed(0))
    assert sorted(frames) == [0, 1]
    model = build_vae(space, "burgess", dataset.image_shape, width=4)
    pull = orbit_pull(model, frames, 16, torch.Generator().manual_seed(1), draws=4)
    assert pull.total.item() > 0  # orbits linked well were pulled (the worst drawn may not be)
    pull.total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_an_orbit_without_a_cycle_links_at_zero_and_cuts_the_path_through_it():
    """A blob turning through 12 values at six settings (a, b) of two other factors, one of
    them blank (no cycle). The blank orbit links at 0 with NaN angles; the orbit joined to
    the others only through it (it shares too few values with the rest) gets NaN angles and
    agreement 0, never angles carried through a link that failed; the whole orbits link."""
    values = np.arange(12) * 2 * math.pi / 12
    held = {(a, b): range(12) for a in range(3) for b in range(2)}
    held[(0, 1)] = held[(1, 1)] = range(6)  # share only 4, 5 with (2, 1)
    held[(2, 1)] = range(4, 12)
    factors = np.array([[values[v], a, b] for (a, b), vs in held.items() for v in vs], float)
    images = blob_images(torch.from_numpy(factors[:, :1]).float(), size=16)[:, 0] * 255
    blank = (factors[:, 1] == 2) & (factors[:, 2] == 0)
    images[torch.from_numpy(blank)] = 0
    spec = (
        FactorSpec("turn", "loop", tuple(values), 2 * math.pi),
        FactorSpec("a", "points", (0.0, 1.0, 2.0)),
        FactorSpec("b", "points", (0.0, 1.0)),
    )
    dataset = ArrayDataset(images.round().to(torch.uint8).numpy(), factors, spec)
    generator = torch.Generator().manual_seed(0)
    frame = RowOrbitFrame(dataset, 0, generator)
    assert frame.reference != (2, 0)  # a reference must make a cycle
    assert frame.parent[(2, 1)] == (2, 0)  # its only neighbour sharing 5 values or more
    cut = frame.orbit((2, 1), generator)
    assert cut.worst == 0.0 and torch.isnan(cut.angles).all() and len(cut.angles) == 8
    dead = frame.orbit((2, 0), generator)
    assert dead.worst == 0.0 and torch.isnan(dead.angles).all() and len(dead.angles) == 12
    assert 0.0 in frame.links
    for key in [(0, 0), (1, 0)]:
        draw = frame.orbit(key, generator)
        assert draw.worst >= AGREEMENT and torch.isfinite(draw.angles).all()
        truth = dataset.factors_at(frame.orbits[key].rows)[:, 0].numpy()
        assert alignment(draw.angles, truth) >= 0.99


def scattered_blobs(rows: int = 2000, seed: int = 0, size: int = 16) -> ArrayDataset:
    """Both blobs at random angles (two continuous loops) at a random brightness (a
    continuous segment): no two rows share a value, and few share a fine bin of both other
    factors."""
    rng = np.random.default_rng(seed)
    factors = np.stack(
        [
            rng.uniform(0, 2 * math.pi, rows),
            rng.uniform(0, 2 * math.pi, rows),
            rng.uniform(0.5, 1.0, rows),
        ],
        axis=1,
    )
    glow = torch.from_numpy(factors[:, 2]).float()[:, None, None]
    images = blob_images(torch.from_numpy(factors[:, :2]).float(), size=size)[:, 0] * glow
    pixels = (images * 255).round().to(torch.uint8).numpy()
    spec = (
        FactorSpec("outer", "loop", tuple(np.unique(factors[:, 0])), 2 * math.pi),
        FactorSpec("inner", "loop", tuple(np.unique(factors[:, 1])), 2 * math.pi),
        FactorSpec("glow", "segment", tuple(np.unique(factors[:, 2]))),
    )
    return ArrayDataset(pixels, factors, spec)


def test_orbits_of_scattered_rows_hold_their_other_factors_in_coarser_bins():
    dataset = scattered_blobs()
    pairs = np.stack([level.codes for level in row_pairs(dataset).levels], axis=1)
    resolutions = orbit_resolutions(dataset, 0)
    assert np.array_equal(resolutions[0], pairs)  # the pairs' levels first
    assert [[len(np.unique(c[:, k])) for k in range(3)] for c in resolutions] == [
        [32, 32, 32],
        [32, 16, 16],
        [32, 8, 8],
    ]
    for fine, coarse in zip(resolutions, resolutions[1:]):  # each bin the union of finer ones
        for k in (1, 2):
            assert all(len(np.unique(coarse[fine[:, k] == v, k])) == 1 for v in set(fine[:, k]))
    assert len(orbit_resolutions(gappy_blobs(), 0)) == 1  # exact levels: nothing to coarsen
    generator = torch.Generator().manual_seed(0)
    frame = RowOrbitFrame(dataset, 0, generator)
    held = [1, 2]
    found = [row_orbits(codes, 0, held) for codes in resolutions]
    assert frame.orbits.keys() == found[2].keys()  # the bins whose family holds most rows
    # the frame links most of the rows; its orbits' angles follow the factor
    reached = sum(frame.count(key) for key in frame.reachable)
    assert reached >= 0.5 * len(dataset)
    frame.check(30, generator)
    angles, truths = [], []
    for key in frame.reachable:
        draw = frame.orbit(key, generator)
        if draw.worst >= AGREEMENT:
            angles.append(draw.angles.numpy())
            truths.append(dataset.factors_at(frame.orbits[key].rows)[:, 0].numpy())
    assert len(angles) >= 0.5 * len(frame.reachable)
    assert alignment(np.concatenate(angles), np.concatenate(truths)) >= 0.9
