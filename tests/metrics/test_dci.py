"""DCI: D and C of hand-made importance matrices, known answers, fast-vs-exact agreement."""

import math

import numpy as np
import pytest
from tests.tolerances import float_tol

from prodvae.metrics import completeness, dci, disentanglement

#: Like the reference, D and C add 1e-11 to every importance before taking entropies; each of
#: at most 3 entries then moves an entropy by up to 1e-11 |log 1e-11| / log 2.
OFFSET = 3 * 1e-11 * math.log(1e11) / math.log(2)


def test_d_and_c_by_hand():
    importance = np.array([[0.6, 0.2], [0.0, 0.2]])
    h = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert disentanglement(importance) == pytest.approx(0.8 * (1 - h) + 0.2, abs=OFFSET)
    assert completeness(importance) == pytest.approx(0.6, abs=OFFSET)
    assert disentanglement(np.eye(3)) == pytest.approx(1.0, abs=OFFSET)
    assert completeness(np.ones((3, 3))) == pytest.approx(0.0, abs=OFFSET)


@pytest.mark.parametrize("regressor", ["gbt", "hist", "forest"])
def test_identity_and_noise(regressor, identity_split, noise_split):
    ident = dci(*identity_split, regressor=regressor)
    assert ident["disentanglement"] > 0.85
    assert ident["completeness"] > 0.85
    assert ident["informativeness_test"] > 0.95
    noise = dci(*noise_split, regressor=regressor)
    assert noise["disentanglement"] < 0.2
    assert noise["informativeness_test"] < 0.45  # chance is 1/3 to 1/5


def test_fast_agrees_with_exact(split_factory):
    # The fast preset ("hist") must be within 0.05 of the reference GBT on D.
    for kind in ("identity", "mixed", "noise"):
        split = split_factory(kind, seed=3)
        exact = dci(*split, regressor="gbt")["disentanglement"]
        fast = dci(*split, regressor="hist")["disentanglement"]
        assert abs(fast - exact) < 0.05, (kind, exact, fast)


def test_duplicated_code_lowers_completeness(identity_split):
    # two equally noisy codes of factor 0: the trees need both, so factor 0's importance is
    # shared and completeness drops against one noisy code alone.
    c_train, f_train, c_test, f_test = identity_split
    rng = np.random.default_rng(5)

    def noisy(codes, factors, copies):
        extra = [factors[:, 0] + rng.normal(0, 0.4, len(codes)) for _ in range(copies)]
        return np.column_stack([*extra, codes[:, 1:]])

    base = dci(
        noisy(c_train, f_train, 1), f_train, noisy(c_test, f_test, 1), f_test, regressor="hist"
    )
    dup = dci(
        noisy(c_train, f_train, 2), f_train, noisy(c_test, f_test, 2), f_test, regressor="hist"
    )
    assert dup["completeness"] < base["completeness"] - 0.02


def test_deterministic_and_validated(identity_split, split_factory):
    small = split_factory("mixed", n_train=200, n_test=100)
    a = dci(*small, regressor="gbt", random_state=1)
    b = dci(*small, regressor="gbt", random_state=1)
    assert a == b
    with pytest.raises(ValueError, match="regressor"):
        dci(*identity_split, regressor="xgboost")


def test_constant_codes_score_zero(identity_split):
    c_train, f_train, c_test, f_test = identity_split
    scores = dci(np.ones_like(c_train), f_train, np.ones_like(c_test), f_test, regressor="hist")
    # constant codes get no importance: uniform entropies of 1, and a few roundings
    assert scores["disentanglement"] == pytest.approx(0.0, abs=float_tol(np.float64, 1.0, 8))
    assert scores["completeness"] == pytest.approx(0.0, abs=float_tol(np.float64, 1.0, 8))
