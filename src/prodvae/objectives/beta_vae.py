"""The plain VAE (Kingma & Welling 2014), β-VAE (Higgins et al. 2017), its weakly supervised
forms Ada-GVAE and Ada-ML-VAE (Locatello et al. 2020), and the AnnealedVAE with a growing KL
capacity (Burgess et al. 2018), on any product space.

The KL is ``VAE.kl`` summed over factors (see :mod:`prodvae.objectives.elbo`). The four
``recon + β KL`` objectives are one class; they differ only in their options: which of β
and the pair aggregation ``weak`` are options and which are fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from prodvae.models import VAE
from prodvae.objectives.base import register_objective
from prodvae.objectives.elbo import ElboObjective, ElboTerms
from prodvae.objectives.likelihoods import LikelihoodOptions
from prodvae.objectives.options import check_count, check_numbers
from prodvae.objectives.schedules import Ramp
from prodvae.objectives.weak import WeakOptions


@dataclass(frozen=True, kw_only=True)
class BetaVAEOptions(WeakOptions):
    """``beta_vae``: β, the likelihood, and ``weak`` to train on pairs."""

    beta: float = 4.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_numbers(self, "beta")


@dataclass(frozen=True, kw_only=True)
class VAEOptions(WeakOptions):
    """``vae``: β is 1."""

    beta: ClassVar[float] = 1.0


@dataclass(frozen=True, kw_only=True)
class AdaGVAEOptions(LikelihoodOptions):
    """``ada_gvae``: β on pairs whose shared factors are averaged."""

    beta: float = 1.0
    weak: ClassVar[str] = "ada_gvae"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_numbers(self, "beta")


@dataclass(frozen=True, kw_only=True)
class AdaMLVAEOptions(AdaGVAEOptions):
    """``ada_ml_vae``: β on pairs whose shared factors are multiplied."""

    weak: ClassVar[str] = "ada_ml_vae"


@register_objective("beta_vae")
class BetaVAE(ElboObjective):
    """``recon + β KL``."""

    Options: ClassVar[type[LikelihoodOptions]] = BetaVAEOptions

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        return self.options.beta * terms.kl.sum(-1).mean(), {}


@register_objective("vae")
class PlainVAE(BetaVAE):
    """The evidence lower bound itself (β = 1)."""

    Options = VAEOptions


@register_objective("ada_gvae")
class AdaGVAE(BetaVAE):
    """Weakly supervised β-VAE on pairs, shared factors averaged (Locatello et al. 2020)."""

    Options = AdaGVAEOptions


@register_objective("ada_ml_vae")
class AdaMLVAE(BetaVAE):
    """Weakly supervised β-VAE on pairs, shared factors multiplied (Locatello et al. 2020)."""

    Options = AdaMLVAEOptions


@dataclass(frozen=True, kw_only=True)
class AnnealedVAEOptions(WeakOptions):
    """``annealed_vae``: γ and the capacity ramp 0 → ``capacity_max`` over ``capacity_steps``."""

    gamma: float = 1000.0
    capacity_max: float = 25.0
    capacity_steps: int = 100_000

    def __post_init__(self) -> None:
        super().__post_init__()
        check_numbers(self, "gamma", "capacity_max")
        check_count("capacity_steps", self.capacity_steps)


@register_objective("annealed_vae")
class AnnealedVAE(ElboObjective):
    """``recon + γ |KL - C(step)|`` with capacity C growing linearly 0 → ``capacity_max``."""

    Options = AnnealedVAEOptions
    options: AnnealedVAEOptions

    def __init__(self, options: AnnealedVAEOptions | None = None) -> None:
        super().__init__(options)
        self.capacity = Ramp(0.0, self.options.capacity_max, self.options.capacity_steps)

    def schedule(self, step: int) -> dict[str, float]:
        return {"capacity": self.capacity(step)}

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        capacity = self.capacity(step)
        penalty = self.options.gamma * (terms.kl.sum(-1).mean() - capacity).abs()
        return penalty, {"capacity": capacity}
