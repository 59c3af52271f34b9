"""Factor recovery on codes whose answer is known: each factor in its own column, shared,
folded, wound twice, read from a Euclidean pair."""

import math

import numpy as np
import pytest

from prodvae.data.spec import FactorSpec
from prodvae.metrics import IntrinsicCodes, factor_recovery, recovery_scores, winding_number
from prodvae.metrics.groups import intrinsic_codes, latent_groups
from prodvae.spaces import ProductSpace

N = 4000
SIZES = (40, 30, 5, 8)


def specs():
    loop = tuple(np.linspace(0, 2 * math.pi, SIZES[0], endpoint=False))
    hue = tuple(np.linspace(0, 1, SIZES[1], endpoint=False))
    return (
        FactorSpec("angle", "loop", loop, 2 * math.pi),
        FactorSpec("hue", "loop", hue, 1.0),
        FactorSpec("shape", "points", tuple(range(SIZES[2]))),
        FactorSpec("scale", "segment", tuple(np.linspace(0.5, 1, SIZES[3]))),
    )


@pytest.fixture
def grid():
    rng = np.random.default_rng(0)
    indices = np.stack([rng.integers(0, s, N) for s in SIZES], axis=1)
    spec = specs()
    theta = [2 * math.pi * indices[:, j] / SIZES[j] for j in (0, 1)]
    return indices, spec, theta, rng


def codes_of(columns, kinds):
    return IntrinsicCodes(np.stack(columns, axis=1), tuple(kinds), tuple(range(len(kinds))))


def test_each_factor_in_its_own_column_of_its_kind_is_recovered(grid):
    indices, spec, theta, rng = grid
    noise = 0.05 * rng.standard_normal(N)
    columns = [
        indices[:, 3] * 0.1 + 0.001 * rng.standard_normal(N),  # scale, first
        -theta[1] + 0.3 + noise,  # hue, reversed
        indices[:, 2],  # shape, as a point index
        theta[0] + noise,
    ]
    report = factor_recovery(
        codes_of(columns, ["segment", "loop", "points", "loop"]), indices, spec
    )
    assert [r.columns for r in report] == [(3,), (1,), (2,), (0,)]
    assert [r.winding for r in report] == [1, -1, None, None]
    # circular alignment of angles with N(0, 0.05^2) noise: exp(-0.05^2 / 2) = 0.99875
    assert all(r.score > 0.99 and r.recovered for r in report)
    assert recovery_scores(report)["factor_recovery"] == 1.0


def test_a_factor_shared_by_two_columns_leaves_the_other_unrecovered(grid):
    indices, spec, theta, rng = grid
    columns = [theta[0], theta[0] + 0.1, indices[:, 2], indices[:, 3] * 1.0]
    report = factor_recovery(
        codes_of(columns, ["loop", "loop", "points", "segment"]), indices, spec
    )
    hue = report[1]
    # independent angles: alignment ~ sqrt(pi / 4N) = 0.014; 5 sigma of the Rayleigh spread
    assert hue.score < 5 * math.sqrt(1 / N) and not hue.recovered
    assert report[0].recovered and recovery_scores(report)["factor_recovery"] == 0.75
    assert recovery_scores(report)["recovered.hue"] == 0.0
    assert recovery_scores(report)["recovered.angle"] == 1.0


def test_a_folded_or_doubly_wound_loop_is_not_recovered(grid):
    indices, spec, theta, _ = grid
    folded = np.abs(np.angle(np.exp(1j * theta[0])))  # theta and -theta meet: an arc
    assert winding_number(folded, theta[0]) == 0
    assert winding_number(2 * theta[0], theta[0]) == 2
    assert winding_number(-theta[0], theta[0]) == -1
    report = factor_recovery(
        codes_of(
            [2 * theta[0], theta[1], indices[:, 2], indices[:, 3] * 1.0],
            ["loop"] * 2 + ["points", "segment"],
        ),
        indices,
        spec,
    )
    assert report[0].winding == 2 and not report[0].recovered


