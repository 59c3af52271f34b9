"""Group awareness, the topology report and the geometry scores on codes that know the answer."""

import math

import numpy as np
import pytest
import torch
from tests.tolerances import float_tol

from prodvae.metrics import (
    geodesic_stress,
    intrinsic_codes,
    kruskal_stress,
    latent_groups,
    prior_distance,
    topology_report,
    topology_scores,
)
from prodvae.metrics.geodesic import NUM_PAIRS
from prodvae.spaces import ProductSpace


@pytest.fixture(scope="module")
def space():
    return ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * points(3, 3.0, 0.5)")


def product_codes(indices, spec, space, noise=0.05, seed=0):
    """Ambient codes of a model that learned every factor with its own kind."""
    rng = np.random.default_rng(seed)
    angle = np.asarray(spec[0].values)[indices[:, 0]] + 0.5 + rng.normal(0, noise, len(indices))
    loop = 3.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    segment = 4 * np.asarray(spec[1].values)[indices[:, 1]] - 2 + rng.normal(0, noise, len(indices))
    points = space.factors[2].points.numpy()[indices[:, 2]] + rng.normal(0, noise, len(indices))
    return np.column_stack([loop, segment, points])


@pytest.fixture(scope="module")
def sample(grid_dataset):
    gen = torch.Generator().manual_seed(0)
    return grid_dataset.sample_factors(1500, gen).numpy()


def test_intrinsic_codes_follow_the_space(space, grid_spec, sample):
    codes = product_codes(sample, grid_spec, space, noise=0.0)
    intrinsic = intrinsic_codes(codes, latent_groups(space))
    assert intrinsic.kinds == ("loop", "segment", "points")
    expected = np.asarray(grid_spec[0].values)[sample[:, 0]] + 0.5
    assert np.allclose(np.cos(intrinsic.values[:, 0] - expected), 1.0)
    np.testing.assert_array_equal(intrinsic.values[:, 2], sample[:, 2])
    plain = intrinsic_codes(codes, latent_groups(4))
    assert plain.kinds == ("segment",) * 4 and np.array_equal(plain.values, codes)
    with pytest.raises(ValueError, match="cover"):
        intrinsic_codes(codes, latent_groups(space)[:2])


def test_topology_report_product_model(space, grid_spec, sample):
    intrinsic = intrinsic_codes(product_codes(sample, grid_spec, space), latent_groups(space))
    report = topology_report(intrinsic, sample, grid_spec)
    assert [r.latent for r in report] == [0, 1, 2]
    assert all(r.kind_match for r in report)
    scores = topology_scores(intrinsic, sample, grid_spec)
    assert scores["topology_match"] == 1.0
    assert scores["recovery"] > 0.95


def test_topology_report_plain_model_misses_the_loop(space, grid_spec, sample):
    # a Gaussian VAE storing the angle as two unrelated numbers, position and shape linearly
    ambient = product_codes(sample, grid_spec, space)
    intrinsic = intrinsic_codes(ambient, latent_groups(4))
    report = topology_report(intrinsic, sample, grid_spec)
    assert [r.kind_match for r in report] == [False, True, False]
    assert report[1].recovery > 0.95


def test_topology_report_noise_recovers_little(grid_spec, sample):
    rng = np.random.default_rng(4)
    intrinsic = intrinsic_codes(rng.normal(size=(len(sample), 3)), latent_groups(3))
    assert topology_scores(intrinsic, sample, grid_spec)["recovery"] < 0.2


def test_geodesic_stress(grid_spec, sample):
    space = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25)")
    spec = grid_spec[:2]
    angle = np.asarray(spec[0].values)[sample[:, 0]]
    # loop circumference 2 pi 3 and the segment stretched by the same factor: isometric
    stretch = 2 * math.pi * 3.0
    codes = np.column_stack(
        [3 * np.cos(angle), 3 * np.sin(angle), stretch * np.asarray(spec[1].values)[sample[:, 1]]]
    )
    groups = latent_groups(space)
    # stress = sqrt(1 - <l,t>^2 / (|l|^2 |t|^2)): three float64 sums of NUM_PAIRS positive
    # terms, each off by up to NUM_PAIRS eps relative, leave 1 - ratio at 4 NUM_PAIRS eps
    # (u = eps / 2 per rounding), which the square root amplifies
    rounding = math.sqrt(float_tol(np.float64, 1.0, 2 * NUM_PAIRS))
    assert geodesic_stress(codes, sample[:, :2], spec, groups)["geodesic_stress"] < rounding
    rng = np.random.default_rng(0)
    noise = rng.normal(size=codes.shape)
    assert geodesic_stress(noise, sample[:, :2], spec, groups)["geodesic_stress"] > 0.3
    assert kruskal_stress(np.array([1.0, 2.0]), np.array([3.0, 6.0])) == pytest.approx(0.0)


def test_prior_distance(space):
    gen = torch.Generator().manual_seed(0)
    on_set = space.project(space.sample(200, gen, dtype=torch.float64)).numpy()
    # projecting a float64 point of the set again moves it by a few roundings of its size (<= 3)
    rounding = float_tol(np.float64, 3.0, 8)
    assert prior_distance(on_set, space)["prior_distance"] == pytest.approx(0.0, abs=rounding)
    pushed = on_set.copy()
    pushed[:, :2] *= 3.5 / 3.0  # every loop code 0.5 outside its circle
    scores = prior_distance(pushed, space)
    assert scores["prior_distance.0"] == pytest.approx(0.5)
    assert scores["prior_distance.1"] == pytest.approx(0.0, abs=rounding)


def test_a_constant_linear_code_scores_zero_without_a_warning():
    import warnings

    from prodvae.metrics.topology import abs_spearman

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert abs_spearman(np.zeros(50), np.arange(50)) == 0.0
    # a float64 Pearson correlation of 50 ranks: a few eps of 1
    tol = float_tol(np.float64, 1.0, 50)
    assert abs_spearman(-np.arange(50.0), np.arange(50)) == pytest.approx(1.0, abs=tol)
