"""Model fits in worker processes give exactly the sequential numbers, and the reference's.

Each exact metric is computed with its fits in two worker processes (``n_jobs=2``) and in
this process one after another (``n_jobs=1``): the scores must be equal, not close. DCI is
also checked against disentanglement_lib's own loop (a default GBT per factor in turn).
"""

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from prodvae.metrics import (
    METRICS,
    completeness,
    dci,
    disentanglement,
    latent_groups,
    modularity_explicitness,
    sap,
)
from prodvae.metrics.evaluate import run_metrics
from prodvae.metrics.parallel import Job, num_binary_problems, run_jobs
from prodvae.metrics.registry import MetricInputs


@pytest.fixture(scope="module")
def split(split_factory):
    # four codes and factors of 4, 5, 3 and 2 classes: jobs of unequal cost, one binary
    return split_factory("mixed", n_train=400, n_test=200, sizes=(4, 5, 3, 2), seed=4)


def test_run_jobs_keeps_the_order_of_the_jobs():
    jobs = [Job(np.add, (i, 10 * i), cost=c) for i, c in enumerate([1.0, 5.0, 2.0, 9.0, 0.5])]
    expected = [11 * i for i in range(5)]
    assert run_jobs(jobs, n_jobs=2) == expected
    assert run_jobs(jobs, n_jobs=1) == expected
    assert run_jobs([], n_jobs=2) == []


def test_cost_is_the_number_of_binary_problems():
    assert num_binary_problems(np.array([0, 1, 1, 0])) == 1
    assert num_binary_problems(np.array([0, 1, 2, 1])) == 3
    assert num_binary_problems(np.array([3, 3])) == 1


@pytest.mark.parametrize("regressor", ["gbt", "hist", "forest"])
def test_dci_parallel_equals_sequential(split, regressor):
    parallel = dci(*split, regressor=regressor, random_state=3, n_jobs=2)
    assert parallel == dci(*split, regressor=regressor, random_state=3, n_jobs=1)


def test_dci_equals_the_reference_loop(split):
    """disentanglement_lib's compute_importance_gbt: one default GBT per factor, in turn."""
    c_train, f_train, c_test, f_test = split
    importance, train, test = [], [], []
    for j in range(f_train.shape[1]):
        model = GradientBoostingClassifier(random_state=0).fit(c_train, f_train[:, j])
        importance.append(np.abs(model.feature_importances_))
        train.append(np.mean(model.predict(c_train) == f_train[:, j]))
        test.append(np.mean(model.predict(c_test) == f_test[:, j]))
    matrix = np.stack(importance, axis=1)
    assert dci(*split, n_jobs=2) == {
        "disentanglement": disentanglement(matrix),
        "completeness": completeness(matrix),
        "informativeness_train": float(np.mean(train)),
        "informativeness_test": float(np.mean(test)),
    }


def test_sap_parallel_equals_sequential(split):
    kinds = ("loop", "segment", "segment", "segment")
    assert sap(*split, n_jobs=2, code_kinds=kinds) == sap(*split, n_jobs=1, code_kinds=kinds)


def test_explicitness_parallel_equals_sequential(split):
    parallel = modularity_explicitness(*split, n_jobs=2)
    assert parallel == modularity_explicitness(*split, n_jobs=1)


def test_a_suite_computed_together_equals_one_metric_after_another(split):
    inputs = MetricInputs(
        *split, ambient_train=split.codes_train, groups=latent_groups(4), seed=1, fast=True
    )
    names = ["mig", "dci", "sap", "modularity_explicitness", "mcc"]
    together = run_metrics([METRICS[name] for name in names], inputs)
    assert list(together) == names
    for name in names:
        assert together[name][0] == METRICS[name].fn(inputs), name
        assert together[name][1] >= 0.0
