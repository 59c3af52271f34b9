"""Input checks shared by the metrics: shapes, finiteness, integer class indices."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Labelled(NamedTuple):
    """Codes and factors checked and converted: ``codes [N, L]`` float64, ``factors [N, K]``
    int64 class indices relabelled to ``0..k-1`` per column."""

    codes: np.ndarray
    factors: np.ndarray


def as_codes(codes: object, name: str = "codes") -> np.ndarray:
    """``codes`` as a finite float64 array ``[N, L]``, else ``ValueError`` naming ``name``."""
    array = np.asarray(codes, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty array [N, L], got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def as_factors(factors: object, name: str = "factors") -> np.ndarray:
    """Integer class indices ``[N, K]`` relabelled to ``0..k-1`` per column (int64)."""
    raw = np.asarray(factors)
    if raw.ndim != 2 or raw.shape[0] == 0 or raw.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty array [N, K], got shape {raw.shape}")
    if not np.issubdtype(raw.dtype, np.integer):
        as_float = raw.astype(np.float64)
        if not np.isfinite(as_float).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        if not np.array_equal(as_float, np.round(as_float)):
            raise ValueError(f"{name} must be integer class indices, got non-integer values")
        raw = as_float.astype(np.int64)
    labels = np.empty(raw.shape, dtype=np.int64)
    for j in range(raw.shape[1]):
        labels[:, j] = np.unique(raw[:, j], return_inverse=True)[1].reshape(-1)
    return labels


def check_pair(codes: object, factors: object, suffix: str = "") -> Labelled:
    """Check ``codes [N, L]`` and ``factors [N, K]`` together (same ``N``)."""
    c = as_codes(codes, "codes" + suffix)
    f = as_factors(factors, "factors" + suffix)
    if c.shape[0] != f.shape[0]:
        raise ValueError(
            f"codes{suffix} and factors{suffix} must have the same number of rows, "
            f"got {c.shape[0]} and {f.shape[0]}"
        )
    return Labelled(c, f)


def check_split(
    codes_train: object, factors_train: object, codes_test: object, factors_test: object
) -> tuple[Labelled, Labelled]:
    """Check a train/test split: same number of codes and of factors in both parts.

    Test factor labels are mapped with the *train* labelling so that class ``c`` means the
    same value in both parts (test values unseen in training become new labels).
    """
    train = check_pair(codes_train, factors_train, "_train")
    test_codes = as_codes(codes_test, "codes_test")
    raw_train = np.asarray(factors_train)
    raw_test = np.asarray(factors_test)
    as_factors(raw_test, "factors_test")  # shape and integrality checks
    if test_codes.shape[1] != train.codes.shape[1]:
        raise ValueError(
            f"codes_test has {test_codes.shape[1]} columns, codes_train {train.codes.shape[1]}"
        )
    if raw_test.shape[1] != raw_train.shape[1] or raw_test.shape[0] != test_codes.shape[0]:
        raise ValueError(
            f"factors_test has shape {raw_test.shape}; expected [{test_codes.shape[0]}, "
            f"{raw_train.shape[1]}]"
        )
    test_labels = np.empty(raw_test.shape, dtype=np.int64)
    for j in range(raw_train.shape[1]):
        values = np.unique(raw_train[:, j])
        position = np.searchsorted(values, raw_test[:, j])
        position = np.minimum(position, len(values) - 1)
        seen = values[position] == raw_test[:, j]
        test_labels[:, j] = np.where(seen, position, len(values))
    return train, Labelled(test_codes, test_labels)


def varying_factors(factors: np.ndarray) -> np.ndarray:
    """Boolean mask ``[K]`` of factors that take more than one value."""
    return np.array([np.unique(factors[:, j]).size > 1 for j in range(factors.shape[1])])


def require_varying(factors: np.ndarray, metric: str) -> np.ndarray:
    """Indices of varying factors; ``ValueError`` if none varies."""
    mask = varying_factors(factors)
    if not mask.any():
        raise ValueError(f"{metric}: factors are all constant; the metric is undefined")
    return np.flatnonzero(mask)


def as_grid_indices(factors: object, spec: tuple, name: str = "factors") -> np.ndarray:
    """Grid indices ``[N, K]`` (int64) into ``spec[k].values``, range-checked (not relabelled)."""
    raw = np.asarray(factors)
    if raw.ndim != 2 or raw.shape[1] != len(spec):
        raise ValueError(f"{name} must be [N, {len(spec)}] grid indices, got shape {raw.shape}")
    as_factors(raw, name)  # integrality and finiteness
    indices = raw.astype(np.int64)
    sizes = np.array([len(s.values) for s in spec])
    if (indices < 0).any() or (indices >= sizes).any():
        raise ValueError(f"{name}: grid indices out of range for factor sizes {tuple(sizes)}")
    return indices
