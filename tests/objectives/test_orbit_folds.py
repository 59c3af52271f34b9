"""Orbits of one loop whose views repeat a number of times that differs from orbit to orbit
(dSprites' orientation: the square every quarter turn, the heart never): each is read at its
own harmonic, and a frame reaches every one of them from an orbit of the fewest repeats."""

import math

import numpy as np
import pytest
import torch
from tests.objectives.test_orbits import alignment

from prodvae.data import ArrayDataset, FactorSpec
from prodvae.data.grid import FactorGrid
from prodvae.data.procedural import grid_values
from prodvae.objectives.grid_orbits import OrbitFrame
from prodvae.objectives.orbit_repeats import (
    fewest_repeats,
    harmonic_reference,
    orbit_folds,
    spare_generator,
)
from prodvae.objectives.orbits import (
    AGREEMENT,
    REFERENCE_TRIES,
    chained_orbits,
    orbit_angles,
    orbit_cells,
)
from prodvae.objectives.row_orbits import RowOrbitFrame

FOLDS = (4, 2, 1)  # as dSprites' square, ellipse and heart
TURNS = 24


def mixed_images(fold: int, theta: np.ndarray, level: np.ndarray, size: int = 16) -> np.ndarray:
    """``fold`` blobs on one circle a ``1/fold`` turn apart at ``theta [n]`` (repeating
    ``fold`` times a turn, pixel for pixel where a turn lands on the grid's own symmetry),
    brightness set by ``level [n]``: uint8 ``[n, size, size]``."""
    axis = np.linspace(-1, 1, size)
    y, x = np.meshgrid(axis, axis, indexing="ij")
    image = np.zeros((len(theta), size, size))
    for j in range(fold):
        at = theta + 2 * math.pi * j / fold
        cx, cy = 0.6 * np.cos(at)[:, None, None], 0.6 * np.sin(at)[:, None, None]
        image = np.maximum(image, np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 0.2**2)))
    bright = (0.55 + 0.15 * level)[:, None, None]
    return np.round(image * bright * 255).astype(np.uint8)


def mixed_grid(keep: float = 1.0, turns: int = TURNS, size: int = 16) -> ArrayDataset:
    """Shape (3 points, repeating 4, 2 and 1 times a turn) x turn (a loop of ``turns``) x
    level (a segment of 4), ``size`` pixels; with ``keep`` < 1 that share of the rows at
    random: no grid."""
    sizes = (3, turns, 4)
    cells = np.stack(np.meshgrid(*(np.arange(s) for s in sizes), indexing="ij"), -1)
    cells = cells.reshape(-1, 3)
    cells = cells[np.random.default_rng(0).random(len(cells)) < keep]
    turn = np.asarray(grid_values("loop", turns, 0, 2 * math.pi))
    images = np.concatenate(
        [
            mixed_images(
                FOLDS[k], turn[cells[cells[:, 0] == k, 1]], cells[cells[:, 0] == k, 2], size
            )
            for k in range(3)
        ]
    )
    cells = np.concatenate([cells[cells[:, 0] == k] for k in range(3)])
    factors = np.stack([cells[:, 0].astype(float), turn[cells[:, 1]], cells[:, 2] / 3.0], 1)
    spec = (
        FactorSpec("shape", "points", (0.0, 1.0, 2.0)),
        FactorSpec("turn", "loop", tuple(turn), 2 * math.pi, symmetry_given=("shape", FOLDS)),
        FactorSpec("level", "segment", (0.0, 1 / 3, 2 / 3, 1.0)),
    )
    grid = FactorGrid(sizes) if keep == 1.0 else None
    if grid is not None:  # rows in grid order
        order = np.ravel_multi_index(tuple(cells.T), sizes).argsort()
        images, factors = images[order], factors[order]
    return ArrayDataset(images, factors, spec, grid)


def truth(dataset, cells: torch.Tensor) -> np.ndarray:
    """Each cell's turn at its shape's harmonic."""
    turn = np.asarray(dataset.spec[1].values)[cells[:, 1].numpy()]
    return np.asarray(FOLDS)[cells[:, 0].numpy()] * turn


def test_an_orbits_folds_are_how_many_times_its_views_repeat():
    theta = np.asarray(grid_values("loop", TURNS, 0, 2 * math.pi))
    for fold in FOLDS:
        images = torch.from_numpy(mixed_images(fold, theta, np.zeros(TURNS)))
        assert orbit_folds(orbit_angles(images.float())) == fold
    # views that repeat nowhere on the grid, yet go round four times (dSprites' square at
    # its 39 orientations, a quarter turn apart at no two of them)
    theta39 = np.asarray(grid_values("loop", 39, 0, 2 * math.pi))
    square = torch.from_numpy(mixed_images(4, theta39, np.zeros(39), size=24))
    assert orbit_folds(orbit_angles(square.float())) == 4
    # angles that go round twice but turn back on the way (an orbit misread): no symmetry
    misread = torch.from_numpy(2 * theta)
    misread[[5, 17]] = misread[[5, 17]] - 1.0
    assert orbit_folds(misread) == 1


