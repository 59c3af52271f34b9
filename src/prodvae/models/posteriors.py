"""Posterior families: how the VAE head's numbers become a distribution over one factor.

Every family reports its posterior as ``mu [batch, dim]`` (the code: a point of the
factor's ambient space) and ``logvar [batch, dim]`` (a log-scale, per family below), so
downstream code handles all families alike. Each family also knows the KL to its own prior
on the factor:

- ``gaussian`` (any factor): N(mu, diag exp(logvar)); KL to the factor's energy prior,
  ``factor.kl`` (exact or the bound the factor documents -- e.g. the PointSet upper bound).
- ``power_spherical`` (loops; De Cao & Aziz 2020): density ∝ (1 + m·x)^κ on the circle of the
  loop's radius; ``mu = radius * m``, ``logvar = -log κ`` in both columns; uniform prior on the
  circle (the S-VAE school: Davidson et al. 2018).
- ``point_logits`` (points factors): the Gaussian, its mean the factor's points weighted by a
  softmax of one logit per point; the log of that softmax is also read by the pair terms
  (``VAE.encode_with_shares``).
- ``kumaraswamy`` (segments; van Hulst et al. 2026): Kumaraswamy(a, b) on [0, 1] mapped to
  [-L, L]; ``mu = L (2 median - 1)``, ``logvar = -log a``; b follows from the median and a;
  uniform prior on the segment.

Power-spherical sampling draws its Beta variable from torch's global generator (torch's
Beta sampler takes no generator); seed with ``torch.manual_seed`` for reproducibility.
A von Mises posterior is not provided: it has no reparameterised sampler in torch, and the
power-spherical family plays the same role with one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar, TypeVar

import torch
from torch import Tensor
from torch.nn import functional

from prodvae.registry import Registry
from prodvae.spaces import Factor, PointSet

P = TypeVar("P", bound="PosteriorFamily")

#: Registered posterior families by name.
POSTERIORS: Registry[type[PosteriorFamily]] = Registry("posterior", set_name=True)

_EULER_GAMMA = 0.5772156649015329


def register_posterior(name: str) -> Callable[[type[P]], type[P]]:
    """Class decorator: make a posterior family nameable from configs (also its ``name``)."""
    return POSTERIORS.register(name)  # type: ignore[return-value]


def make_posterior(name: str) -> PosteriorFamily:
    """A new family ``name``; an unknown name lists the registered ones."""
    return POSTERIORS.build(name)


def manifold_families() -> dict[str, str]:
    """``{topology: family}`` of the families made for particular topologies: each lives on
    its factor's manifold, against the uniform prior there (what ``on_manifold`` trains)."""
    return {
        topology: cls.name
        for cls in POSTERIORS.values()
        if not issubclass(cls, GaussianPosterior)  # a Gaussian keeps its factor's energy prior
        for topology in cls.topologies
    }


class PosteriorFamily:
    """A distribution family for one factor; stateless, shared freely."""

    name: ClassVar[str] = ""
    #: Factor topologies this family supports; empty means every topology.
    topologies: ClassVar[tuple[str, ...]] = ()

    def check(self, factor: Factor) -> None:
        """Raise ``ValueError`` if this family cannot describe ``factor``."""
        if self.topologies and factor.topology not in self.topologies:
            raise ValueError(
                f"posterior {self.name!r} needs a factor of topology {'/'.join(self.topologies)}, "
                f"got {factor.name!r}"
            )

    def num_params(self, factor: Factor) -> int:
        """How many head outputs this family needs for ``factor``."""
        raise NotImplementedError

    def parameters(self, factor: Factor, raw: Tensor) -> tuple[Tensor, Tensor]:
        """Head outputs ``[batch, num_params]`` → ``(mu, logvar)``, each ``[batch, dim]``."""
        raise NotImplementedError

    def rsample(
        self, factor: Factor, mu: Tensor, logvar: Tensor, generator: torch.Generator | None
    ) -> Tensor:
        """A reparameterised sample ``[batch, dim]``."""
        raise NotImplementedError

    def initialise_bias(self, factor: Factor, bias: Tensor, initial_logvar: float) -> None:
        """Set this factor's slice of the head bias so the starting ``logvar`` is about
        ``initial_logvar`` (families whose logvar is not a variance leave it alone)."""

    def kl(self, factor: Factor, mu: Tensor, logvar: Tensor) -> Tensor:
        """KL from the posterior to this family's prior on ``factor``, ``[batch]``."""
        raise NotImplementedError


def _uniform(like: Tensor, generator: torch.Generator | None) -> Tensor:
    u = torch.rand(like.shape, generator=generator, device=like.device, dtype=like.dtype)
    return u.clamp(1e-6, 1 - 1e-6)


