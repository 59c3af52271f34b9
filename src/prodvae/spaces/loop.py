"""A loop: the ring of radius r in R² with energy (|z| - r)² / (2 w²).

In the rescaled coordinate u = z / w this is the two-dimensional tilted prior with
τ = r / w, so the normaliser, the KL and the sampler are those of
:mod:`prodvae.spaces.radial`. The angle atan2(z₂, z₁) is uniform under the prior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from prodvae.spaces import radial
from prodvae.spaces.base import (
    Factor,
    check_input,
    check_positive,
    register_factor,
    resolve_device,
)
from prodvae.spaces.reading import Reading
from prodvae.spaces.tilted import radial_kl, safe_norm


@register_factor("loop", ground_truth="loop")
@dataclass(frozen=True)
class Loop(Factor):
    """Ring prior of radius ``radius`` and width ``width`` on R²; isotropic posterior."""

    radius: float = 3.0
    width: float = 0.5

    topology = "loop"

    def __post_init__(self) -> None:
        check_positive(self, "radius", allow_zero=True)
        check_positive(self, "width")

    @property
    def dim(self) -> int:
        return 2

    @property
    def logvar_dim(self) -> int:
        return 1

    @property
    def tau(self) -> float:
        """Radius in units of the width: the tilt of the equivalent tilted prior."""
        return self.radius / self.width

    def log_normalizer(self) -> float:
        tau = self.tau
        return 2 * math.log(self.width) + radial.log_tilted_integral(2, tau) - 0.5 * tau * tau

    def energy(self, z: Tensor) -> Tensor:
        check_input("Loop", z, 2)
        return (safe_norm(z) - self.radius) ** 2 / (2 * self.width**2)

    def kl(
        self,
        mu: Tensor,
        logvar: Tensor,
        num_samples: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Exact for an isotropic posterior; Monte Carlo (``num_samples``, default 64) otherwise.

        KL is invariant under the common rescaling z → z / w, which maps the ring to the
        tilted prior with τ = r / w and the posterior to N(μ / w, σ² / w²).
        """
        return radial_kl(self, mu, logvar, num_samples, generator, self.tau, self.width)

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> Tensor:
        draw, out = resolve_device(generator, device)
        u = radial.sample_tilted(n, 2, self.tau, generator, draw)
        return (self.width * u).to(device=out, dtype=dtype)

    def coordinate(self, z: Tensor) -> Tensor:
        """The angle atan2(z₂, z₁) in (-π, π], ``[batch]``."""
        check_input("Loop", z, 2)
        return torch.atan2(z[:, 1], z[:, 0])

    def project(self, z: Tensor) -> Tensor:
        angle = self.coordinate(z)
        return self.radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)

    def traverse(self, num_steps: int) -> Tensor:
        """Once around the ring from angle 0; the last point equals the first."""
        if num_steps < 2:
            raise ValueError(f"Loop: num_steps must be >= 2, got {num_steps}")
        angle = torch.linspace(0.0, 2 * math.pi, num_steps, dtype=torch.float64)
        path = self.radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)
        path[-1] = path[0]
        return path

    @property
    def reading(self) -> Reading:
        """One angle; distances along the factor are arcs of the ring."""
        return Reading(("loop",), "angle", ring=self.radius)

    def annealed(self, k: float, min_ring_ratio: float) -> Loop:
        """Width × k, capped at radius / ``min_ring_ratio`` (never below the target width):
        a wide ring's centre captures the codes (see :mod:`prodvae.objectives.annealing`)."""
        cap = max(self.width, self.radius / min_ring_ratio)
        return self.replace(width=min(self.width * k, cap))

    def label_target(self, value: Tensor) -> Tensor:
        """The ring's point at the angle ``value [n]``, ``[n, 2]``."""
        return self.radius * torch.stack([torch.cos(value), torch.sin(value)], dim=-1)

    @property
    def label_width(self) -> float:
        return self.width
