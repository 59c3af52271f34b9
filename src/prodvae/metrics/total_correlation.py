"""Unsupervised scores of disentanglement_lib (``unsupervised_metrics``): Gaussian total
correlation and Wasserstein correlation of the code covariance, and the mean pairwise
20-bin MI between codes. Need no ground truth.

With ``S`` the covariance ``[L, L]`` (``np.cov``, ddof 1):
``TC = 1/2 (sum_i log S_ii - log det S)`` (nats; 0 iff S is diagonal);
``W = 2 tr S - 2 tr sqrt(S diag(S))``, also divided by ``tr S``. Codes with zero variance
carry nothing and are dropped (the reference would return infinity). ``fast`` has no effect.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from prodvae.metrics._checks import as_codes
from prodvae.metrics.information import histogram_discretize, mutual_information_matrix
from prodvae.metrics.registry import MetricInputs, register_metric


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """Total correlation (nats) of a Gaussian with covariance ``cov [L, L]``."""
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        return float("inf")
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - logdet))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    """Squared 2-Wasserstein distance between N(0, cov) and N(0, diag(cov))."""
    root = linalg.sqrtm(cov * np.diag(cov)[:, None])
    return float(2 * np.trace(cov) - 2 * np.real(np.trace(root)))


def unsupervised_scores(codes: np.ndarray) -> dict[str, float]:
    """``{"gaussian_total_correlation", "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_norm", "mutual_info_score"}`` of ``codes [N, L]``."""
    values = as_codes(codes)
    values = values[:, values.std(axis=0) > 0]
    num_codes = values.shape[1]
    if num_codes < 2:
        zero = {"gaussian_total_correlation": 0.0, "gaussian_wasserstein_correlation": 0.0}
        return {**zero, "gaussian_wasserstein_correlation_norm": 0.0, "mutual_info_score": 0.0}
    cov = np.cov(values, rowvar=False)
    wasserstein = gaussian_wasserstein_correlation(cov)
    binned = histogram_discretize(values)
    mi = mutual_information_matrix(binned, binned)
    np.fill_diagonal(mi, 0.0)
    return {
        "gaussian_total_correlation": gaussian_total_correlation(cov),
        "gaussian_wasserstein_correlation": wasserstein,
        "gaussian_wasserstein_correlation_norm": wasserstein / float(np.trace(cov)),
        "mutual_info_score": float(mi.sum() / (num_codes**2 - num_codes)),
    }


@register_metric("unsupervised", suites=("standard",))
def _unsupervised_metric(inputs: MetricInputs) -> dict[str, float]:
    return unsupervised_scores(inputs.codes_train)
