"""DIP-VAE I and II (Kumar et al., ICLR 2018): match the aggregate posterior's covariance
to the identity of a standard normal prior.

I: Cov[μ(x)]; II: Cov[μ(x)] + E[diag σ²(x)]. Penalty λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii - 1)²
with λ_d = 10 λ_od for I and λ_d = λ_od for II unless given. Needs a Euclidean space with
Gaussian posteriors (the identity target is the standard normal prior's covariance).
"""

from __future__ import annotations

import torch
from torch import Tensor

from prodvae.models import VAE
from prodvae.objectives.base import (
    check_choice,
    check_number,
    register_objective,
    require_gaussian,
    require_topologies,
)
from prodvae.objectives.elbo import ElboObjective, ElboTerms


def covariance(x: Tensor) -> Tensor:
    """Sample covariance ``[dim, dim]`` of ``x [batch, dim]`` (biased, over the batch)."""
    centred = x - x.mean(0, keepdim=True)
    return centred.T @ centred / x.shape[0]


@register_objective("dip_vae")
class DIPVAE(ElboObjective):
    """``recon + KL + λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii - 1)²``."""

    def __init__(
        self,
        *,
        variant: str = "I",
        lambda_offdiag: float = 10.0,
        lambda_diag: float | None = None,
        likelihood: str = "bernoulli",
        likelihood_scale: float | None = None,
    ) -> None:
        super().__init__(likelihood=likelihood, likelihood_scale=likelihood_scale)
        self.variant = check_choice(self.name, "variant", variant, ("I", "II"))
        self.lambda_offdiag = check_number(self.name, "lambda_offdiag", lambda_offdiag)
        default = 10 * self.lambda_offdiag if variant == "I" else self.lambda_offdiag
        self.lambda_diag = default if lambda_diag is None else lambda_diag
        check_number(self.name, "lambda_diag", self.lambda_diag)

    def check_model(self, model: VAE) -> None:
        require_topologies(self.name, model, ("euclidean",))
        require_gaussian(self.name, model)

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        mu, logvar = terms.posterior
        cov = covariance(mu)
        if self.variant == "II":
            cov = cov + torch.diag(logvar.exp().mean(0))
        diag = torch.diagonal(cov)
        offdiag = cov - torch.diag(diag)
        penalty = (
            self.lambda_offdiag * (offdiag**2).sum() + self.lambda_diag * ((diag - 1) ** 2).sum()
        )
        return terms.kl.sum(-1).mean() + penalty, {"dip": penalty.item()}
