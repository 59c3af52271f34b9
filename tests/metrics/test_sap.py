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
