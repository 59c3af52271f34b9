"""The tilted VAE (Floto, Kremer & Nica, ICLR 2023): a tilted prior on a sphere of radius τ.

KL is the exact closed form of the ``Tilted`` factor for an isotropic posterior. With
``fixed_variance=True`` the posterior variance is pinned to 1 (logvar = 0), as in the
authors' code, and the KL is still the exact one for N(μ, I). Needs every latent factor to
be ``Tilted``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from prodvae.models import VAE, Posterior
from prodvae.objectives.base import (
    check_number,
    register_objective,
    require_gaussian,
    require_topologies,
)
from prodvae.objectives.elbo import ElboObjective, ElboTerms


@register_objective("tilted")
class TiltedVAE(ElboObjective):
    """``recon + β KL`` against the tilted prior."""

    def __init__(
        self,
        *,
        beta: float = 1.0,
        fixed_variance: bool = False,
        likelihood: str = "bernoulli",
        likelihood_scale: float | None = None,
    ) -> None:
        super().__init__(likelihood=likelihood, likelihood_scale=likelihood_scale)
        self.beta = check_number(self.name, "beta", beta)
        if not isinstance(fixed_variance, bool):
            raise ValueError(f"tilted: fixed_variance must be a bool, got {fixed_variance!r}")
        self.fixed_variance = fixed_variance

    def check_model(self, model: VAE) -> None:
        require_topologies(self.name, model, ("sphere",))
        require_gaussian(self.name, model)

    def adjust_posterior(self, posterior: Posterior) -> Posterior:
        if not self.fixed_variance:
            return posterior
        return Posterior(posterior.mu, torch.zeros_like(posterior.logvar))

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        return self.beta * terms.kl.sum(-1).mean(), {}
