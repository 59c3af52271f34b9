"""The tilted VAE (Floto, Kremer & Nica, ICLR 2023): a tilted prior on a sphere of radius τ.

KL is the exact closed form of the ``Tilted`` factor for an isotropic posterior. With
``fixed_variance=True`` the posterior variance is pinned to 1 (logvar = 0), as in the
authors' code, and the KL is still the exact one for N(μ, I). Needs every latent factor to
be ``Tilted``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from prodvae.models import VAE, Posterior
from prodvae.objectives.base import register_objective, require_gaussian, require_topologies
from prodvae.objectives.elbo import ElboObjective, ElboTerms
from prodvae.objectives.likelihoods import LikelihoodOptions
from prodvae.objectives.options import check_flag, check_numbers


@dataclass(frozen=True, kw_only=True)
class TiltedOptions(LikelihoodOptions):
    """β and whether the posterior variance is pinned to 1."""

    beta: float = 1.0
    fixed_variance: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_numbers(self, "beta")
        check_flag("fixed_variance", self.fixed_variance)


@register_objective("tilted")
class TiltedVAE(ElboObjective):
    """``recon + β KL`` against the tilted prior."""

    Options = TiltedOptions
    options: TiltedOptions

    def check_model(self, model: VAE) -> None:
        require_topologies(self.name, model, ("sphere",))
        require_gaussian(self.name, model)

    def adjust_posterior(self, posterior: Posterior) -> Posterior:
        if not self.options.fixed_variance:
            return posterior
        return Posterior(posterior.mu, torch.zeros_like(posterior.logvar))

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        return self.options.beta * terms.kl.sum(-1).mean(), {}
