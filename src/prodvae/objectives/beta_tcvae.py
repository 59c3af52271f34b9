"""β-TCVAE (Chen et al., NeurIPS 2018) with the minibatch-stratified estimator.

``recon + α MI + β TC + γ dimension-wise KL``, where the three terms split
``E[log q(z|x) - log p(z)]`` (see :mod:`prodvae.objectives.total_correlation`). The prior
density is the product space's own (``space.log_prob``), so any space works; the posterior
must be Gaussian for the density estimates. ``units`` chooses what the TC separates:
ambient dimensions (the original) or whole latent factors.
"""

from __future__ import annotations

from torch import Tensor

from prodvae.models import VAE
from prodvae.objectives.base import (
    check_choice,
    check_count,
    check_number,
    register_objective,
    require_gaussian,
)
from prodvae.objectives.elbo import ElboObjective, ElboTerms
from prodvae.objectives.total_correlation import as_float64, dimension_blocks, kl_decomposition


@register_objective("beta_tcvae")
class BetaTCVAE(ElboObjective):
    """KL decomposed into index-code MI, total correlation and dimension-wise KL."""

    def __init__(
        self,
        *,
        beta: float = 6.0,
        alpha: float = 1.0,
        gamma: float = 1.0,
        dataset_size: int = 100_000,
        units: str = "dimensions",
        likelihood: str = "bernoulli",
        likelihood_scale: float | None = None,
    ) -> None:
        super().__init__(likelihood=likelihood, likelihood_scale=likelihood_scale)
        self.beta = check_number(self.name, "beta", beta)
        self.alpha = check_number(self.name, "alpha", alpha)
        self.gamma = check_number(self.name, "gamma", gamma)
        self.dataset_size = check_count(self.name, "dataset_size", dataset_size, low=3)
        self.units = check_choice(self.name, "units", units, ("dimensions", "factors"))

    def check_model(self, model: VAE) -> None:
        require_gaussian(self.name, model)

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        space = model.space
        blocks = dimension_blocks(space.dim) if self.units == "dimensions" else space.slices
        log_prior = space.log_prob(terms.z).sum(-1)
        z, mu, logvar, log_prior = as_float64(terms.z, *terms.posterior, log_prior)
        parts = kl_decomposition(z, mu, logvar, log_prior, blocks, self.dataset_size)
        penalty = (
            self.alpha * parts.mutual_information
            + self.beta * parts.total_correlation
            + self.gamma * parts.dimension_kl
        )
        logs = {
            "mutual_information": parts.mutual_information.item(),
            "tc": parts.total_correlation.item(),
            "dimension_kl": parts.dimension_kl.item(),
        }
        return penalty.to(terms.z.dtype), logs