def test_a_factor_on_a_coordinate_of_the_wrong_kind_scores_zero(grid):
    indices, spec, theta, _ = grid
    columns = [indices[:, 3] * 1.0, theta[1], indices[:, 2], theta[0]]  # scale on the loop
    report = factor_recovery(
        codes_of(columns, ["loop", "loop", "points", "segment"]), indices, spec
    )
    # scale's one segment column holds the angle and the angle's loop columns hold scale and
    # hue: neither is recovered (Spearman of independent values ~ 1/sqrt(N); 5 sigma)
    assert report[3].score < 5 / math.sqrt(N) and not report[3].recovered
    assert report[0].score < 5 / math.sqrt(N) and not report[0].recovered


def test_a_euclidean_latent_carries_a_loop_in_its_best_pair_of_columns(grid):
    indices, spec, theta, rng = grid
    ambient = rng.standard_normal((N, 10)) * 0.01
    ambient[:, 3], ambient[:, 7] = 5 + np.cos(theta[0]), 2 * np.sin(theta[0])  # an ellipse
    ambient[:, 1], ambient[:, 5] = np.sin(theta[1]), np.cos(theta[1])
    ambient[:, 0] = indices[:, 3]
    ambient[:, 9] = indices[:, 2] + 0.01 * rng.standard_normal(N)
    codes = intrinsic_codes(ambient, latent_groups(10))
    report = factor_recovery(codes, indices, spec)
    assert report[0].columns == (3, 7) and report[0].winding == 1
    assert report[1].columns == (1, 5) and report[1].winding == -1  # (sin, cos): reversed
    assert all(r.recovered for r in report)


def test_the_registered_metric_reads_a_product_space(grid):
    from prodvae.metrics import METRICS
    from prodvae.metrics.registry import MetricInputs

    indices, spec, theta, _ = grid
    space = ProductSpace.parse("loop(3, 0.5) * loop(3, 0.5) * points(5) * segment")
    ring = lambda t: 3 * np.stack([np.cos(t), np.sin(t)], axis=1)  # noqa: E731
    centres = space.factors[2].points.numpy()  # point k's centre on its line
    ambient = np.concatenate(
        [ring(theta[1]), ring(theta[0]), centres[indices[:, 2]][:, None], indices[:, 3:4] * 0.1],
        axis=1,
    )
    inputs = MetricInputs(
        codes_train=ambient,
        factors_train=indices,
        codes_test=ambient,
        factors_test=indices,
        ambient_train=ambient,
        groups=latent_groups(space),
        spec=spec,
    )
    scores = METRICS["factor_recovery"].fn(inputs)
    assert scores["factor_recovery"] == 1.0
    assert scores["winding.angle"] == 1.0 and scores["winding.hue"] == 1.0
    recovered = {k: v for k, v in scores.items() if k.startswith("recovered.")}
    assert recovered == {f"recovered.{s.name}": 1.0 for s in spec}


def test_winding_needs_three_angles():
    with pytest.raises(ValueError, match=">= 3 distinct angles"):
        winding_number(np.zeros(4), np.array([0.0, 0.0, 1.0, 1.0]))


def test_winding_of_continuous_angles_in_bins():
    rng = np.random.default_rng(1)
    theta = rng.uniform(0, 2 * math.pi, 3000)
    phi = -theta + 0.1 * rng.standard_normal(theta.size)
    assert winding_number(phi, theta, bins=40) == -1
    assert winding_number(np.zeros_like(theta), theta, bins=40) == 0


def test_a_loop_of_two_values_has_no_winding_number():
    rng = np.random.default_rng(2)
    indices = np.stack([rng.integers(0, 2, N), rng.integers(0, 8, N)], axis=1)
    spec = (
        FactorSpec("flip", "loop", (0.0, math.pi), 2 * math.pi),
        FactorSpec("scale", "segment", tuple(np.linspace(0.5, 1, 8))),
    )
    codes = codes_of([math.pi * indices[:, 0], indices[:, 1] * 1.0], ["loop", "segment"])
    report = factor_recovery(codes, indices, spec)
    assert report[0].winding is None and report[0].recovered


def test_a_constant_code_recovers_nothing_and_warns_nothing(grid):
    import warnings

    indices, spec, theta, _ = grid
    columns = [theta[0], theta[1], indices[:, 2], np.zeros(N)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = factor_recovery(
            codes_of(columns, ["loop", "loop", "points", "segment"]), indices, spec
        )
    assert report[3].score == 0.0 and not report[3].recovered
