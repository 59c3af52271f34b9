"""Persistent homology of paths against exact answers and point clouds of known topology."""

import math

import numpy as np
import pytest

from prodvae.discover.reading import (
    CLUSTER_GAP,
    GROUP_FLOOR,
    LOOP_PERSISTENCE,
    MAX_POINTS,
    barcodes,
    farthest_points,
    pairwise_distances,
    read_cloud,
    read_distances,
    read_path,
    symmetry_order,
)

EPS = 1e-12  # float64 distances of O(1) points: a few ulps


def circle(n, turns=1, noise=0.0, seed=0, endpoint=False):
    t = np.linspace(0, 2 * np.pi, n, endpoint=endpoint)
    points = np.c_[np.cos(turns * t), np.sin(turns * t)]
    return points + noise * np.random.default_rng(seed).normal(size=points.shape), t


def test_hexagon_bars_are_exact():
    # six points on a unit circle: edges of length 1 close a 1-cycle that the triangles
    # across fill at sqrt(3); the diameter is 2
    points, _ = circle(6)
    bars = barcodes(pairwise_distances(points))
    assert bars.diameter == pytest.approx(2.0, abs=EPS)
    assert bars.h1 == pytest.approx(np.array([[0.5, math.sqrt(3) / 2]]), abs=EPS)
    assert bars.h0 == pytest.approx(np.full(5, 0.5), abs=EPS)


def test_points_on_a_line_merge_at_their_gaps():
    bars = barcodes(pairwise_distances(np.array([[0.0], [1.0], [3.0], [7.0]])))
    assert bars.h0 == pytest.approx([4 / 7, 2 / 7, 1 / 7], abs=EPS)
    assert len(bars.h1) == 0 and bars.loop == 0.0


def test_identical_points_merge_at_zero():
    bars = barcodes(pairwise_distances(np.array([[0.0], [0.0], [0.0], [2.0]])))
    assert bars.h0 == pytest.approx([1.0, 0.0, 0.0], abs=EPS)
    assert bars.split == (2, 1.0, 0.0)


def test_noisy_circle_is_a_loop():
    points, t = circle(80, noise=0.05)
    reading = read_path(points, t)
    assert reading.kind == "loop" and reading.symmetry == 1
    assert reading.loop > 0.5  # sqrt(3)/2 for a round circle, less for a noisy one
    assert reading.groups == 1


@pytest.mark.parametrize("turns", [2, 3, 4, 6])
def test_a_circle_traced_k_times_has_symmetry_k(turns):
    points, t = circle(72, turns=turns)
    assert read_path(points, t, period=2 * np.pi).symmetry == turns
    # without the period: the span of the values plus one step
    assert read_path(points, t).symmetry == turns


def test_symmetry_when_the_shift_misses_the_grid():
    # 40 values: a third of a turn is 13.3 steps, so partners are a third of a step off
    points, t = circle(40, turns=3)
    assert read_path(points, t, period=2 * np.pi).symmetry == 3


def test_no_symmetry_for_a_single_turn():
    points, t = circle(64)
    d = pairwise_distances(points)
    assert symmetry_order(d, t, 2 * np.pi) == 1


def test_noisy_segment_is_a_segment():
    s = np.linspace(0, 1, 60)
    points = np.c_[s, 0.3 * s**2, 0.01 * np.random.default_rng(1).normal(size=60)]
    reading = read_path(points, s)
    assert reading.kind == "segment"
    assert reading.loop < LOOP_PERSISTENCE and reading.groups == 1


@pytest.mark.parametrize("k", [2, 3, 5])
def test_clusters_are_points(k):
    rng = np.random.default_rng(k)
    centres = rng.normal(size=(k, 6)) * 3
    labels = np.repeat(np.arange(k), 15)
    points = centres[labels] + 0.05 * rng.normal(size=(len(labels), 6))
    reading = read_path(points, labels.astype(float))
    assert reading.kind == "points" and reading.groups == k
    assert reading.spread <= CLUSTER_GAP * reading.separation


def test_circle_times_segment_is_a_loop():
    # a cylinder: one component and one 1-cycle, like a circle
    rng = np.random.default_rng(2)
    angle, height = rng.uniform(0, 2 * np.pi, 400), rng.uniform(0, 1, 400)
    points = np.c_[np.cos(angle), np.sin(angle), height]
    bars = barcodes(pairwise_distances(points[:128]))
    lengths = bars.h1_lengths
    assert lengths[0] >= LOOP_PERSISTENCE and (len(lengths) < 2 or lengths[1] < LOOP_PERSISTENCE)
    assert bars.split[0] == 1 and bars.h0[0] < GROUP_FLOOR
    assert read_path(points, angle).kind == "loop"


def test_single_images_far_apart_are_points_and_close_ones_a_segment():
    # every value its own group: points only when each stands at least half the diameter off
    apart = np.eye(4)
    assert read_path(apart, np.arange(4.0)).kind == "points"
    steps = np.arange(6.0)[:, None]
    assert read_path(steps, steps[:, 0]).kind == "segment"


@pytest.mark.parametrize(
    "distances, message",
    [
        (np.zeros((3, 2)), "square"),
        (np.array([[0.0, np.nan], [np.nan, 0.0]]), "finite"),
        (np.array([[0.0, -1.0], [-1.0, 0.0]]), ">= 0"),
        (np.zeros((3, 3)), "does not move"),
    ],
)
def test_bad_distances_are_one_clear_error(distances, message):
    with pytest.raises(ValueError, match=message):
        read_distances(distances, np.arange(len(distances), dtype=float))


def test_points_and_values_must_agree():
    with pytest.raises(ValueError, match="disagree"):
        read_path(np.zeros((4, 2)), np.arange(3.0))
    with pytest.raises(ValueError, match="finite"):
        read_path(np.array([[0.0], [np.nan]]), np.arange(2.0))


def shuffled(points, seed=0):
    return points[np.random.default_rng(seed).permutation(len(points))]


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda r: circle(2000, noise=0.08, seed=3)[0], "loop"),
        (lambda r: np.c_[r.uniform(-1, 1, 2000), 0.05 * r.normal(size=2000)], "segment"),
        (
            lambda r: np.repeat(np.eye(3) * 4, 700, axis=0) + 0.1 * r.normal(size=(2100, 3)),
            "points",
        ),
        (
            lambda r: np.c_[circle(2000, noise=0.05)[0], r.uniform(0, 1.0, 2000)],
            "loop",
        ),
    ],
    ids=["ring", "segment", "three clusters", "ring x segment"],
)
def test_clouds_without_values_read_by_landmarks(make, kind):
    cloud = shuffled(make(np.random.default_rng(5)))
    reading = read_cloud(cloud)
    assert reading.kind == kind and reading.num_points == MAX_POINTS
    if kind == "points":
        assert reading.groups == 3


def test_landmarks_cover_a_small_cluster_that_a_random_draw_could_miss():
    rng = np.random.default_rng(0)
    cloud = np.r_[rng.normal(size=(5000, 2)) * 0.1, [[10.0, 10.0]] * 3]
    assert (farthest_points(cloud, 16) >= 5000).any()
    with pytest.raises(ValueError, match="n >= 2"):
        read_cloud(np.zeros((1, 2)))
