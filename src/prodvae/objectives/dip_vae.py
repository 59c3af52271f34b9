"""DIP-VAE I and II (Kumar et al., ICLR 2018): match the aggregate posterior's covariance
to the identity of a standard normal prior.

I: Cov[μ(x)]; II: Cov[μ(x)] + E[diag σ²(x)]. Penalty λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii - 1)²
with λ_d = 10 λ_od for I and λ_d = λ_od for II unless given. Needs a Euclidean space with
Gaussian posteriors (the identity target is the standard normal prior's covariance).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from prodvae.models import VAE
from prodvae.objectives.base import register_objective, require_gaussian, require_topologies
from prodvae.objectives.elbo import ElboObjective, ElboTerms
from prodvae.objectives.likelihoods import LikelihoodOptions
from prodvae.objectives.options import check_choice, check_numbers


def covariance(x: Tensor) -> Tensor:
    """Sample covariance ``[dim, dim]`` of ``x [batch, dim]`` (biased, over the batch)."""
    centred = x - x.mean(0, keepdim=True)
    return centred.T @ centred / x.shape[0]


@dataclass(frozen=True, kw_only=True)
class DIPVAEOptions(LikelihoodOptions):
    """``variant`` I or II; ``lambda_diag`` None: 10 ``lambda_offdiag`` for I, equal for II."""

    variant: str = "I"
    lambda_offdiag: float = 10.0
    lambda_diag: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("variant", self.variant, ("I", "II"))
        check_numbers(self, "lambda_offdiag")
        if self.lambda_diag is not None:
            check_numbers(self, "lambda_diag")

    @property
    def diagonal_weight(self) -> float:
        """λ_d: ``lambda_diag``, or its default for the variant."""
        if self.lambda_diag is not None:
            return self.lambda_diag
        return 10 * self.lambda_offdiag if self.variant == "I" else self.lambda_offdiag


@register_objective("dip_vae")
class DIPVAE(ElboObjective):
    """``recon + KL + λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii - 1)²``."""

    Options = DIPVAEOptions
    options: DIPVAEOptions

    def check_model(self, model: VAE) -> None:
        require_topologies(self.name, model, ("euclidean",))
        require_gaussian(self.name, model)

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        mu, logvar = terms.posterior
        cov = covariance(mu)
        if self.options.variant == "II":
            cov = cov + torch.diag(logvar.exp().mean(0))
        diag = torch.diagonal(cov)
        offdiag = cov - torch.diag(diag)
        weights = self.options
        penalty = (
            weights.lambda_offdiag * (offdiag**2).sum()
            + weights.diagonal_weight * ((diag - 1) ** 2).sum()
        )
        return terms.kl.sum(-1).mean() + penalty, {"dip": penalty.item()}
