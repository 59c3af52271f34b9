"""Orbits read ahead in a worker process (``product``'s ``orbit_workers``)."""

import copy

import pytest
import torch
from tests.objectives.test_orbits import blob_grid, product_on

from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.objectives.orbit_pull import draw_orbits
from prodvae.objectives.orbit_stream import OrbitStream


def prepared(**options):
    dataset = blob_grid(size=32)
    objective, space = product_on(dataset, orbit_draws=2, **options)
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    return objective, space, dataset


def assert_same(a, b):
    assert a.worst == b.worst and sorted(a.images) == sorted(b.images)
    for block in a.images:
        assert torch.equal(a.images[block], b.images[block])
        assert torch.equal(a.angles[block], b.angles[block])


def test_the_worker_reads_the_orbits_the_steps_read_in_turn_would():
    objective, _, _ = prepared()
    frames, seed = objective.orbits, objective._orbit_seed
    by_hand = copy.deepcopy(frames)  # the frames keep what they read: one copy each
    stream = OrbitStream(frames, 8, seed, 2)
    try:
        for step in range(5, 12):
            expected = draw_orbits(by_hand, 8, torch.Generator().manual_seed(seed + step), 2)
            assert_same(stream.read(step), expected)
        # another step starts a new worker from this process's frames, which it left as
        # they were: as a resumed run starts from fresh frames
        assert all(len(f.kept) == 1 for f in frames.values())
        fresh = copy.deepcopy(frames)
        expected = draw_orbits(fresh, 8, torch.Generator().manual_seed(seed + 30), 2)
        assert_same(stream.read(30), expected)
    finally:
        stream.close()
    with pytest.raises(ValueError, match="ahead must be >= 1"):
        OrbitStream(frames, 8, seed, 2, ahead=0)


def test_the_worker_leaves_the_global_generator_alone():
    objective, _, _ = prepared()
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    stream = OrbitStream(objective.orbits, 8, objective._orbit_seed, 2)
    try:
        stream.read(0)
    finally:
        stream.close()
    assert torch.equal(torch.rand(4), expected)


def test_an_error_in_the_worker_is_raised_in_the_step():
    objective, _, _ = prepared()
    stream = OrbitStream(objective.orbits, 8, objective._orbit_seed, draws=9)  # > batch
    try:
        with pytest.raises(ValueError, match="draws must be in"):
            stream.read(0)
    finally:
        stream.close()


def test_a_product_objective_with_a_worker_trains_to_the_same_numbers():
    changed = torch.tensor([[True, False, False], [False, True, False]])
    torch.manual_seed(0)
    pairs = torch.rand(3, 2, 2, 1, 32, 32)
    losses = []
    for workers in (0, 1):
        objective, space, dataset = prepared(orbit_workers=workers)
        torch.manual_seed(0)
        model = build_vae(space, "burgess", dataset.image_shape, width=4)
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        run = []
        for step in range(3):
            out = objective(model, pairs[step], step, changed=changed)
            optimiser.zero_grad()
            out.loss.backward()
            optimiser.step()
            run.append((out.loss.item(), out.logs["orbits"]))
        if objective._stream is not None:
            objective._stream.close()
        losses.append(run)
    assert losses[0] == losses[1]
    with pytest.raises(ValueError, match="orbit_workers.*must be 0 or 1"):
        get_objective("product", weak="ada_gvae", changed="known", orbit_workers=2)
