"""SAP: a case derived by hand and the known answers."""

import numpy as np
import pytest

from prodvae.metrics import sap
from prodvae.metrics.sap import sap_matrix


def test_sap_by_hand():
    # code 0 separates a balanced binary factor perfectly; code 1 is constant, so its SVM
    # predicts one class for everything: accuracy 1/2 on balanced test data.
    factor = np.repeat([0, 1], 50)[:, None]
    codes = np.column_stack([np.where(factor[:, 0] == 0, -1.0, 1.0), np.zeros(100)])
    matrix = sap_matrix(codes, factor, codes, factor)
    np.testing.assert_allclose(matrix[:, 0], [1.0, 0.5])
    assert sap(codes, factor, codes, factor)["sap"] == pytest.approx(0.5)


def test_identity_noise_duplicate(identity_split, noise_split):
    ident = sap(*identity_split)["sap"]
    noise = sap(*noise_split)["sap"]
    assert ident > 0.3  # one-vs-rest lines on one code cannot isolate middle classes
    assert noise < 0.05
    c_train, f_train, c_test, f_test = identity_split
    dup = sap(c_train[:, [0, 0, 1, 2]], f_train, c_test[:, [0, 0, 1, 2]], f_test)["sap"]
    assert dup < ident - 0.05  # factor 0's gap vanishes


def test_sap_rejects_mismatched_columns(identity_split):
    c_train, f_train, c_test, f_test = identity_split
    with pytest.raises(ValueError, match="codes_test"):
        sap(c_train, f_train, c_test[:, :2], f_test)


def test_constant_codes_score_zero(identity_split):
    c_train, f_train, c_test, f_test = identity_split
    assert sap(np.ones_like(c_train), f_train, np.ones_like(c_test), f_test)["sap"] == 0.0


def test_a_loop_code_is_read_through_cos_and_sin():
    """8 classes around a circle, coded by a rotated, wrapped angle: a linear SVM on the raw
    angle cannot isolate the classes in the middle of its range; on (cos, sin) it can."""
    rng = np.random.default_rng(0)
    index = rng.integers(8, size=6000)
    angle = np.angle(np.exp(1j * (2 * np.pi * index / 8 + 2.5 + 0.05 * rng.normal(size=6000))))
    codes, factors = angle[:, None], index[:, None]
    split = (codes[:4000], factors[:4000], codes[4000:], factors[4000:])
    as_loop = sap_matrix(*split, code_kinds=("loop",))[0, 0]
    as_line = sap_matrix(*split)[0, 0]
    assert as_loop > 0.95
    assert as_line < 0.7
