"""A loop whose symmetry depends on another factor (dSprites' orientation: the square repeats
every quarter turn, the ellipse every half, the heart never), scored on codes whose answer is
known: each shape's images can only be coded at its own harmonic, and that reading recovers
the loop; a code at the wrong harmonic for one shape, or one that winds twice, does not."""

import math

import numpy as np
import pytest

from prodvae.data.factor_bins import SCORE_BINS, scored_factors
from prodvae.data.spec import FactorSpec
from prodvae.metrics import IntrinsicCodes, factor_recovery
from prodvae.metrics.topology import loop_folds, topology_report

N = 6000
TURNS = 39  # dSprites' orientation, its repeated end-point dropped
FOLDS = (4, 2, 1)  # square, ellipse, heart


def specs(folds=FOLDS):
    turn = tuple(np.linspace(0, 2 * math.pi, TURNS, endpoint=False))
    return (
        FactorSpec("shape", "points", (1.0, 2.0, 3.0)),
        FactorSpec("orientation", "loop", turn, 2 * math.pi, symmetry_given=("shape", folds)),
        FactorSpec("scale", "segment", tuple(np.linspace(0.5, 1, 6))),
    )


@pytest.fixture
def grid():
    rng = np.random.default_rng(0)
    indices = np.stack([rng.integers(0, s, N) for s in (3, TURNS, 6)], axis=1)
    theta = 2 * math.pi * indices[:, 1] / TURNS
    fold = np.asarray(FOLDS)[indices[:, 0]]
    return indices, theta, fold, rng


def codes(indices, angle, rng):
    """Shape as a point index, the angle as a loop, the scale as a segment."""
    columns = [indices[:, 0], angle, indices[:, 2] + 0.01 * rng.standard_normal(len(angle))]
    return IntrinsicCodes(np.stack(columns, 1), ("points", "loop", "segment"), (0, 1, 2))


def recovery_of(report, name):
    return next(r for r in report if r.name == name)


def test_each_shape_at_its_own_harmonic_is_recovered(grid):
    indices, theta, fold, rng = grid
    # the only codes a square's images allow: a function of four times its angle; each
    # shape's ring may start anywhere and run either way (no pair of images ties them)
    offset, sign = np.array([0.3, 2.0, -1.0])[indices[:, 0]], np.array([1, -1, 1])[indices[:, 0]]
    angle = sign * fold * theta + offset + 0.05 * rng.standard_normal(N)
    report = factor_recovery(codes(indices, angle, rng), indices, specs())
    turn = recovery_of(report, "orientation")
    # circular alignment under N(0, 0.05^2) noise: exp(-0.05^2 / 2) = 0.99875 per group
    assert turn.score > 0.99 and turn.winding in (1, -1) and turn.recovered
    # each symmetry's own reading, largest first: its rows, score and winding (the
    # ellipse's ring runs the other way)
    counts = {fold: int(np.sum(np.asarray(FOLDS)[indices[:, 0]] == fold)) for fold in FOLDS}
    assert sorted((g.folds, g.rows) for g in turn.groups) == sorted(counts.items())
    assert [g.rows for g in turn.groups] == sorted(counts.values(), reverse=True)
    assert all(g.score > 0.99 for g in turn.groups)
    assert {g.folds: g.winding for g in turn.groups} in ({4: 1, 2: -1, 1: 1}, {4: -1, 2: 1, 1: -1})
    assert sum(g.rows * g.score for g in turn.groups) / N == pytest.approx(turn.score, abs=1e-12)
    assert topology_report(codes(indices, angle, rng), indices, specs())[1].recovery > 0.99


def test_one_harmonic_for_all_shapes_reads_the_square_at_the_wrong_one(grid):
    indices, theta, fold, rng = grid
    # the reading before symmetry_given was honoured: every shape at the first harmonic
    angle = fold * theta + 0.05 * rng.standard_normal(N)
    one = specs(folds=(1, 1, 1))
    assert (
        recovery_of(factor_recovery(codes(indices, angle, rng), indices, one), "orientation").score
        < 0.5
    )
    # and a code that follows the angle itself fails the square and the ellipse (their
    # groups align near 0: sqrt(pi / 4n) for unrelated angles), two thirds of the rows
    report = factor_recovery(codes(indices, theta, rng), indices, specs())
    assert recovery_of(report, "orientation").score < 0.4
    assert not recovery_of(report, "orientation").recovered


def test_a_shape_whose_angle_winds_twice_is_not_recovered(grid):
    indices, theta, fold, rng = grid
    twice = np.where(indices[:, 0] == 2, 2, 1)  # the heart winds twice, the others once
    angle = twice * fold * theta
    turn = recovery_of(factor_recovery(codes(indices, angle, rng), indices, specs()), "orientation")
    # the heart's group aligns at its harmonic only by chance; its winding is reported
    assert turn.winding == 2 and not turn.recovered
    heart = next(g for g in turn.groups if g.folds == 1)
    assert heart.winding == 2 and heart.score < 0.1


def test_winding_is_the_largest_groups_when_each_winds_once(grid):
    indices, theta, fold, rng = grid
    sign = np.where(indices[:, 0] == 0, -1, 1)
    keep = (indices[:, 0] != 0) | (np.arange(N) % 3 == 0)  # fewer squares than the others
    rows = np.flatnonzero(keep)
    angle = (sign * fold * theta)[rows]
    report = factor_recovery(codes(indices[rows], angle, rng), indices[rows], specs())
    assert recovery_of(report, "orientation").winding == 1  # not the squares' -1


def test_a_euclidean_latent_is_read_in_its_best_pair_at_each_harmonic(grid):
    indices, theta, fold, rng = grid
    phi = fold * theta
    columns = [np.cos(phi), np.sin(phi), indices[:, 2] + 0.0, indices[:, 0] + 0.0]
    euclidean = IntrinsicCodes(np.stack(columns, 1), ("segment",) * 4, (0, 1, 2, 3))
    turn = recovery_of(factor_recovery(euclidean, indices, specs()), "orientation")
    assert turn.columns == (0, 1) and turn.score > 0.999 and turn.winding in (1, -1)


def test_a_symmetry_given_by_a_factor_that_is_not_there_is_one_error(grid):
    indices, theta, fold, rng = grid
    spec = specs()
    renamed = (FactorSpec("form", "points", (1.0, 2.0, 3.0)), *spec[1:])
    with pytest.raises(ValueError, match="'orientation'.*given by 'shape'.*not a factor"):
        loop_folds(indices, renamed, 1)
    with pytest.raises(ValueError, match="lists 2 folds, but 'shape' has 3 values"):
        factor_recovery(codes(indices, theta, rng), indices, specs(folds=(4, 2)))


def test_a_continuous_loop_is_binned_finely_enough_for_its_largest_fold():
    turn = tuple(np.linspace(0, 2 * math.pi, 500, endpoint=False))
    spec = (
        FactorSpec("shape", "points", (1.0, 2.0, 3.0)),
        FactorSpec("orientation", "loop", turn, 2 * math.pi, symmetry_given=("shape", FOLDS)),
    )
    values = np.stack([np.repeat([1.0, 2.0, 3.0], 500), np.tile(turn, 3)], 1)
    indices, scored = scored_factors(values, spec)
    assert scored[1].size == SCORE_BINS * 4  # each of the square's repeats has SCORE_BINS
    assert scored[1].symmetry_given == ("shape", FOLDS)
    assert np.array_equal(loop_folds(indices, scored, 1), np.repeat(FOLDS, 500))
