"""Mutual information gap (Chen et al., NeurIPS 2018) as in disentanglement_lib.

``MIG = mean_j (m_(1)j - m_(2)j) / H(factor_j)`` with ``m_ij = I(code_i; factor_j)`` from
:mod:`prodvae.metrics.information` (20 equal-width bins). Constant factors (entropy 0, where
the reference divides by zero) are left out of the mean; with one code the runner-up is 0.
``fast`` has no effect: the estimate is already cheap.
"""

from __future__ import annotations

import numpy as np

from prodvae.metrics._checks import check_pair, require_varying
from prodvae.metrics.information import NUM_BINS, binned_mutual_information, entropies
from prodvae.metrics.registry import MetricInputs, register_metric


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = NUM_BINS) -> dict[str, float]:
    """MIG of ``codes [N, L]`` against integer ``factors [N, K]``: ``{"mig"}``."""
    data = check_pair(codes, factors)
    keep = require_varying(data.factors, "mig")
    factors_kept = data.factors[:, keep]
    m = binned_mutual_information(data.codes, factors_kept, num_bins)
    top = np.sort(m, axis=0)[::-1]
    second = top[1] if top.shape[0] > 1 else np.zeros(top.shape[1])
    gaps = (top[0] - second) / entropies(factors_kept)
    return {"mig": float(gaps.mean())}


@register_metric("mig", suites=("standard",))
def _mig_metric(inputs: MetricInputs) -> dict[str, float]:
    return mig(inputs.codes_train, inputs.factors_train)
