import pytest
import toy_objectives  # noqa: F401  (registers toy_ae)
from tiny_runs import SAMPLED, make_tiny

from prodvae.train import read_metrics, train


@pytest.fixture
def tiny_config(tmp_path):
    """``tiny_config(*overrides)``: a tiny config writing under this test's tmp_path."""
    return lambda *overrides: make_tiny(tmp_path, *overrides)


@pytest.fixture(scope="session")
def sampled_losses(tmp_path_factory):
    """``[(step, loss)]`` of an uninterrupted 6-step run that samples posterior noise."""
    root = tmp_path_factory.mktemp("sampled")
    result = train(make_tiny(root, *SAMPLED), root / "whole")
    return [(line["step"], line["loss"]) for line in read_metrics(result.run_dir)]
