"""Weak supervision from pairs (Locatello et al., ICML 2020: Ada-GVAE and Ada-ML-VAE).

For a pair of images sharing all but a few ground-truth factors, the latent *factors*
(a loop's two coordinates together, not single dimensions) whose posteriors barely differ
are taken as shared: δ_f = KL(q(z_f|x1) ‖ q(z_f|x2)), threshold ½(max_f δ_f + min_f δ_f),
shared where δ_f < threshold. Shared factors of both posteriors are replaced by their
average (Ada-GVAE: μ = ½(μ1 + μ2), σ² = ½(σ1² + σ2²)) or by the normalised product of the
two Gaussians (Ada-ML-VAE). Isotropic posteriors stay isotropic either way.
:class:`WeakOptions` adds the choice (``weak``) to an ELBO objective's options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from prodvae.models import Posterior
from prodvae.objectives.likelihoods import LikelihoodOptions
from prodvae.objectives.options import check_choice
from prodvae.registry import Registry
from prodvae.spaces import ProductSpace

#: Ways to merge two Gaussian posteriors: ``fn(mu1, logvar1, mu2, logvar2) -> (mu, logvar)``.
AGGREGATIONS: Registry[Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]] = (
    Registry("aggregation")
)


@AGGREGATIONS.register("ada_gvae")
def average(mu1: Tensor, logvar1: Tensor, mu2: Tensor, logvar2: Tensor) -> tuple[Tensor, Tensor]:
    """Mean of the means, mean of the variances."""
    var = 0.5 * (logvar1.exp() + logvar2.exp())
    return 0.5 * (mu1 + mu2), var.log()


@AGGREGATIONS.register("ada_ml_vae")
def product(mu1: Tensor, logvar1: Tensor, mu2: Tensor, logvar2: Tensor) -> tuple[Tensor, Tensor]:
    """Normalised product of the two Gaussians: precisions add."""
    precision1, precision2 = (-logvar1).exp(), (-logvar2).exp()
    logvar = -torch.log(precision1 + precision2)
    mu = logvar.exp() * (precision1 * mu1 + precision2 * mu2)
    return mu, logvar


@dataclass(frozen=True, kw_only=True)
class WeakOptions(LikelihoodOptions):
    """Likelihood options and ``weak``: ``none`` (single images) or an aggregation in
    :data:`AGGREGATIONS` (``ada_gvae``, ``ada_ml_vae``) to train on pairs."""

    weak: str = "none"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("weak", self.weak, ("none", *AGGREGATIONS))


class PairPosteriors(NamedTuple):
    """Both posteriors after merging, and which factors were shared ``bool [batch, factors]``."""

    first: Posterior
    second: Posterior
    shared: Tensor


def factor_kl(space: ProductSpace, first: Posterior, second: Posterior) -> Tensor:
    """``KL(q1 ‖ q2)`` of diagonal Gaussians per factor, ``[batch, num_factors]``."""
    ratio = first.logvar - second.logvar
    per_dim = 0.5 * (ratio.exp() + (first.mu - second.mu) ** 2 / second.logvar.exp() - 1 - ratio)
    return torch.stack([per_dim[:, s].sum(-1) for s in space.slices], dim=-1)


def shared_factors(delta: Tensor) -> Tensor:
    """``bool [batch, factors]``: factors below the pair's mid-range threshold of ``delta``."""
    threshold = 0.5 * (
        delta.max(dim=-1, keepdim=True).values + delta.min(dim=-1, keepdim=True).values
    )
    return delta < threshold


def merge_pair(
    space: ProductSpace, first: Posterior, second: Posterior, aggregation: str
) -> PairPosteriors:
    """Detect shared factors and replace them in both posteriors by the aggregate."""
    shared = shared_factors(factor_kl(space, first, second).detach())
    mu, logvar = AGGREGATIONS[aggregation](first.mu, first.logvar, second.mu, second.logvar)
    columns = torch.zeros_like(first.mu, dtype=torch.bool)
    for i, s in enumerate(space.slices):
        columns[:, s] = shared[:, i : i + 1]
    merged = [
        Posterior(torch.where(columns, mu, p.mu), torch.where(columns, logvar, p.logvar))
        for p in (first, second)
    ]
    return PairPosteriors(merged[0], merged[1], shared)
