"""The ground-truth x latent association (known answers) and the latent portraits."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from tests.tolerances import float_tol

from prodvae.data import FactorSpec
from prodvae.spaces import ProductSpace
from prodvae.viz.association import (
    associate,
    entropy,
    latent_units,
    mutual_information,
    plot_association,
)
from prodvae.viz.figures import scored_sample
from prodvae.viz.portraits import colour_scale, plot_portraits, portrait_panels

SPEC = (
    FactorSpec("hue", "loop", tuple(np.arange(10) / 10), 1.0),
    FactorSpec("scale", "segment", tuple(np.linspace(0.75, 1.25, 8))),
    FactorSpec("shape", "points", (0.0, 1.0, 2.0, 3.0)),
)
SPACE = ProductSpace.parse("segment * loop(3, 0.5) * points(4) * euclidean(1)")


def _factors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    indices = [rng.integers(0, s.size, n) for s in SPEC]
    return np.stack([np.asarray(s.values)[i] for s, i in zip(SPEC, indices)], axis=1)


def _matched_codes(factors: np.ndarray, seed: int = 1) -> np.ndarray:
    """Codes that carry hue on the loop (reversed and rotated), scale on the segment, shape on
    the points, and noise on the Euclidean axis."""
    rng = np.random.default_rng(seed)
    angle = -2 * math.pi * factors[:, 0] + 1.0
    return np.stack(
        [
            8 * (factors[:, 1] - 1.0),
            3 * np.cos(angle),
            3 * np.sin(angle),
            3.0 * (factors[:, 2] - 1.5),
            rng.normal(size=len(factors)),
        ],
        axis=1,
    )


def test_a_loop_is_one_unit_and_a_euclidean_block_one_unit_per_axis():
    space = ProductSpace.parse("loop * euclidean(3)")
    units = latent_units(space, np.zeros((5, 5)))
    assert units.names == [
        "z0 loop angle",
        "z1 euclidean axis 0",
        "z1 euclidean axis 1",
        "z1 euclidean axis 2",
    ]
    assert units.factor_of_unit == [0, 1, 1, 1]


def test_information_of_known_distributions():
    a = np.repeat(np.arange(4), 4)
    assert entropy(a) == pytest.approx(math.log(4))
    assert mutual_information(a, a) == pytest.approx(math.log(4))
    assert mutual_information(a, a % 2) == pytest.approx(math.log(2))
    # independent by construction: every float64 term is log 1, up to a few roundings
    independent = mutual_information(a, np.tile(np.arange(4), 4))
    assert independent == pytest.approx(0.0, abs=float_tol(np.float64, math.log(4), 16))


def test_matched_codes_score_one_on_their_partner_and_little_elsewhere():
    factors = _factors(4000)
    result = associate(SPACE, _matched_codes(factors), factors, SPEC)
    # columns: segment value, loop angle, point index, euclidean value; I / H = 1 up to the
    # roundings of float64 sums over at most 20 x 20 cells of terms below log 20 (H > 1)
    exact = float_tol(np.float64, math.log(20), 2 * 20 * 20)
    np.testing.assert_allclose(result.matrix[0, 1], 1.0, rtol=0, atol=exact)  # hue, loop angle
    np.testing.assert_allclose(result.matrix[2, 2], 1.0, rtol=0, atol=exact)  # shape, points
    # 8 scale values in 20 equal-width bins of a linear code: each value its own bin
    np.testing.assert_allclose(result.matrix[1, 0], 1.0, rtol=0, atol=exact)
    off_diagonal = result.matrix.copy()
    off_diagonal[[0, 1, 2], [1, 0, 2]] = 0.0
    # plug-in bias for independent variables: about (bins - 1)(classes - 1) / (2 N H)
    assert off_diagonal.max() < 0.02
    assert result.best_factor[:3] == [1, 0, 2]
    assert result.factor_names == ["hue (loop)", "scale (segment)", "shape (points)"]


def test_a_constant_factor_has_a_zero_row():
    factors = _factors(500)
    factors[:, 1] = 1.0
    result = associate(SPACE, _matched_codes(factors), factors, SPEC)
    np.testing.assert_array_equal(result.matrix[1], 0.0)


@pytest.mark.parametrize(
    ("codes", "factors", "message"),
    [
        (np.zeros((10, 4)), _factors(10), r"codes must have shape \[N, 5\]"),
        (np.full((10, 5), np.nan), _factors(10), "codes contain non-finite"),
        (np.zeros((10, 5)), _factors(10)[:, :2], r"factors must have shape \[N, 3\]"),
        (np.zeros((10, 5)), _factors(9), "same, non-zero number of rows"),
    ],
)
def test_bad_inputs_raise(codes, factors, message):
    with pytest.raises(ValueError, match=message):
        associate(SPACE, codes, factors, SPEC)


def test_loop_partners_get_a_cyclic_colour_map():
    assert colour_scale(SPEC[0], np.array([0.1, 0.5]))[0] == "twilight"
    assert colour_scale(SPEC[0], np.array([0.1, 0.5]))[1:] == (0.0, 1.0)  # one full period
    assert colour_scale(SPEC[1], np.array([0.75, 1.25])) == ("viridis", 0.75, 1.25)


def test_portraits_and_heat_map_are_written_deterministically(tmp_path):
    factors = _factors(600)
    codes = _matched_codes(factors)
    result = associate(SPACE, codes, factors, SPEC)
    outputs = []
    for name in ("a", "b"):
        portraits = plot_portraits(SPACE, codes, factors, SPEC, result, tmp_path / f"p{name}.png")
        heat = plot_association(result, tmp_path / f"h{name}.png")
        outputs.append((portraits.path.read_bytes(), heat.path.read_bytes()))
        for figure in (portraits, heat):
            with Image.open(figure.path) as image:
                assert image.size == (figure.width, figure.height)
    assert outputs[0] == outputs[1]
    # four latent factors in rows of three: two rows of panels
    one_row = plot_portraits(
        ProductSpace.parse("segment * loop(3, 0.5)"),
        codes[:, :3],
        factors,
        SPEC,
        associate(ProductSpace.parse("segment * loop(3, 0.5)"), codes[:, :3], factors, SPEC),
        tmp_path / "small.png",
    )
    assert portraits.height > one_row.height


def test_portraits_reject_mismatched_rows(tmp_path):
    factors = _factors(50)
    codes = _matched_codes(factors)
    result = associate(SPACE, codes, factors, SPEC)
    with pytest.raises(ValueError, match="differ in length"):
        plot_portraits(SPACE, codes[:40], factors, SPEC, result, tmp_path / "p.png")


def test_a_portrait_per_factor_and_per_euclidean_axis():
    space = ProductSpace.parse("loop * euclidean(3) * segment")
    codes = np.random.default_rng(0).normal(size=(200, 6))
    factors = _factors(200)
    panels = portrait_panels(space, associate(space, codes, factors, SPEC))
    assert [(p.index, p.columns, p.axis) for p in panels] == [
        (0, [0, 1], None),
        (1, [2], 0),
        (1, [3], 1),
        (1, [4], 2),
        (2, [5], None),
    ]


def test_a_file_drawn_at_random_is_associated_through_its_bins():
    # a file that is no grid lists every distinct value: each row would be a class of its own
    rng = np.random.default_rng(3)
    n = 4000
    factors = np.stack(
        [rng.random(n), rng.uniform(0.75, 1.25, n), rng.integers(0, 4, n).astype(float)], 1
    )
    spec = tuple(
        FactorSpec(s.name, s.kind, tuple(np.unique(factors[:, k])), s.period)
        for k, s in enumerate(SPEC)
    )
    dataset = SimpleNamespace(spec=spec, is_grid=False)
    codes = _matched_codes(factors)
    raw = associate(SPACE, codes, factors, spec)
    binned = associate(SPACE, codes, *scored_sample(torch.from_numpy(factors), dataset))
    # a perfect segment code: I <= log 20 bits of code against H = log 4000 rows, as classes
    assert raw.matrix[1, 0] <= math.log(20) / math.log(n)
    # in 20 equal-width bins over the same range as the code's 20: each bin one code bin
    exact = float_tol(np.float64, math.log(20), 2 * 20 * 20)
    np.testing.assert_allclose(binned.matrix[1, 0], 1.0, rtol=0, atol=exact)
    np.testing.assert_allclose(binned.matrix[2, 2], 1.0, rtol=0, atol=exact)
    assert binned.matrix[0, 1] > 0.8  # the hue's bins against the angle's, turned by 1 rad
    assert binned.matrix[:2, 2].max() < 0.02 and binned.matrix[2, :2].max() < 0.02
    assert binned.best_factor[:3] == [1, 0, 2]
    grid = SimpleNamespace(spec=SPEC, is_grid=True)
    values, same = scored_sample(torch.from_numpy(_factors(10)), grid)
    assert same == SPEC and np.array_equal(values, _factors(10))
