"""Angles round orbits (``prodvae.objectives.orbits``) and ``product(orbit_weight)``."""

import math

import numpy as np
import pytest
import torch
from scipy.sparse.csgraph import connected_components
from tests.objectives.toy import blob_images
from tests.tolerances import float_tol

from prodvae.data import ArrayDataset, FactorSpec, get_dataset
from prodvae.data.grid import FactorGrid
from prodvae.data.procedural import grid_values
from prodvae.metrics.circular import circular_alignment
from prodvae.models import build_vae
from prodvae.objectives import get_objective, orbits
from prodvae.objectives.grid_orbits import OrbitFrame
from prodvae.objectives.orbit_pull import orbit_frames, shares_with_running_norms
from prodvae.objectives.orbit_repeats import near_repeats
from prodvae.objectives.orbits import (
    AGREEMENT,
    REFERENCE_TRIES,
    Draw,
    chained_orbits,
    match_frame,
    orbit_angles,
    orbit_cells,
    reference_orbit,
)
from prodvae.objectives.row_orbits import RowOrbitFrame
from prodvae.spaces import ProductSpace


def alignment(angles, truth) -> float:
    """Circular alignment of ``angles`` with ``truth``, either way round (as
    :func:`circular_alignment` reads it)."""
    return circular_alignment(np.asarray(angles), np.asarray(truth))


def circle_in_space(angles: torch.Tensor, dim: int = 40, seed: int = 0) -> torch.Tensor:
    """Points ``[n, dim]`` of a circle placed isometrically in ``dim`` dimensions."""
    basis, _ = torch.linalg.qr(torch.randn(dim, 2, generator=torch.Generator().manual_seed(seed)))
    ring = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1).double()
    return ring @ basis.double().T


def test_orbit_angles_of_evenly_spaced_points_are_their_angles():
    # the graph is the cycle with equal weights: its eigenvectors are exactly (cos, sin)
    n = 24
    truth = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    order = torch.randperm(n, generator=torch.Generator().manual_seed(1))
    angles = orbit_angles(circle_in_space(truth[order]))
    # a mean of n unit phasors: n roundings of size 1 (the eigenvectors' own error is of that
    # order too, the cycle's eigengap being of order 1 / n^2 against eps)
    assert 1 - alignment(angles, truth[order]) < float_tol(torch.float64, 1.0, n * n)


def test_orbit_angles_keep_the_cyclic_order_of_uneven_points():
    generator = torch.Generator().manual_seed(2)
    gaps = 0.5 + torch.rand(30, generator=generator, dtype=torch.float64)
    truth = torch.cumsum(gaps, 0) / gaps.sum() * 2 * math.pi
    angles = orbit_angles(circle_in_space(truth))
    # the recovered order round the circle is the true one, up to where it starts and its way
    ranks = np.argsort(np.argsort(angles.numpy()))
    steps = np.diff(np.r_[ranks, ranks[0]]) % len(ranks)
    assert set(steps.tolist()) in ({1}, {len(ranks) - 1})


def test_orbit_angles_of_a_rotating_blob():
    truth = torch.arange(16, dtype=torch.float32) * 2 * math.pi / 16
    angles = orbit_angles(blob_images(truth[:, None]))
    # the images are not isometric to the circle, but their cycle is
    assert alignment(angles, truth) > 0.99


def test_orbit_angles_of_8_bit_images_are_those_of_the_same_values_as_floats():
    dataset = get_dataset("sprites", image_size=32)
    cell = dataset.sample_factors(1, generator=torch.Generator().manual_seed(0))[0]
    images = dataset.images_from_factors(orbit_cells(cell, 2, dataset.factor_sizes[2]))
    assert images.dtype == torch.uint8
    # distances from the Gram matrix are exact integers for 8-bit pixels: the same angles
    assert torch.equal(orbit_angles(images), orbit_angles(images.float()))


