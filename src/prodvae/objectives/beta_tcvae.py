"""β-TCVAE (Chen et al., NeurIPS 2018) with the minibatch-stratified estimator.

``recon + α MI + β TC + γ dimension-wise KL``, where the three terms split
``E[log q(z|x) - log p(z)]`` (see :mod:`prodvae.objectives.total_correlation`). The prior
density is the product space's own (``space.log_prob``), so any space works; the posterior
must be Gaussian for the density estimates. ``units`` chooses what the TC separates:
ambient dimensions (the original) or whole latent factors.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from prodvae.models import VAE
from prodvae.objectives.base import register_objective, require_gaussian
from prodvae.objectives.elbo import ElboObjective, ElboTerms
from prodvae.objectives.likelihoods import LikelihoodOptions
from prodvae.objectives.options import check_choice, check_count, check_numbers
from prodvae.objectives.total_correlation import as_float64, dimension_blocks, kl_decomposition


@dataclass(frozen=True, kw_only=True)
class BetaTCVAEOptions(LikelihoodOptions):
    """Weights ``alpha`` (MI), ``beta`` (TC), ``gamma`` (dimension-wise KL); the training set's
    size for the minibatch-stratified estimate; ``units``: ``dimensions`` or ``factors``."""

    beta: float = 6.0
    alpha: float = 1.0
    gamma: float = 1.0
    dataset_size: int = 100_000
    units: str = "dimensions"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_numbers(self, "beta", "alpha", "gamma")
        check_count("dataset_size", self.dataset_size, low=3)
        check_choice("units", self.units, ("dimensions", "factors"))


@register_objective("beta_tcvae")
class BetaTCVAE(ElboObjective):
    """KL decomposed into index-code MI, total correlation and dimension-wise KL."""

    Options = BetaTCVAEOptions
    options: BetaTCVAEOptions

    def check_model(self, model: VAE) -> None:
        require_gaussian(self.name, model)

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        space, o = model.space, self.options
        blocks = dimension_blocks(space.dim) if o.units == "dimensions" else space.slices
        log_prior = space.log_prob(terms.z).sum(-1)
        z, mu, logvar, log_prior = as_float64(terms.z, *terms.posterior, log_prior)
        parts = kl_decomposition(z, mu, logvar, log_prior, blocks, o.dataset_size)
        penalty = (
            o.alpha * parts.mutual_information
            + o.beta * parts.total_correlation
            + o.gamma * parts.dimension_kl
        )
        logs = {
            "mutual_information": parts.mutual_information.item(),
            "tc": parts.total_correlation.item(),
            "dimension_kl": parts.dimension_kl.item(),
        }
        return penalty.to(terms.z.dtype), logs
