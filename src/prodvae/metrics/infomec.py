"""InfoMEC: InfoM(odularity), InfoE(xplicitness), InfoC(ompactness) (Hsu et al., NeurIPS 2023,
"Disentanglement via latent quantization").

``NMI[j, i] = I(factor_j; code_i) / H(factor_j)`` with the shared 20-bin plug-in MI (the
authors' release uses a k-NN estimator for continuous codes; binning keeps this consistent
with MIG). Active codes: range > max range / 20. With ``K`` factors and ``A`` active codes:
``InfoM = (mean_i max_j NMI / sum_j NMI - 1/K) / (1 - 1/K)`` over active codes,
``InfoC = (mean_j max_i NMI / sum_i NMI - 1/A) / (1 - 1/A)``,
``InfoE = mean_j (H_null - H_model) / H_null`` with log-losses of an unpenalised,
class-balanced multinomial logistic regression on standardised codes (null: zero inputs).
``fast``: the regressions use at most 2,000 samples.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from prodvae.metrics._checks import check_pair, require_varying
from prodvae.metrics.information import binned_mutual_information, entropies
from prodvae.metrics.registry import MetricInputs, register_metric

#: Samples for the InfoE regressions in fast mode.
FAST_NUM_SAMPLES = 2000


def _log_loss(x: np.ndarray, y: np.ndarray) -> float:
    model = LogisticRegression(C=np.inf, class_weight="balanced", max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the authors cap at 100 rounds
        model.fit(x, y)
    return float(log_loss(y, model.predict_proba(x), labels=model.classes_))


def _ratio_score(nmi: np.ndarray, axis: int) -> float:
    """Normalised mean preference; groups carrying no information are left out."""
    count = nmi.shape[axis]
    total = nmi.sum(axis=axis)
    informative = total > 0
    if not informative.any():
        return 0.0
    if count < 2:
        return 1.0
    preference = nmi.max(axis=axis)[informative] / total[informative]
    return float((preference.mean() - 1 / count) / (1 - 1 / count))


def infomec(
    codes: np.ndarray, factors: np.ndarray, max_samples: int | None = None
) -> dict[str, float]:
    """``{"infom", "infoc", "infoe"}`` of ``codes [N, L]`` against ``factors [N, K]``."""
    data = check_pair(codes, factors)
    keep = require_varying(data.factors, "infomec")
    labels = data.factors[:, keep]
    ranges = np.ptp(data.codes, axis=0)
    active = ranges > ranges.max() / 20
    if not active.any():
        return {"infom": 0.0, "infoc": 0.0, "infoe": 0.0}
    nmi = binned_mutual_information(data.codes, labels).T / entropies(labels)[:, None]
    nmi = nmi[:, active]
    x = data.codes[:max_samples]
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    gains = []
    for j in range(labels.shape[1]):
        y = labels[:max_samples, j]
        null = _log_loss(np.zeros_like(x), y)
        gains.append((null - _log_loss(x, y)) / null)
    return {
        "infom": _ratio_score(nmi, axis=0),
        "infoc": _ratio_score(nmi, axis=1),
        "infoe": float(np.mean(gains)),
    }


@register_metric("infomec", suites=("standard",))
def _infomec_metric(inputs: MetricInputs) -> dict[str, float]:
    n = FAST_NUM_SAMPLES if inputs.fast else None
    return infomec(inputs.codes_train, inputs.factors_train, max_samples=n)