def test_orbits_without_repeats_are_read_without_the_sort_and_at_the_same_angles(monkeypatch):
    # repeats are looked for in the distances first: where none can be, torch.unique (a sort
    # of every pixel) is not run, and the angles are those its path gives
    dataset = get_dataset("sprites", image_size=32)
    cell = dataset.sample_factors(1, generator=torch.Generator().manual_seed(3))[0]
    images = dataset.images_from_factors(orbit_cells(cell, 2, dataset.factor_sizes[2]))
    with monkeypatch.context() as patched:
        patched.setattr(orbits, "_may_repeat", lambda *args: True)
        sorted_first = orbit_angles(images)
    monkeypatch.setattr(torch, "unique", lambda *args, **kwargs: pytest.fail("sorted"))
    assert torch.equal(orbit_angles(images), sorted_first)


def test_a_distance_within_the_rounding_of_its_products_may_be_a_repeat():
    norms = torch.tensor([2.0e4, 3.0e4], dtype=torch.float64)
    info = torch.finfo(torch.float64)
    slack = 4 * 3072 * (info.eps * 5.0e4 + info.tiny)  # the rounding of 3072 products

    def others(distance: float) -> torch.Tensor:
        return torch.tensor([[math.inf, distance], [distance, math.inf]], dtype=torch.float64)

    assert orbits._may_repeat(others(0.0), norms, 3072)
    assert orbits._may_repeat(others(0.5 * slack), norms, 3072)
    assert not orbits._may_repeat(others(2 * slack), norms, 3072)
    assert orbits._may_repeat(others(math.nan), norms, 3072)  # overflowed: sorted to decide


def test_orbit_angles_check_their_input():
    with pytest.raises(ValueError, match="at least 5 images"):
        orbit_angles(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="neighbours"):
        orbit_angles(torch.rand(6, 3), neighbours=6)
    bad = torch.rand(8, 3)
    bad[2, 1] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        orbit_angles(bad)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_match_frame_undoes_a_turn_and_a_reflection(sign):
    n = 12
    reference = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    fitted, agreement = match_frame(reference, 1.3 + sign * reference)
    # means of n phasors: n roundings of size 1 in the agreement and in the offset
    assert agreement == pytest.approx(1.0, abs=float_tol(torch.float64, 1.0, n))
    gap = torch.angle(torch.exp(1j * (fitted - reference)))
    assert gap.abs().max() < float_tol(torch.float64, 2 * math.pi, n)
    with pytest.raises(ValueError, match="two \\[n\\] tensors"):
        match_frame(reference, reference[:-1])


