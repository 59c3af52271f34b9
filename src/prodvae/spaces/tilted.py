"""The tilted prior of Floto, Kremer and Nica (ICLR 2023): p(z) ∝ exp(-|z|²/2 + τ|z|).

Its low-energy set is the sphere of radius τ in R^dim; τ = 0 is the standard normal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from prodvae.spaces import radial
from prodvae.spaces.base import (
    Factor,
    check_dim,
    check_input,
    check_positive,
    is_isotropic,
    kl_dtype,
    register_factor,
    resolve_device,
)
from prodvae.spaces.kinds import Kind
from prodvae.spaces.reading import Reading


def safe_norm(z: Tensor) -> Tensor:
    """|z| with a finite gradient at z = 0."""
    return (z * z).sum(-1).add(torch.finfo(z.dtype).tiny).sqrt()


def radial_kl(
    factor: Factor,
    mu: Tensor,
    logvar: Tensor,
    num_samples: int | None,
    generator: torch.Generator | None,
    tau: float,
    scale: float = 1.0,
) -> Tensor:
    """KL to a prior that is the tilted one in the coordinate z / ``scale`` (a ring for
    ``scale`` = width): exact, in float64, for an isotropic posterior -- KL is invariant under
    the common rescaling -- and a Monte Carlo estimate (``num_samples``, default 64) otherwise."""
    mu, logvar = factor._check_posterior(mu, logvar)
    if not is_isotropic(logvar):
        return factor.kl_monte_carlo(mu, logvar, num_samples or 64, generator)
    work = kl_dtype(mu.device)
    scaled_mu = mu.to(work) / scale
    scaled_logvar = logvar[:, 0].to(work) - 2 * math.log(scale)
    return radial.tilted_kl(scaled_mu, scaled_logvar, tau).to(mu.dtype)


@register_factor("tilted")
@dataclass(frozen=True)
class Tilted(Factor):
    """Tilted prior on R^dim with mode sphere of radius ``tau``; isotropic posterior."""

    dim: int = 2  # type: ignore[assignment]
    tau: float = 5.0

    topology = "sphere"

    def __post_init__(self) -> None:
        check_dim(self)
        check_positive(self, "tau", allow_zero=True)

    @property
    def logvar_dim(self) -> int:
        return 1

    def log_normalizer(self) -> float:
        # energy is (|z| - τ)²/2 = |z|²/2 - τ|z| + τ²/2, hence the shift by τ²/2.
        return radial.log_tilted_integral(self.dim, self.tau) - 0.5 * self.tau**2

    def energy(self, z: Tensor) -> Tensor:
        check_input("Tilted", z, self.dim)
        return 0.5 * (safe_norm(z) - self.tau) ** 2

    def kl(
        self,
        mu: Tensor,
        logvar: Tensor,
        num_samples: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Exact for an isotropic posterior; Monte Carlo (``num_samples``, default 64) otherwise."""
        return radial_kl(self, mu, logvar, num_samples, generator, self.tau)

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> Tensor:
        draw, out = resolve_device(generator, device)
        z = radial.sample_tilted(n, self.dim, self.tau, generator, draw)
        return z.to(device=out, dtype=dtype)

    def coordinate(self, z: Tensor) -> Tensor:
        """The direction z/|z|, ``[batch, dim]`` (the first axis where z = 0)."""
        check_input("Tilted", z, self.dim)
        norm = z.norm(dim=-1, keepdim=True)
        first_axis = torch.zeros_like(z)
        first_axis[:, 0] = 1.0
        return torch.where(norm > 0, z / norm.clamp_min(torch.finfo(z.dtype).tiny), first_axis)

    def project(self, z: Tensor) -> Tensor:
        return self.tau * self.coordinate(z)

    def traverse(self, num_steps: int) -> Tensor:
        """A great circle of radius τ in the first two axes, closing on itself (dim 1: ±τ)."""
        if self.dim == 1:
            return torch.tensor([[-self.tau], [self.tau]], dtype=torch.float64)
        angle = torch.linspace(0.0, 2 * math.pi, num_steps, dtype=torch.float64)
        path = torch.zeros(num_steps, self.dim, dtype=torch.float64)
        path[:, 0] = self.tau * torch.cos(angle)
        path[:, 1] = self.tau * torch.sin(angle)
        path[-1] = path[0]
        return path

    @property
    def reading(self) -> Reading:
        """In 2-D the direction's angle; otherwise the direction, a sign in 1-D."""
        if self.dim == 2:
            return Reading(("loop",), "angle")
        sign: tuple[Kind, ...] = ("points",)
        line: tuple[Kind, ...] = ("segment",)
        return Reading(sign if self.dim == 1 else line * self.dim, "direction")

    def annealed(self, k: float, min_ring_ratio: float) -> Tilted:
        """τ / k, but not below ``min_ring_ratio`` (nor above the target τ)."""
        return self.replace(tau=max(self.tau / k, min(self.tau, min_ring_ratio)))
