"""Scoring a dataset that is no grid: rows drawn at random, continuous factors in bins."""

import math

import numpy as np
import pytest
import torch

from prodvae.bench.preset import Evaluation
from prodvae.bench.scoring import score_subset
from prodvae.data import FactorSpec
from prodvae.data.factor_bins import SCORE_BINS, scored_factors
from prodvae.data.files import from_file, write_dataset
from prodvae.metrics import evaluate
from prodvae.metrics.samples import draw
from prodvae.spaces import ProductSpace

SPACE = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * points(3, 3.0, 0.5)")
ROWS = 3000


def _bytes(fraction: np.ndarray) -> np.ndarray:
    """A share in [0, 1) as two bytes (hi, lo): 1/65536 steps."""
    level = np.floor(fraction * 65536).astype(np.int64)
    return np.stack([level // 256, level % 256], -1).astype(np.uint8)


def _share(hi: torch.Tensor, lo: torch.Tensor) -> torch.Tensor:
    return (hi.double() * 256 + lo.double() + 0.5) / 65536


@pytest.fixture(scope="module")
def photographs(tmp_path_factory):
    """Rows of 3 objects at random angles (a loop) and scales (a segment), no grid: each
    image holds its own factor values in its pixels, read back by :func:`true_encoder`."""
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * math.pi, ROWS)
    scale = rng.uniform(0.5, 1.5, ROWS)
    thing = rng.integers(0, 3, ROWS).astype(np.float64)
    images = np.zeros((ROWS, 4, 4, 3), dtype=np.uint8)
    images[:, 0, 0:2, 0] = _bytes(angle / (2 * math.pi))
    images[:, 0, 0:2, 1] = _bytes(scale - 0.5)
    images[:, 0, 0, 2] = thing
    spec = (
        FactorSpec("angle", "loop", period=2 * math.pi),
        FactorSpec("scale", "segment"),
        FactorSpec("object", "points"),
    )
    factors = np.stack([angle, scale, thing], 1)
    path = tmp_path_factory.mktemp("rows") / "photos.npz"
    write_dataset(path, spec, ROWS, (3, 4, 4), iter([(images, factors)]))
    return from_file(path)


def true_encoder(images: torch.Tensor) -> torch.Tensor:
    """Codes that hold each factor exactly (to 1/65536): the angle round the loop block, the
    scale along the segment, the object at its point."""
    angle = 2 * math.pi * _share(images[:, 0, 0, 0], images[:, 0, 0, 1])
    scale = _share(images[:, 1, 0, 0], images[:, 1, 0, 1])
    thing = images[:, 2, 0, 0].double()
    return torch.stack(
        [3 * torch.cos(angle), 3 * torch.sin(angle), 2 * scale - 1, 3 * thing - 3], 1
    )


def test_continuous_factors_are_scored_in_equal_width_bins():
    spec = (
        FactorSpec("seg", "segment", values=tuple(np.linspace(0.0, 1.0, 101))),
        FactorSpec("ring", "loop", values=tuple(np.linspace(0, 6, 50)), period=2 * math.pi),
        FactorSpec(
            "thrice", "loop", values=tuple(np.linspace(0, 6, 50)), period=2 * math.pi, symmetry=3
        ),
        FactorSpec("few", "segment", values=tuple(float(v) for v in range(SCORE_BINS))),
        FactorSpec("many", "points", values=tuple(float(v) for v in range(50))),
    )
    tau = 2 * math.pi
    values = np.array(
        [
            [0.0, -0.1, 0.0, 3.0, 7.0],  # a loop's value below 0 wraps to its last bin
            [0.0499, tau + 0.1, tau / 60 - 1e-9, 19.0, 49.0],
            [0.0501, 0.0, tau / 60 + 1e-9, 0.0, 0.0],
            [1.0, 3.2, tau - 1e-9, 12.2, 12.0],  # the top of a segment is in its last bin
        ]
    )
    indices, scored = scored_factors(values, spec)
    np.testing.assert_array_equal(
        indices,
        [[0, 19, 0, 3, 7], [0, 0, 0, 19, 49], [1, 0, 1, 0, 0], [19, 10, 59, 12, 12]],
    )
    assert scored[3] is spec[3] and scored[4] is spec[4]  # few values, and points: exact
    assert len(scored[0].values) == SCORE_BINS and len(scored[2].values) == 3 * SCORE_BINS
    np.testing.assert_allclose(scored[0].values, 0.025 + 0.05 * np.arange(20), rtol=0, atol=1e-15)
    np.testing.assert_allclose(scored[1].values, tau / 40 * (1 + 2 * np.arange(20)), atol=1e-15)
    assert (scored[2].period, scored[2].symmetry, scored[2].kind) == (tau, 3, "loop")


def test_bad_factor_values_are_refused():
    spec = (FactorSpec("seg", "segment", values=(0.0, 1.0)),)
    with pytest.raises(ValueError, match=r"factor values must have shape \[N, 1\]"):
        scored_factors(np.zeros((3, 2)), spec)
    with pytest.raises(ValueError, match="NaN or infinite"):
        scored_factors(np.array([[np.nan]]), spec)
    with pytest.raises(ValueError, match="lists no values"):
        scored_factors(np.zeros((1, 1)), (FactorSpec("bare", "segment"),))


def test_rows_are_drawn_by_the_generator(photographs):
    first = draw(photographs, true_encoder, 500, torch.Generator().manual_seed(3))
    again = draw(photographs, true_encoder, 500, torch.Generator().manual_seed(3))
    other = draw(photographs, true_encoder, 500, torch.Generator().manual_seed(4))
    np.testing.assert_array_equal(first.ambient, again.ambient)
    np.testing.assert_array_equal(first.factors, again.factors)
    assert not np.array_equal(first.factors, other.factors)
    assert [len(f.values) for f in first.spec] == [SCORE_BINS, SCORE_BINS, 3]


def test_a_true_encoder_of_rows_scores_what_its_bins_allow(photographs):
    results = evaluate(
        true_encoder, photographs, SPACE, suite="topology", num_train=4000, num_test=100
    )
    assert results["drawn"] == "rows" and results["binned"] == "angle (20), scale (20)"
    assert "left_out" not in results  # the topology suite needs no grid
    # codes at the true angle against bin centres: |mean exp(i u)|, u uniform over a bin,
    # is sinc(1/20); 4000 draws give it to about 6e-5 (the std of cos u, 0.0036, / 63)
    sinc = math.sin(math.pi / SCORE_BINS) / (math.pi / SCORE_BINS)
    assert abs(results["factor_recovery.score.angle"] - sinc) < 5e-4
    assert results["factor_recovery.winding.angle"] in (1.0, -1.0)
    # Spearman of the true scale with its bin: sqrt(1 - 1/20^2) for evenly filled bins
    assert abs(results["factor_recovery.score.scale"] - math.sqrt(1 - 1 / 400)) < 5e-4
    assert results["factor_recovery.score.object"] == 1.0
    assert results["factor_recovery"] == 1.0


def test_the_scores_that_hold_a_factor_hold_it_at_a_bin_of_the_rows(photographs):
    """FactorVAE and BetaVAE on rows: a batch shares one factor's bin; the true encoder's
    held code varies within a twentieth of its range, the others over all of theirs."""
    results = evaluate(
        true_encoder,
        photographs,
        SPACE,
        suite="standard",
        fast=True,
        num_train=300,
        num_test=150,
    )
    assert "left_out" not in results and results["drawn"] == "rows"
    assert results["factor_vae.eval_accuracy"] == 1.0
    assert results["beta_vae.eval_accuracy"] > 0.95
    assert results["mig"] > 0.5


def test_a_subset_scores_factor_vae_on_rows(photographs):
    settings = {"suites": (), "fast": True, "num_train": 300, "num_test": 150, "seed": 0}
    evaluation = Evaluation(**settings, device="cpu", metrics=("mig", "factor_vae"))
    scores = score_subset(true_encoder, photographs, SPACE, evaluation)
    assert scores["mig"] > 0.5 and scores["factor_vae.eval_accuracy"] == 1.0