def blob_grid(
    noise: float = 0.0,
    size: int = 16,
    sizes: tuple[int, int, int] = (16, 12, 6),
    blank: bool = False,
) -> ArrayDataset:
    """A grid dataset: a blob on an outer circle (a loop of 16 values), one on an inner circle
    (a loop of 12), and an invisible loop of 6 values; ``noise`` fixed per image; ``blank``:
    the images at the hidden loop's first value left black."""
    cells = np.stack(np.meshgrid(*(np.arange(s) for s in sizes), indexing="ij"), -1)
    cells = cells.reshape(-1, 3)
    values = [np.asarray(grid_values("loop", s, 0, 2 * math.pi)) for s in sizes]
    factors = np.stack([values[k][cells[:, k]] for k in range(3)], axis=1)
    images = blob_images(torch.from_numpy(factors[:, :2]).float(), size=size)[:, 0]
    if noise:
        images = images + noise * torch.rand(
            images.shape, generator=torch.Generator().manual_seed(3)
        )
    if blank:
        images[torch.from_numpy(cells[:, 2] == 0)] = 0.0
    pixels = (images.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    spec = tuple(
        FactorSpec(name, "loop", tuple(v), 2 * math.pi)
        for name, v in zip(("outer", "inner", "hidden"), values)
    )
    return ArrayDataset(pixels, factors, spec, FactorGrid(sizes))


def test_chained_orbits_carry_every_orbit_into_one_frame():
    dataset = blob_grid()
    for factor in (0, 1):
        orbits = chained_orbits(dataset, factor, 12, torch.Generator().manual_seed(0))
        size = dataset.factor_sizes[factor]
        assert orbits.images.shape == (12 * size, 1, 16, 16)
        truth = np.tile(np.asarray(dataset.spec[factor].values), 12)
        assert alignment(orbits.angles, truth) > 0.99
        assert orbits.holds_cycle
        assert orbits.images.dtype == torch.uint8


def test_every_fresh_orbit_comes_in_the_reference_frame():
    dataset = blob_grid()
    generator = torch.Generator().manual_seed(4)
    frame = OrbitFrame(dataset, 1, generator)
    angles, truth = [], []
    for _ in range(10):
        cell = dataset.sample_factors(1, generator=generator)[0]
        theta, worst, _ = frame.orbit(cell, generator)
        assert worst > AGREEMENT
        # the images are the orbit's through the cell: its held factors, every inner value
        expected = orbit_cells(cell, 1, 12)
        assert torch.equal(frame.images(cell), dataset.images_from_factors(expected))
        assert torch.equal(frame.images(cell, torch.tensor([3, 1])), frame.images(cell)[[3, 1]])
        angles.append(theta)
        truth.append(np.asarray(dataset.spec[1].values))
    # one turn and direction for all ten orbits together
    assert alignment(torch.cat(angles), np.concatenate(truth)) > 0.99


def test_a_frame_keeps_its_orbits_and_links_a_new_one_to_a_kept_neighbour(monkeypatch):
    dataset = blob_grid()
    generator = torch.Generator().manual_seed(2)
    frame = OrbitFrame(dataset, 0, generator)
    calls = []
    read = frame._link
    monkeypatch.setattr(frame, "_link", lambda cell, known: calls.append(cell) or read(cell, known))
    far = frame.cell.clone()
    far[1], far[2] = (far[1] + 3) % 12, (far[2] + 2) % 6  # two held factors away: a path
    first = frame.orbit(far, generator)
    assert len(calls) == 2 and first.worst > AGREEMENT
    assert frame.orbit(far, generator) == first and len(calls) == 2  # kept: no new link
    near = far.clone()
    near[2] = (near[2] + 1) % 6  # one held factor from a kept orbit: one link
    frame.orbit(near, generator)
    assert len(calls) == 3
    truth = np.tile(np.asarray(dataset.spec[0].values), len(frame.kept))
    kept = torch.cat([draw.angles for draw in frame.kept.values()])
    assert alignment(kept, truth) > 0.99


def test_a_poor_link_is_not_linked_from_and_is_read_again(monkeypatch):
    dataset = blob_grid()
    generator = torch.Generator().manual_seed(2)
    frame = OrbitFrame(dataset, 1, generator)
    poor = frame.cell.clone()
    poor[0] = (poor[0] + 1) % 16
    read = frame._link
    monkeypatch.setattr(frame, "_link", lambda cell, known: read(cell, known)._replace(worst=0.5))
    frame.kept[frame.key(poor)] = frame._link(poor, frame.kept[frame.key(frame.cell)])
    monkeypatch.setattr(frame, "_link", read)
    # a neighbour of the poor orbit only (two held factors from the reference): linked through
    # the reference's path, not from the poor orbit
    beyond = poor.clone()
    beyond[2] = (beyond[2] + 1) % 6
    assert frame.orbit(beyond, generator).worst > AGREEMENT
    assert frame.orbit(poor, generator).worst > AGREEMENT  # drawn again: read again
    assert all(draw.worst > AGREEMENT for draw in frame.kept.values())


def test_an_orbit_without_a_cycle_is_kept_at_0_and_never_linked_from():
    dataset = blob_grid(sizes=(16, 1, 3), blank=True)  # hidden value 0: black orbits
    generator = torch.Generator().manual_seed(1)
    frame = OrbitFrame(dataset, 0, generator)
    for _ in range(30):
        frame.orbit(dataset.sample_factors(1, generator=generator)[0], generator)
    black = {key: draw.worst for key, draw in frame.kept.items() if key[-1] == 0}
    assert black and set(black.values()) == {0.0}
    assert all(d.worst > AGREEMENT for key, d in frame.kept.items() if key[-1] != 0)


def test_chained_orbits_of_a_factor_the_images_do_not_show_hold_no_cycle():
    orbits = chained_orbits(blob_grid(noise=0.05), 2, 12, torch.Generator().manual_seed(0))
    assert float(orbits.agreement.median()) < AGREEMENT
    assert not orbits.holds_cycle


def test_identical_images_make_no_orbit():
    # the hidden factor without noise: every image of its orbits is the same
    orbit = blob_grid().images_from_factors(torch.tensor([[0, 0, v] for v in range(6)]))
    with pytest.raises(ValueError, match="only 1 distinct images of 6"):
        orbit_angles(orbit.float())
    # so a chain of them has none with a cycle
    with pytest.raises(ValueError, match="none of 4 orbits of 'hidden' makes a cycle"):
        chained_orbits(blob_grid(), 2, 4, torch.Generator().manual_seed(0))


def test_images_that_repeat_under_a_symmetry_go_round_once_per_repeat():
    # two blobs opposite each other: a half turn gives the same pixels (symmetry 2)
    theta = torch.arange(24, dtype=torch.float64) * 2 * math.pi / 24
    pair = torch.maximum(blob_images(theta[:, None].float()), blob_images(theta[:, None] + math.pi))
    images = (pair * 255).round().to(torch.uint8)
    assert torch.equal(images[:12], images[12:])
    angles = orbit_angles(images.float())
    assert torch.equal(angles[:12], angles[12:])
    assert alignment(angles, 2 * theta) > 0.99  # once round per half turn
    # bright float images, whose distances through a matrix product need not be exactly 0
    bright = 0.9 + 0.1 * pair.double().repeat(1, 3, 4, 4)  # [24, 3, 128, 128]
    bright[12:] = bright[:12]
    assert torch.equal(orbit_angles(bright)[:12], orbit_angles(bright)[12:])
    assert alignment(orbit_angles(bright), 2 * theta) > 0.99
    with pytest.raises(ValueError, match="only 4 distinct images of 24"):
        orbit_angles(images[torch.arange(24) % 4].float())


def three_blobs(theta: torch.Tensor, noise: float, seed: int = 0) -> torch.Tensor:
    """Three blobs a third of a turn apart at ``theta [n]`` (symmetry 3), with pixel noise of
    scale ``noise``: views a third of a turn apart that are near, not exact, repeats."""
    thirds = theta[:, None] + torch.arange(3, dtype=torch.float64) * 2 * math.pi / 3
    blobs = torch.stack([blob_images(thirds[:, [i]]) for i in range(3)]).amax(0).double()
    return blobs + noise * torch.randn(blobs.shape, generator=torch.Generator().manual_seed(seed))


def test_images_that_nearly_repeat_under_a_symmetry_go_round_once_per_repeat():
    theta = torch.arange(24, dtype=torch.float64) * 2 * math.pi / 24
    images = three_blobs(theta, noise=1e-3)
    assert not torch.equal(images[:8], images[8:16])  # no exact repeat
    angles = orbit_angles(images)
    assert torch.equal(angles[:8], angles[8:16]) and torch.equal(angles[:8], angles[16:])
    assert alignment(angles, 3 * theta) > 0.99  # once round per third of a turn
    # the mean of a view's repeats stands for it: the same angles as the noiseless views
    assert alignment(angles[:8], orbit_angles(three_blobs(theta[:8], noise=0.0))) > 0.99
    # 4 views a repeat are too few to make a cycle: no angles
    with pytest.raises(ValueError, match="separate pieces"):
        orbit_angles(three_blobs(theta[::2], noise=1e-3))


def test_pieces_that_reach_into_each_other_are_no_repeats():
    # six clusters of points, each joined only within itself; then one of them drawn out into
    # a line longer than the gap between two others: still six pieces, but no repeats
    truth = torch.arange(6, dtype=torch.float64) * 2 * math.pi / 6
    centres = circle_in_space(truth) * 100  # neighbouring centres 100 apart
    points = centres.repeat_interleave(4, 0)
    points += 0.01 * torch.randn(points.shape, generator=torch.Generator().manual_seed(0))
    assert torch.equal(near_repeats(*joins(points), 5).unique(), torch.arange(6))
    line = torch.tensor([0.0, 40.0, 80.0, 120.0], dtype=torch.float64)
    points[:4] = centres[0] + line[:, None] * torch.eye(40, dtype=torch.float64)[5]
    joined, squared = joins(points)
    assert connected_components(joined.numpy(), directed=False)[0] == 6  # the same pieces
    assert near_repeats(joined, squared, 5) is None


def test_a_half_turn_that_nearly_repeats_goes_round_twice():
    # symmetry 2: one near repeat each, the second join to the next view weighing nothing
    theta = torch.arange(24, dtype=torch.float64) * 2 * math.pi / 24
    half = theta[:, None] + torch.tensor([0.0, math.pi], dtype=torch.float64)
    two = torch.maximum(blob_images(half[:, :1]), blob_images(half[:, 1:])).double()
    for noise in (1e-3, 1e-2):
        generator = torch.Generator().manual_seed(0)
        angles = orbit_angles(two + noise * torch.randn(two.shape, generator=generator))
        assert torch.equal(angles[:12], angles[12:])
        assert alignment(angles, 2 * theta) > 0.99


def joins(points: torch.Tensor, neighbours: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """The joins of ``points [n, d]`` to their ``neighbours`` nearest (made symmetric) and
    their squared distances, as :func:`orbit_angles` makes them."""
    squared = torch.cdist(points, points).pow(2)
    others = squared + torch.diag(torch.full((len(points),), math.inf, dtype=points.dtype))
    joined = others <= others.sort(dim=1).values[:, neighbours - 1 : neighbours]
    return joined | joined.T, squared


def test_a_reference_orbit_is_the_first_drawn_that_makes_a_cycle():
    drawn = iter(range(100))

    def read(orbit: int) -> torch.Tensor:
        if orbit < 3:
            raise ValueError(f"orbit {orbit} makes no cycle")
        return torch.full((5,), float(orbit))

    orbit, angles = reference_orbit(lambda: next(drawn), read)
    assert orbit == 3
    assert angles.tolist() == [3.0] * 5


def test_no_reference_orbit_after_every_try_raises_the_last_reason():
    tries = []

    def read(orbit: int) -> torch.Tensor:
        tries.append(orbit)
        raise ValueError(f"orbit {orbit} makes no cycle")

    with pytest.raises(ValueError, match=f"orbit {REFERENCE_TRIES - 1} makes no cycle"):
        reference_orbit(lambda: len(tries), read)
    assert tries == list(range(REFERENCE_TRIES))


def test_a_chain_never_links_an_orbit_to_itself():
    # one other factor of two values: a draw of the same value would repeat the orbit half
    # the time, and the repeat would agree perfectly
    dataset = blob_grid(noise=0.05, sizes=(16, 1, 2))
    orbits = chained_orbits(dataset, 0, 9, torch.Generator().manual_seed(0))
    per_orbit = orbits.images.view(9, 16, -1)
    assert all(not torch.equal(per_orbit[i], per_orbit[i + 1]) for i in range(8))


def test_a_chain_leaves_out_an_orbit_without_a_cycle_and_goes_on():
    dataset = blob_grid(sizes=(16, 1, 3), blank=True)  # the orbits at hidden value 0 are black
    orbits = chained_orbits(dataset, 0, 12, torch.Generator().manual_seed(1))
    kept = orbits.cells[:, 2]
    assert bool((kept != 0).all()) and len(kept) < 12 * 16  # some left out, the rest kept
    assert len(orbits.agreement) == 11
    assert int((orbits.agreement == 0).sum()) == 12 - len(kept) // 16
    truth = np.asarray(dataset.spec[0].values)[orbits.cells[:, 0].numpy()]
    assert alignment(orbits.angles, truth) > 0.99  # still one frame across the gaps


def test_orbit_angles_reject_a_graph_in_pieces():
    # two far clusters of points, each a small circle: nearest neighbours never cross
    truth = torch.arange(12, dtype=torch.float64) * 2 * math.pi / 12
    points = circle_in_space(truth)
    points[6:] += 1e3
    with pytest.raises(ValueError, match="separate pieces|too far"):
        orbit_angles(points)


def test_chained_orbits_check_their_input():
    dataset, generator = blob_grid(), torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="out of range"):
        chained_orbits(dataset, 3, 4, generator)
    with pytest.raises(ValueError, match="count must be >= 2"):
        chained_orbits(dataset, 0, 1, generator)
    small = get_dataset("torus", image_size=16, factor_sizes=(4, 8))
    with pytest.raises(ValueError, match="has 4 values"):
        chained_orbits(small, 0, 3, generator)


def product_on(dataset, **options):
    """``product`` on pairs with orbits (small defaults), and a loop block per factor."""
    settings = {"orbit_weight": 1.0, "orbit_count": 6, "orbit_batch": 8, **options}
    objective = get_objective("product", weak="ada_gvae", changed="known", **settings)
    space = ProductSpace.parse(" * ".join(["loop(3, 0.5)"] * len(dataset.spec)))
    return objective, space


def test_orbit_weight_needs_changed_known():
    with pytest.raises(ValueError, match="orbit_weight.*changed: known"):
        get_objective("product", weak="ada_gvae", orbit_weight=1.0)


def test_the_pull_starts_at_orbit_start():
    objective = get_objective(
        "product", weak="ada_gvae", changed="known", orbit_weight=2.0, orbit_start=100
    )
    assert [objective.orbit_scale(s) for s in (0, 99, 100, 10**6)] == [0.0, 0.0, 2.0, 2.0]


def test_prepare_starts_every_loop_whose_orbits_hold_a_cycle(caplog):
    dataset = blob_grid(noise=0.05)
    objective, space = product_on(dataset)
    with caplog.at_level("INFO"):
        objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    assert sorted(objective.orbits) == [0, 1]
    assert "no start for loop block 2 (hidden)" in caplog.text


def test_loops_the_plane_starts_are_not_pulled_and_the_log_says_why(caplog):
    """Loops that the plane start anchors (as on the dial, both hands) get no orbit frame, and
    the log says that is why (not that the orbits failed); a space without loops says so."""
    dataset = blob_grid()
    space = ProductSpace.parse("loop(3, 0.5) * loop(3, 0.5) * loop(3, 0.5)")
    anchored = torch.ones(space.dim, dtype=torch.bool)
    with caplog.at_level("INFO"):
        frames = orbit_frames(dataset, space, [0, 1, 2], anchored, 4, torch.Generator())
    assert frames == {}
    assert "every loop block starts on its plane" in caplog.text
    assert "no loop block was started" not in caplog.text
    flat = ProductSpace.parse("segment * segment * points(3)")
    with caplog.at_level("INFO"):
        assert orbit_frames(dataset, flat, [0, 1, 2], None, 4, torch.Generator()) == {}
    assert "the space has no loop block" in caplog.text


def test_the_orbit_pull_draws_by_the_step_and_reaches_the_encoder():
    dataset = blob_grid(size=32)
    objective, space = product_on(dataset)
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    model = build_vae(space, "burgess", dataset.image_shape, width=4)
    pull, agreement, kept = objective.orbit_pull(model, step=7)
    assert kept is None  # orbit_kept_weight is 0
    assert pull.item() > 0 and agreement > AGREEMENT
    # the same step draws the same orbits and rows (their angles kept from the first call)
    assert objective.orbit_pull(model, step=7).total.item() == pull.item()
    assert objective.orbit_pull(model, step=8).total.item() != pull.item()
    pull.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_orbit_draws_split_the_batch_over_that_many_orbits(monkeypatch):
    dataset = blob_grid(size=32)
    objective, space = product_on(dataset, orbit_batch=10, orbit_draws=3)
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    model = build_vae(space, "burgess", dataset.image_shape, width=4)
    rows = []
    for frame in objective.orbits.values():
        images = frame.images
        monkeypatch.setattr(  # the rows drawn (an orbit read whole for its angles: None)
            frame, "images", lambda cell, r=None, f=images: rows.append(r) or f(cell, r)
        )
    objective.orbit_pull(model, step=0)
    drawn = [len(r) for r in rows if r is not None]
    assert drawn == [4, 3, 3] * len(objective.orbits)
    with pytest.raises(ValueError, match="orbit_draws.*at most orbit_batch"):
        get_objective("product", orbit_batch=2, orbit_draws=3)


def test_an_orbit_batch_is_encoded_with_the_running_normalisation():
    space = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25)")
    model = build_vae(space, "burgess", (1, 32, 32), width=4, normalise_codes=True)
    model.train()
    model.encode(torch.rand(16, 1, 32, 32))  # one training batch sets the running statistics
    state = {k: v.clone() for k, v in model.state_dict().items()}
    # an orbit: the segment held, so its batch statistics would be degenerate
    orbit = torch.rand(1, 1, 32, 32).repeat(8, 1, 1, 1)
    orbit[:, :, :4] = torch.rand(8, 1, 4, 32)
    encoded, _ = shares_with_running_norms(model, orbit)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert model.training and all(norm.training for norm in model.code_norms.values())
    model.eval()
    assert torch.equal(encoded.mu, model.encode(orbit).mu)