def test_a_reference_is_read_at_the_harmonic_of_more_repeats_and_never_of_fewer():
    theta = torch.arange(TURNS, dtype=torch.float64) * 2 * math.pi / TURNS
    square = torch.remainder(4 * theta, 2 * math.pi)  # views repeating 4 times
    assert orbit_folds(square) == 4 and orbit_folds(theta) == 1
    assert torch.equal(harmonic_reference(theta, 1, orbit_folds(theta)), theta)  # untouched
    assert torch.allclose(harmonic_reference(theta, 1, orbit_folds(square)), 4 * theta)
    assert harmonic_reference(square, 4, 1) is None  # which quarter turn: undetermined
    assert (
        harmonic_reference(square, 4, orbit_folds(torch.remainder(2 * theta, 2 * math.pi))) is None
    )


def test_the_reference_of_fewest_repeats_is_found_without_drawing_from_the_generator():
    dataset = mixed_grid()
    generator = torch.Generator().manual_seed(0)
    square = orbit_cells(torch.tensor([0, 0, 1]), 1, TURNS)
    found = (square[0], orbit_angles(dataset.images_from_factors(square).float()))
    before = generator.get_state()
    spare = spare_generator(generator)
    orbit, angles, folds = fewest_repeats(
        found,
        lambda: dataset.sample_factors(1, generator=spare)[0],
        lambda cell: orbit_angles(dataset.images_from_factors(orbit_cells(cell, 1, TURNS)).float()),
        REFERENCE_TRIES,
    )
    assert folds == 1 and int(orbit[0]) == 2  # a heart's orbit
    assert torch.equal(generator.get_state(), before)
    # an orbit whose views do not repeat is kept as it is, nothing more drawn
    heart = (orbit, angles)
    assert fewest_repeats(heart, lambda: pytest.fail("drew"), lambda c: None, 10)[2] == 1


@pytest.mark.parametrize(
    "seed, turns, size",
    [(seed, TURNS, 16) for seed in range(6)] + [(seed, 39, 24) for seed in range(3)],
)
def test_a_frame_reaches_every_shapes_orbits_at_its_own_harmonic(seed, turns, size):
    # 39 turns (dSprites'): a quarter turn apart at no two of them, no view repeats
    dataset = mixed_grid(turns=turns, size=size)
    generator = torch.Generator().manual_seed(seed)
    frame = OrbitFrame(dataset, 1, generator)
    assert frame.kept[frame.key(frame.cell)].folds == 1  # whatever it drew first
    angles, truths = {k: [] for k in range(3)}, {k: [] for k in range(3)}
    for _ in range(24):
        cell = dataset.sample_factors(1, generator=generator)[0]
        draw = frame.orbit(cell, generator)
        assert draw.worst >= AGREEMENT and draw.folds == FOLDS[int(cell[0])]
        angles[int(cell[0])].append(draw.angles)
        truths[int(cell[0])].append(truth(dataset, orbit_cells(cell, 1, turns)))
    for k in range(3):  # every shape drawn, each in one frame at its own harmonic
        assert angles[k] and alignment(torch.cat(angles[k]), np.concatenate(truths[k])) > 0.99


def test_chained_orbits_link_more_repeats_from_fewer():
    dataset = mixed_grid()
    for seed in range(4):  # first orbits of either kind
        chain = chained_orbits(dataset, 1, 30, torch.Generator().manual_seed(seed))
        assert chain.holds_cycle and bool((chain.agreement > AGREEMENT).all())
        # each orbit follows the turn at its shape's harmonic (an orbit read from one of
        # more repeats stands in the first frame up to one of the turns that fit alike)
        for orbit in range(len(chain.cells) // TURNS):
            rows = slice(orbit * TURNS, (orbit + 1) * TURNS)
            assert alignment(chain.angles[rows], truth(dataset, chain.cells[rows])) > 0.99


def test_a_file_without_a_grid_reaches_every_shapes_orbits_too():
    dataset = mixed_grid(keep=0.9)
    assert not dataset.is_grid
    generator = torch.Generator().manual_seed(0)
    frame = RowOrbitFrame(dataset, 1, generator)
    assert frame.kept[frame.reference].folds == 1
    reached = set()
    for key in frame.reachable:
        draw = frame.orbit(key, generator)
        if draw.worst >= AGREEMENT:
            reached.add(key[0])  # the shape's level
    assert reached == {0, 1, 2}
