"""Euclidean factor: a standard normal prior, for nuisance dimensions and plain-VAE baselines."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from prodvae.spaces.base import Factor, check_dim, check_input, register_factor, resolve_device
from prodvae.spaces.kinds import Kind
from prodvae.spaces.reading import Reading


@register_factor("euclidean")
@dataclass(frozen=True)
class Euclidean(Factor):
    """N(0, I) on R^dim. Its low-energy set is the origin; traversals sweep ±2 along an axis."""

    dim: int = 1  # type: ignore[assignment]

    topology = "euclidean"

    def __post_init__(self) -> None:
        check_dim(self)

    def log_normalizer(self) -> float:
        return 0.5 * self.dim * math.log(2 * math.pi)

    def energy(self, z: Tensor) -> Tensor:
        check_input("Euclidean", z, self.dim)
        return 0.5 * (z * z).sum(-1)

    def kl(
        self,
        mu: Tensor,
        logvar: Tensor,
        num_samples: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        mu, logvar = self._check_posterior(mu, logvar)
        return 0.5 * (mu * mu + logvar.exp() - 1.0 - logvar).sum(-1)

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> Tensor:
        draw, out = resolve_device(generator, device)
        z = torch.randn(n, self.dim, generator=generator, dtype=torch.float64, device=draw)
        return z.to(device=out, dtype=dtype)

    def coordinate(self, z: Tensor) -> Tensor:
        check_input("Euclidean", z, self.dim)
        return z

    def project(self, z: Tensor) -> Tensor:
        check_input("Euclidean", z, self.dim)
        return torch.zeros_like(z)

    def traverse(self, num_steps: int, axis: int = 0) -> Tensor:
        """``num_steps`` points from -2 to 2 along ``axis`` (two prior standard deviations)."""
        if not 0 <= axis < self.dim:
            raise ValueError(f"Euclidean: axis must be in [0, {self.dim}), got {axis}")
        path = torch.zeros(num_steps, self.dim, dtype=torch.float64)
        path[:, axis] = torch.linspace(-2.0, 2.0, num_steps, dtype=torch.float64)
        return path

    @property
    def reading(self) -> Reading:
        """Every axis a position of its own (a line counts as a segment)."""
        line: tuple[Kind, ...] = ("segment",)
        return Reading(line * self.dim, per_axis=True)

    def annealed(self, k: float, min_ring_ratio: float) -> Euclidean:
        """Unchanged: a standard normal has no shape to flatten."""
        return self

    def label_target(self, value: Tensor) -> Tensor:
        """The value itself, ``[n, 1]`` (a supervised block must be one-dimensional)."""
        if self.dim != 1:
            raise ValueError(f"a supervised Euclidean factor must have dim 1, got {self.dim}")
        return value[:, None]