def test_an_orbit_reached_through_a_poor_link_is_not_pulled_toward(monkeypatch):
    dataset = blob_grid(size=32)
    objective, space = product_on(dataset, orbit_batch=40)  # more than an orbit holds
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    model = build_vae(space, "burgess", dataset.image_shape, width=4)
    assert objective.orbit_pull(model, step=3).total.item() > 0  # drawn with replacement

    def poor(frame):
        good = frame.orbit
        return lambda cell, generator: Draw(good(cell, generator).angles, 0.5)

    for frame in objective.orbits.values():
        monkeypatch.setattr(frame, "orbit", poor(frame))
    pull = objective.orbit_pull(model, step=3)
    assert pull.total.item() == 0.0 and pull.worst == 0.5


def test_training_without_prepare_names_the_orbits():
    objective = get_objective("product", weak="ada_gvae", changed="known", orbit_weight=1.0)
    space = ProductSpace.parse("loop(3, 0.5) * loop(3, 0.5)")
    model = build_vae(space, "burgess", (1, 32, 32), width=4)
    pairs = torch.rand(2, 2, 1, 32, 32)
    changed = torch.tensor([[True, False], [False, True]])
    with pytest.raises(
        ValueError, match="orbit_weight or orbit_points_weight > 0 needs the orbits"
    ):
        objective(model, pairs, 0, changed=changed)


