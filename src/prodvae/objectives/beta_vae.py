"""The plain VAE (Kingma & Welling 2014), β-VAE (Higgins et al. 2017) and the AnnealedVAE
with a growing KL capacity (Burgess et al. 2018), on any product space.

The KL is ``VAE.kl`` summed over factors (see :mod:`prodvae.objectives.elbo`).
"""

from __future__ import annotations

from torch import Tensor

from prodvae.models import VAE
from prodvae.objectives.base import check_count, check_number, register_objective
from prodvae.objectives.elbo import ElboObjective, ElboTerms
from prodvae.objectives.schedules import Ramp


@register_objective("beta_vae")
class BetaVAE(ElboObjective):
    """``recon + β KL``."""

    def __init__(
        self,
        *,
        beta: float = 4.0,
        likelihood: str = "bernoulli",
        likelihood_scale: float | None = None,
        weak: str = "none",
    ) -> None:
        super().__init__(likelihood=likelihood, likelihood_scale=likelihood_scale, weak=weak)
        self.beta = check_number(self.name, "beta", beta)

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        return self.beta * terms.kl.sum(-1).mean(), {}


@register_objective("vae")
class PlainVAE(BetaVAE):
    """The evidence lower bound itself (β = 1)."""

    def __init__(
        self,
        *,
        likelihood: str = "bernoulli",
        likelihood_scale: float | None = None,
        weak: str = "none",
    ) -> None:
        super().__init__(
            beta=1.0, likelihood=likelihood, likelihood_scale=likelihood_scale, weak=weak
        )


@register_objective("ada_gvae")
class AdaGVAE(BetaVAE):
    """Weakly supervised β-VAE on pairs, shared factors averaged (Locatello et al. 2020)."""

    def __init__(
        self,
        *,
        beta: float = 1.0,
        likelihood: str = "bernoulli",
        likelihood_scale: float | None = None,
    ) -> None:
        super().__init__(
            beta=beta, likelihood=likelihood, likelihood_scale=likelihood_scale, weak="ada_gvae"
        )


@register_objective("ada_ml_vae")
class AdaMLVAE(BetaVAE):
    """Weakly supervised β-VAE on pairs, shared factors multiplied (Locatello et al. 2020)."""

    def __init__(
        self,
        *,
        beta: float = 1.0,
        likelihood: str = "bernoulli",
        likelihood_scale: float | None = None,
    ) -> None:
        super().__init__(
            beta=beta, likelihood=likelihood, likelihood_scale=likelihood_scale, weak="ada_ml_vae"
        )


@register_objective("annealed_vae")
class AnnealedVAE(ElboObjective):
    """``recon + γ |KL - C(step)|`` with capacity C growing linearly 0 → ``capacity_max``."""

    def __init__(
        self,
        *,
        gamma: float = 1000.0,
        capacity_max: float = 25.0,
        capacity_steps: int = 100_000,
        likelihood: str = "bernoulli",
        likelihood_scale: float | None = None,
        weak: str = "none",
    ) -> None:
        super().__init__(likelihood=likelihood, likelihood_scale=likelihood_scale, weak=weak)
        self.gamma = check_number(self.name, "gamma", gamma)
        check_number(self.name, "capacity_max", capacity_max)
        check_count(self.name, "capacity_steps", capacity_steps)
        self.capacity = Ramp(0.0, float(capacity_max), capacity_steps)

    def schedule(self, step: int) -> dict[str, float]:
        return {"capacity": self.capacity(step)}

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        capacity = self.capacity(step)
        penalty = self.gamma * (terms.kl.sum(-1).mean() - capacity).abs()
        return penalty, {"capacity": capacity}
