"""evaluate(): suites over a real grid dataset, the registry contract, layering."""

import ast
import math
from pathlib import Path

import numpy as np
import pytest
import sklearn
import torch
from tests.tolerances import float_tol

import prodvae.metrics
from prodvae.metrics import METRICS, evaluate, format_table, metrics_in_suite
from prodvae.spaces import ProductSpace

from .conftest import index_encoder

SIZES = {"num_train": 300, "num_test": 150}


def product_encoder(images):
    """Loop angle on a circle of radius 3, position and shape as 1-D codes."""
    idx = index_encoder(images)
    angle = 2 * math.pi * idx[:, 0] / 8
    return torch.column_stack(
        [3 * torch.cos(angle), 3 * torch.sin(angle), 0.8 * idx[:, 1] - 2, 3.0 * idx[:, 2] - 3]
    )


@pytest.fixture(scope="module")
def fast_all(grid_dataset):
    space = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * points(3, 3.0, 0.5)")
    return evaluate(product_encoder, grid_dataset, space=space, suite="all", fast=True, **SIZES)


def test_fast_suite_scores_and_metadata(fast_all):
    assert fast_all["sklearn_version"] == sklearn.__version__
    assert fast_all["dci_regressor"] == "hist" and fast_all["fast"] is True
    assert fast_all["mig"] > 0.9 and fast_all["dci.disentanglement"] > 0.9
    assert fast_all["factor_vae.eval_accuracy"] == 1.0
    assert fast_all["beta_vae.eval_accuracy"] > 0.95
    assert "modularity_explicitness.modularity" in fast_all
    table = format_table(fast_all)
    assert "dci.disentanglement" in table and "sklearn_version" in table


def test_topology_suite_with_space(grid_dataset):
    space = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * points(3, 3.0, 0.5)")
    results = evaluate(product_encoder, grid_dataset, space=space, suite="topology", **SIZES)
    assert results["topology.topology_match"] == 1.0
    assert results["topology.recovery"] > 0.95
    # float64 codes on the set: only the rounding of 3 cos, 3 sin (size 3) is left
    assert results["geometry.prior_distance"] < float_tol(np.float64, 3.0, 8)
    assert "mig" not in results


def test_same_seed_same_numbers_and_bad_suite(grid_dataset):
    a = evaluate(index_encoder, grid_dataset, suite="topology", seed=2, **SIZES)
    b = evaluate(index_encoder, grid_dataset, suite="topology", seed=2, **SIZES)
    assert {k: v for k, v in a.items() if "seconds" not in k} == {
        k: v for k, v in b.items() if "seconds" not in k
    }
    with pytest.raises(ValueError, match="suite"):
        evaluate(index_encoder, grid_dataset, suite="fancy")


def test_every_registered_metric_returns_finite_floats(fast_all):
    for entry in metrics_in_suite("all"):
        keys = [k for k in fast_all if k == entry.name or k.startswith(entry.name + ".")]
        assert keys, entry.name
        assert all(isinstance(fast_all[k], float) and np.isfinite(fast_all[k]) for k in keys)
    assert set(METRICS) == {e.name for e in metrics_in_suite("all")}


def test_metrics_import_only_spaces_and_data():
    allowed = ("metrics", "spaces", "data", "registry")  # the registry sits below every layer
    root = Path(prodvae.metrics.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("prodvae."):
                    assert name.split(".")[1] in allowed, (path, name)
