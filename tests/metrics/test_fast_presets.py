"""Agreement of the subsampling fast presets with the exact metrics."""

import pytest

from prodvae.metrics import METRICS, latent_groups
from prodvae.metrics.registry import MetricInputs


@pytest.mark.parametrize("name", ["infomec"])
@pytest.mark.parametrize("kind", ["mixed", "noise"])
def test_fast_preset_within_005_of_exact(name, kind, split_factory):
    split = split_factory(kind, n_train=5000, n_test=1000, seed=7)

    def run(fast):
        inputs = MetricInputs(
            *split, ambient_train=split.codes_train, groups=latent_groups(3), fast=fast
        )
        return METRICS[name].fn(inputs)

    exact, fast = run(False), run(True)
    assert exact.keys() == fast.keys()
    for key in exact:
        assert abs(exact[key] - fast[key]) < 0.05, (key, exact[key], fast[key])


@pytest.mark.parametrize("name", ["mig", "sap", "modularity_explicitness", "mcc", "unsupervised"])
def test_metrics_without_fast_preset_are_unchanged(name, split_factory):
    split = split_factory("mixed", n_train=3000, n_test=500, seed=8)
    runs = [
        METRICS[name].fn(
            MetricInputs(*split, ambient_train=split.codes_train, groups=latent_groups(3), fast=f)
        )
        for f in (False, True)
    ]
    assert runs[0] == runs[1]
