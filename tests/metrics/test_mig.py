"""MIG: hand-computed cases and the known answers."""

import math

import numpy as np
import pytest
from tests.tolerances import float_tol

from prodvae.metrics import mig


def test_mig_by_hand():
    factor = np.array([[0], [0], [1], [1]])
    # code 0 copies the factor (I = log 2); code 1 = [0, 0, 0, 1]
    codes = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    second = 0.5 * math.log(4 / 3) + 0.25 * math.log(2 / 3) + 0.25 * math.log(2)
    expected = (math.log(2) - second) / math.log(2)
    # a few float64 terms of size below 1
    assert mig(codes, factor)["mig"] == pytest.approx(expected, abs=float_tol(np.float64, 1.0, 16))


def test_identity_noise_constant(identity_split, noise_split):
    assert mig(identity_split.codes_train, identity_split.factors_train)["mig"] > 0.95
    assert mig(noise_split.codes_train, noise_split.factors_train)["mig"] < 0.05
    constant = np.ones_like(identity_split.codes_train)
    assert mig(constant, identity_split.factors_train)["mig"] == 0.0


def test_duplicated_code_halves_mig():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 5, size=(2000, 2))
    codes = factors + rng.normal(0, 0.05, size=factors.shape)
    full = mig(codes, factors)["mig"]
    duplicated = mig(np.column_stack([codes[:, 0], codes[:, 0], codes[:, 1]]), factors)["mig"]
    assert full > 0.97
    assert duplicated == pytest.approx(full / 2, abs=0.02)


def test_constant_factor_is_left_out_and_bad_input_raises(identity_split):
    codes, factors = identity_split.codes_train, identity_split.factors_train
    with_constant = np.column_stack([factors, np.zeros(len(factors), dtype=int)])
    assert mig(codes, with_constant)["mig"] == pytest.approx(mig(codes, factors)["mig"])
    with pytest.raises(ValueError, match="constant"):
        mig(codes, np.zeros_like(factors))
    with pytest.raises(ValueError, match="integer"):
        mig(codes, factors + 0.5)
    with pytest.raises(ValueError, match="rows"):
        mig(codes[:-1], factors)
