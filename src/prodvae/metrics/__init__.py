"""Disentanglement and topology metrics: pure functions over numpy arrays.

Standard scores follow disentanglement_lib (Locatello et al., ICML 2019); see REFERENCE.md §3.
Every metric module registers an adapter with :func:`register_metric` beside its function,
so importing this package fills :data:`METRICS`; :func:`evaluate` runs a suite of them.
"""

from prodvae.metrics.beta_vae import beta_vae_score
from prodvae.metrics.circular import (
    circular_alignment,
    circular_linear_r2,
    circular_std,
    circular_variance,
    fisher_lee,
    mean_resultant_length,
    wrap,
    wrapped_difference,
)
from prodvae.metrics.dci import completeness, dci, disentanglement
from prodvae.metrics.evaluate import evaluate, format_table
from prodvae.metrics.factor_vae import factor_vae_score
from prodvae.metrics.geodesic import geodesic_stress, kruskal_stress, prior_distance
from prodvae.metrics.groups import IntrinsicCodes, LatentGroup, intrinsic_codes, latent_groups
from prodvae.metrics.importance import REGRESSORS, register_regressor
from prodvae.metrics.infomec import infomec
from prodvae.metrics.information import (
    entropies,
    entropy,
    histogram_discretize,
    mutual_information,
    mutual_information_matrix,
)
from prodvae.metrics.mcc import mcc
from prodvae.metrics.mig import mig
from prodvae.metrics.modularity import modularity, modularity_explicitness
from prodvae.metrics.recovery import (
    FactorRecovery,
    factor_recovery,
    recovery_scores,
    winding_number,
)
from prodvae.metrics.registry import (
    METRICS,
    SUITES,
    MetricInputs,
    metrics_in_suite,
    register_metric,
)
from prodvae.metrics.sap import sap
from prodvae.metrics.topology import FactorTopology, topology_report, topology_scores
from prodvae.metrics.total_correlation import (
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    unsupervised_scores,
)

__all__ = [
    "METRICS",
    "REGRESSORS",
    "SUITES",
    "FactorTopology",
    "IntrinsicCodes",
    "LatentGroup",
    "MetricInputs",
    "beta_vae_score",
    "circular_alignment",
    "circular_linear_r2",
    "circular_std",
    "circular_variance",
    "completeness",
    "dci",
    "disentanglement",
    "entropies",
    "entropy",
    "evaluate",
    "factor_vae_score",
    "fisher_lee",
    "format_table",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "geodesic_stress",
    "histogram_discretize",
    "infomec",
    "intrinsic_codes",
    "kruskal_stress",
    "latent_groups",
    "mcc",
    "mean_resultant_length",
    "metrics_in_suite",
    "mig",
    "modularity",
    "modularity_explicitness",
    "mutual_information",
    "mutual_information_matrix",
    "prior_distance",
    "register_metric",
    "register_regressor",
    "sap",
    "topology_report",
    "factor_recovery",
    "FactorRecovery",
    "recovery_scores",
    "winding_number",
    "topology_scores",
    "unsupervised_scores",
    "wrap",
    "wrapped_difference",
]
