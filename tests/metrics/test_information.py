"""Discretisation and plug-in information against hand-computed values."""

import math

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score
from tests.tolerances import float_tol

from prodvae.metrics import (
    entropies,
    entropy,
    histogram_discretize,
    mutual_information,
    mutual_information_matrix,
)


def test_mutual_information_2x2_by_hand():
    x = np.array([0, 0, 1, 1])
    y = np.array([0, 1, 1, 1])
    # joint p(0,0) = p(0,1) = 1/4, p(1,1) = 1/2; marginals (1/2, 1/2) and (1/4, 3/4)
    expected = (
        0.25 * math.log(0.25 / (0.5 * 0.25))
        + 0.25 * math.log(0.25 / (0.5 * 0.75))
        + 0.5 * math.log(0.5 / (0.5 * 0.75))
    )
    exact = float_tol(np.float64, 1.0, 16)  # a few float64 terms of size below log 2
    assert mutual_information(x, y) == pytest.approx(expected, abs=exact)
    assert mutual_information(y, x) == pytest.approx(expected, abs=exact)


def test_entropy_of_uniform_labels_is_log_k():
    assert entropy(np.arange(12) % 4) == pytest.approx(math.log(4))
    assert entropy(np.zeros(5, dtype=int)) == 0.0
    np.testing.assert_allclose(
        entropies(np.stack([np.arange(6) % 3, np.arange(6) % 2], 1)), [math.log(3), math.log(2)]
    )


def test_mutual_information_matrix_agrees_with_sklearn():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 6, size=(500, 3))
    b = (a[:, :2] + rng.integers(0, 2, size=(500, 2))) % 5
    m = mutual_information_matrix(a, b)
    expected = [[mutual_info_score(b[:, j], a[:, i]) for j in range(2)] for i in range(3)]
    # float64 sums over at most 6 x 5 cells of terms below log 6, here and in sklearn
    np.testing.assert_allclose(m, expected, rtol=0, atol=float_tol(np.float64, math.log(6), 60))


def test_histogram_edges_like_numpy_histogram():
    codes = np.array([[0.0, 3.0], [0.5, 3.0], [1.0, 3.0], [0.49, 3.0]])
    binned = histogram_discretize(codes, num_bins=2)
    np.testing.assert_array_equal(binned[:, 0], [0, 1, 1, 0])  # max falls in the last bin
    assert np.unique(binned[:, 1]).size == 1  # a constant code lands in one bin
    wide = histogram_discretize(np.linspace(-1, 1, 41)[:, None])
    assert wide.min() == 0 and wide.max() == 19


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="num_bins"):
        histogram_discretize(np.zeros((3, 1)), num_bins=0)
    with pytest.raises(ValueError, match="NaN"):
        histogram_discretize(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="codes"):
        histogram_discretize(np.zeros(3))