@register_posterior("gaussian")
class GaussianPosterior(PosteriorFamily):
    """Diagonal Gaussian in the factor's ambient space (isotropic where ``logvar_dim == 1``)."""

    def num_params(self, factor: Factor) -> int:
        return factor.dim + factor.logvar_dim

    def parameters(self, factor: Factor, raw: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = raw[:, : factor.dim], raw[:, factor.dim :]
        return mu, logvar.expand(-1, factor.dim) if factor.logvar_dim == 1 else logvar

    def initialise_bias(self, factor: Factor, bias: Tensor, initial_logvar: float) -> None:
        bias[factor.dim :] = initial_logvar

    def rsample(self, factor, mu, logvar, generator):
        noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * noise

    def kl(self, factor: Factor, mu: Tensor, logvar: Tensor) -> Tensor:
        return factor.kl(mu, logvar)


@register_posterior("point_logits")
class PointLogitsPosterior(GaussianPosterior):
    """A Gaussian on a points factor whose mean is its points weighted by a softmax of one
    logit per point: ``mu = sum_j softmax(l)_j c_j`` (and a log-variance as ``gaussian``).

    The same Gaussian and KL as ``gaussian``; what changes is how the encoder reaches a point.
    A linear mean must order the values along one line, so values the network cannot yet tell
    apart sit between points; with logits every value has a direction of its own and the mean
    goes to a point as soon as one logit leads. :meth:`log_shares` gives the log-softmax."""

    topologies = ("points",)

    @staticmethod
    def _points(factor: Factor) -> PointSet:
        if not isinstance(factor, PointSet):
            raise ValueError(f"point_logits needs a points factor, got {factor.name!r}")
        return factor

    def num_params(self, factor: Factor) -> int:
        return self._points(factor).num_points + factor.logvar_dim

    def log_shares(self, factor: Factor, raw: Tensor) -> Tensor:
        """The log-softmax of the head's logits ``[batch, num_points]``."""
        return torch.log_softmax(raw[:, : self._points(factor).num_points], dim=-1)

    def parameters(self, factor: Factor, raw: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar, _ = self.parameters_and_shares(factor, raw)
        return mu, logvar

    def parameters_and_shares(self, factor: Factor, raw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`parameters` and :meth:`log_shares`, the softmax taken once."""
        points, log_shares = self._points(factor), self.log_shares(factor, raw)
        mu = log_shares.exp() @ points.points.to(raw)[:, None]
        return mu, raw[:, points.num_points :].expand(-1, factor.dim), log_shares

    def initialise_bias(self, factor: Factor, bias: Tensor, initial_logvar: float) -> None:
        bias[self._points(factor).num_points :] = initial_logvar


@register_posterior("power_spherical")
class PowerSphericalPosterior(PosteriorFamily):
    """Power-spherical distribution on the loop's circle, uniform prior on the circle."""

    topologies = ("loop",)

    def num_params(self, factor: Factor) -> int:
        return 3

    def parameters(self, factor, raw):
        direction = functional.normalize(raw[:, :2], dim=-1, eps=1e-6)
        concentration = functional.softplus(raw[:, 2:3]) + 1e-3
        mu = factor.radius * direction
        return mu, (-torch.log(concentration)).expand(-1, 2)

    def rsample(self, factor, mu, logvar, generator):
        concentration = torch.exp(-logvar[:, 0])
        direction = functional.normalize(mu, dim=-1, eps=1e-6)
        # In 2-D the cosine to the mean direction is t = 2 B - 1, B ~ Beta(κ + 1/2, 1/2).
        beta = torch.distributions.Beta(concentration + 0.5, torch.full_like(concentration, 0.5))
        t = (2 * beta.rsample() - 1).clamp(-1 + 1e-6, 1 - 1e-6)
        side = torch.where(_uniform(t, generator) < 0.5, -1.0, 1.0).to(t)
        normal = torch.stack([-direction[:, 1], direction[:, 0]], dim=-1)
        x = t[:, None] * direction + (side * torch.sqrt(1 - t**2))[:, None] * normal
        return factor.radius * x

    def kl(self, factor, mu, logvar):
        """``log 2π - H``, with the power-spherical entropy in closed form (d = 2)."""
        kappa = torch.exp(-logvar[:, 0])
        alpha, beta = kappa + 0.5, 0.5
        log_norm = (alpha + beta) * math.log(2) + beta * math.log(math.pi)
        log_norm = log_norm + torch.lgamma(alpha) - torch.lgamma(alpha + beta)
        entropy = log_norm - kappa * (
            math.log(2) + torch.digamma(alpha) - torch.digamma(alpha + beta)
        )
        return math.log(2 * math.pi) - entropy


@register_posterior("kumaraswamy")
class KumaraswamyPosterior(PosteriorFamily):
    """Kumaraswamy(a, b) stretched over the segment [-L, L], uniform prior on the segment."""

    topologies = ("segment",)

    def num_params(self, factor: Factor) -> int:
        return 2

    def parameters(self, factor, raw):
        median = torch.sigmoid(raw[:, :1]).clamp(1e-4, 1 - 1e-4)
        a = functional.softplus(raw[:, 1:2]) + 1e-2
        return factor.half_length * (2 * median - 1), -torch.log(a)

    @staticmethod
    def shapes(factor: Factor, mu: Tensor, logvar: Tensor) -> tuple[Tensor, Tensor]:
        """``(a, b)`` ``[batch]``: the median is (1 - 2^(-1/b))^(1/a), solved for b."""
        median = ((mu[:, 0] / factor.half_length + 1) / 2).clamp(1e-4, 1 - 1e-4)
        a = torch.exp(-logvar[:, 0])
        median_pow = torch.exp(a * torch.log(median)).clamp(1e-12, 1 - 1e-7)
        b = -math.log(2) / torch.log1p(-median_pow)
        return a, b

    def rsample(self, factor, mu, logvar, generator):
        a, b = self.shapes(factor, mu, logvar)
        u = _uniform(a, generator)
        # Inverse CDF: x = (1 - (1 - u)^(1/b))^(1/a), in a form that keeps precision.
        x = torch.exp(torch.log(-torch.expm1(torch.log1p(-u) / b)) / a)
        return (factor.half_length * (2 * x - 1))[:, None]

    def kl(self, factor, mu, logvar):
        """``-H``: H = (1 - 1/b) + (1 - 1/a) H_b - log(ab), H_b the b-th harmonic number."""
        a, b = self.shapes(factor, mu, logvar)
        harmonic = torch.digamma(b + 1) + _EULER_GAMMA
        entropy = (1 - 1 / b) + (1 - 1 / a) * harmonic - torch.log(a * b)
        return -entropy
