"""Histogram discretisation and plug-in information estimates (in nats).

Follows disentanglement_lib's protocol (Locatello et al., ICML 2019): each code is cut into
``num_bins`` equal-width bins over its own ``[min, max]`` (``numpy.histogram`` edges) and
mutual information is the plug-in estimate from the joint histogram of counts.
"""

from __future__ import annotations

import numpy as np

from prodvae.metrics._checks import as_codes, as_factors

#: Default number of equal-width bins per code (disentanglement_lib).
NUM_BINS = 20


def histogram_discretize(codes: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
    """Bin index ``[N, L]`` (int64, ``0..num_bins-1``) of each code in equal-width bins.

    The edges are ``numpy.histogram``'s over each column's range; the column maximum falls
    in the last bin and a constant column in a single bin.
    """
    if int(num_bins) != num_bins or num_bins < 1:
        raise ValueError(f"num_bins must be a positive integer, got {num_bins!r}")
    values = as_codes(codes)
    out = np.empty(values.shape, dtype=np.int64)
    for i in range(values.shape[1]):
        edges = np.histogram_bin_edges(values[:, i], bins=int(num_bins))
        out[:, i] = np.digitize(values[:, i], edges[:-1]) - 1
    return out


def entropy(labels: np.ndarray) -> float:
    """Empirical entropy (nats) of a vector of integer labels ``[N]``."""
    counts = np.unique(np.asarray(labels), return_counts=True)[1]
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def entropies(labels: np.ndarray) -> np.ndarray:
    """Empirical entropy (nats) of each column of ``labels [N, K]``, ``[K]``."""
    labels = as_factors(labels, "labels")
    return np.array([entropy(labels[:, j]) for j in range(labels.shape[1])])


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information (nats) between two label vectors ``[N]``."""
    a = np.unique(np.asarray(a), return_inverse=True)[1].reshape(-1)
    b = np.unique(np.asarray(b), return_inverse=True)[1].reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"label vectors differ in length: {a.shape[0]} and {b.shape[0]}")
    n_b = int(b.max()) + 1
    counts = np.bincount(a * n_b + b, minlength=(int(a.max()) + 1) * n_b)
    joint = counts.reshape(-1, n_b) / a.shape[0]
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    nonzero = joint > 0
    return float(max(0.0, (joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])).sum()))


def mutual_information_matrix(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """``m[i, j] = I(code_i; factor_j)`` in nats, ``[L, K]``, from integer labels
    ``discrete_codes [N, L]`` and ``factors [N, K]``."""
    codes = np.asarray(discrete_codes)
    factors = np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or codes.shape[0] != factors.shape[0]:
        raise ValueError(
            f"expected discrete_codes [N, L] and factors [N, K], got {codes.shape} and "
            f"{factors.shape}"
        )
    out = np.empty((codes.shape[1], factors.shape[1]))
    for i in range(codes.shape[1]):
        for j in range(factors.shape[1]):
            out[i, j] = mutual_information(codes[:, i], factors[:, j])
    return out


def binned_mutual_information(
    codes: np.ndarray, factors: np.ndarray, num_bins: int = NUM_BINS
) -> np.ndarray:
    """MI matrix ``[L, K]`` (nats) between binned continuous ``codes`` and ``factors``."""
    return mutual_information_matrix(histogram_discretize(codes, num_bins), as_factors(factors))
