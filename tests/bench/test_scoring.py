import math

import numpy as np
import pytest
import torch
from tests.tolerances import float_tol

from prodvae.bench.preset import Evaluation
from prodvae.bench.scoring import LOOP_RECOVERY, score
from prodvae.data import get_dataset
from prodvae.metrics import evaluate, registry


def pixel_codes(images):
    """Four fixed pixels of each image as codes ``[n, 4]``."""
    flat = torch.as_tensor(images).reshape(images.shape[0], -1).double()
    return flat[:, [5, 300, 1000, 2000]].numpy()


def test_a_metric_subset_scores_what_evaluate_scores(monkeypatch):
    dataset = get_dataset("torus", image_size=32, factor_sizes=(8, 8))
    names = ("mig", "sap", "topology")
    subset = Evaluation(("standard", "topology"), True, 300, 100, 3, "cpu", names)
    mine = score(pixel_codes, dataset, None, subset)
    monkeypatch.setattr(registry, "METRICS", {n: registry.METRICS[n] for n in names})
    reference = evaluate(
        pixel_codes, dataset, suite="all", fast=True, num_train=300, num_test=100, seed=3
    )
    keys = [k for k, v in reference.items() if isinstance(v, float) and "seconds" not in k]
    assert {"mig", "sap", "topology.recovery"} <= set(keys)
    for key in keys:
        # the same float64 metric code on the same codes and seed: a few roundings apart
        same = float_tol(np.float64, max(1.0, abs(reference[key])), 16)
        assert mine[key] == pytest.approx(reference[key], abs=same), key
    loops = [mine[f"topology.recovery.{s.name}"] for s in dataset.spec]
    assert math.isclose(mine[LOOP_RECOVERY], float(np.mean(loops)))
