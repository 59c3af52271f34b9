"""On-manifold posteriors with uniform priors: the S-VAE school, for comparison.

Loops carry a power-spherical posterior on their circle (De Cao & Aziz 2020, in the role
of the von Mises-Fisher of Davidson et al. 2018) and segments a Kumaraswamy posterior on
[-L, L] (van Hulst et al. 2026), each against the uniform prior of its manifold; other
factors keep Gaussian posteriors and their energy priors. Build the model with
``build_vae(..., posterior={"loop": "power_spherical", "segment": "kumaraswamy"})``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from prodvae.models import VAE
from prodvae.models.posteriors import manifold_families
from prodvae.objectives.base import register_objective
from prodvae.objectives.elbo import ElboObjective, ElboTerms
from prodvae.objectives.likelihoods import LikelihoodOptions
from prodvae.objectives.options import check_numbers


@dataclass(frozen=True, kw_only=True)
class OnManifoldOptions(LikelihoodOptions):
    """β."""

    beta: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_numbers(self, "beta")


@register_objective("on_manifold")
class OnManifoldVAE(ElboObjective):
    """``recon + β Σ_f KL_f`` with on-manifold posteriors on loops and segments."""

    Options = OnManifoldOptions
    options: OnManifoldOptions

    def check_model(self, model: VAE) -> None:
        """Every factor with an on-manifold family (by topology) must use it; others Gaussian."""
        families = manifold_families()
        for i, (factor, family) in enumerate(zip(model.space.factors, model.posteriors)):
            wanted = families.get(factor.topology, "gaussian")
            if family.name != wanted:
                raise ValueError(
                    f"{self.name}: factor {i} ({factor.name}) needs a {wanted!r} posterior, the "
                    f"model has {family.name!r}; build it with build_vae(..., posterior="
                    f"{families!r})"
                )

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        return self.options.beta * terms.kl.sum(-1).mean(), {}