def test_a_dataset_that_is_not_a_grid_reads_its_orbits_from_rows(monkeypatch, caplog):
    """Not a grid: each loop is read from its rows (``RowOrbitFrame``), the loop the images do
    not show is left without, and the grid's own frame refuses the data."""
    dataset = blob_grid()
    space = ProductSpace.parse("loop(3, 0.5) * loop(3, 0.5) * loop(3, 0.5)")
    monkeypatch.setattr(type(dataset), "is_grid", property(lambda self: False))
    with caplog.at_level("INFO"):
        frames = orbit_frames(dataset, space, [0, 1, 2], None, 4, torch.Generator().manual_seed(0))
    assert sorted(frames) == [0, 1]
    assert all(isinstance(frame, RowOrbitFrame) for frame in frames.values())
    assert "loop block 0 (outer) is pulled" in caplog.text and "linked orbits" in caplog.text
    assert "no start for loop block 2 (hidden)" in caplog.text
    with pytest.raises(ValueError, match="orbits need a grid"):
        OrbitFrame(dataset, 0, torch.Generator().manual_seed(0))


@pytest.mark.parametrize(("name", "factor"), [("sprites", 2), ("orbit", 4), ("torus", 1)])
def test_rows_of_the_orbit_just_read_are_the_rows_rendered_alone(name, factor):
    """The frame keeps the orbit it rendered last and serves the rows pulled from it: the
    same pixels as rendering those rows alone, on every procedural dataset."""
    dataset = get_dataset(name, image_size=32)
    frame = OrbitFrame(dataset, factor, torch.Generator().manual_seed(0))
    cell = frame.cell.clone()  # the reference orbit, rendered last
    cell[frame.held[0]] = (int(cell[frame.held[0]]) + 1) % dataset.factor_sizes[frame.held[0]]
    rows = torch.randperm(frame.size, generator=torch.Generator().manual_seed(2))[:8]
    alone = dataset.images_from_factors(orbit_cells(cell, factor, frame.size)[rows])
    rendered = []
    render = dataset.images_from_factors
    dataset.images_from_factors = lambda cells: rendered.append(len(cells)) or render(cells)
    assert torch.equal(frame.images(cell, rows), alone)  # not read yet: rendered alone
    whole = frame.images(cell)
    assert torch.equal(whole[rows], alone)
    assert torch.equal(frame.images(cell, rows), alone)  # now served from the kept orbit
    assert rendered == [8, frame.size]
    whole[:] = 0  # the caller's copy: the kept orbit is untouched
    assert torch.equal(frame.images(cell, rows), alone) and rendered == [8, frame.size]
    other = cell.clone()
    other[frame.held[0]] = (int(other[frame.held[0]]) + 1) % dataset.factor_sizes[frame.held[0]]
    assert not torch.equal(frame.images(other, rows), alone)
