"""A line segment [-L, L] with soft walls: energy relu(|z| - L)² / (2 w²) on R.

The density is flat on the segment and Gaussian-tailed outside it, so
Z = 2L + √(2π) w. With P(m, s) = E[(X)₊²] = (m² + s²) Φ(m/s) + m s φ(m/s) for
X ~ N(m, s²), the KL of a Gaussian posterior is closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from prodvae.spaces.base import (
    Factor,
    check_input,
    check_positive,
    gaussian_entropy,
    kl_dtype,
    register_factor,
    resolve_device,
)
from prodvae.spaces.reading import Reading


def _positive_part_second_moment(mean: Tensor, std: Tensor) -> Tensor:
    """E[max(X, 0)²] for X ~ N(mean, std²)."""
    t = mean / std
    density = torch.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
    return (mean * mean + std * std) * torch.special.ndtr(t) + mean * std * density


@register_factor("segment", ground_truth="segment")
@dataclass(frozen=True)
class Segment(Factor):
    """Flat-bottomed prior on [-half_length, half_length] with walls of width ``width``."""

    half_length: float = 2.0
    width: float = 0.25

    topology = "segment"

    def __post_init__(self) -> None:
        check_positive(self, "half_length", allow_zero=True)
        check_positive(self, "width")

    @property
    def dim(self) -> int:
        return 1

    def log_normalizer(self) -> float:
        return math.log(2 * self.half_length + math.sqrt(2 * math.pi) * self.width)

    def energy(self, z: Tensor) -> Tensor:
        check_input("Segment", z, 1)
        outside = torch.relu(z[:, 0].abs() - self.half_length)
        return outside * outside / (2 * self.width**2)

    def kl(
        self,
        mu: Tensor,
        logvar: Tensor,
        num_samples: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Exact: log Z - H(q) + [P(μ - L, σ) + P(-μ - L, σ)] / (2w²)."""
        mu, logvar = self._check_posterior(mu, logvar)
        work = kl_dtype(mu.device)
        m, lv = mu[:, 0].to(work), logvar[:, 0].to(work)
        std = (0.5 * lv).exp()
        walls = _positive_part_second_moment(m - self.half_length, std)
        walls = walls + _positive_part_second_moment(-m - self.half_length, std)
        kl = self.log_normalizer() - gaussian_entropy(lv[:, None]) + walls / (2 * self.width**2)
        return kl.to(mu.dtype)

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> Tensor:
        """Exact: uniform on the segment with probability 2L/Z, else a half-normal wall."""
        draw, out = resolve_device(generator, device)
        length = self.half_length
        inside_mass = 2 * length / (2 * length + math.sqrt(2 * math.pi) * self.width)

        def uniform() -> Tensor:
            return torch.rand(n, generator=generator, dtype=torch.float64, device=draw)

        is_inside = uniform() < inside_mass
        inside = (2 * uniform() - 1) * length
        side = torch.where(uniform() < 0.5, -1.0, 1.0)
        normal = torch.randn(n, generator=generator, dtype=torch.float64, device=draw)
        tail = side * (length + self.width * normal.abs())
        z = torch.where(is_inside, inside, tail)
        return z[:, None].to(device=out, dtype=dtype)

    def coordinate(self, z: Tensor) -> Tensor:
        """Position clamped to the segment, ``[batch]``."""
        check_input("Segment", z, 1)
        return z[:, 0].clamp(-self.half_length, self.half_length)

    def project(self, z: Tensor) -> Tensor:
        return self.coordinate(z)[:, None]

    def traverse(self, num_steps: int) -> Tensor:
        """End to end, from -L to L."""
        return torch.linspace(-self.half_length, self.half_length, num_steps, dtype=torch.float64)[
            :, None
        ]

    @property
    def reading(self) -> Reading:
        """A position, with the segment's ends as reference marks."""
        return Reading(("segment",), levels=(-self.half_length, self.half_length))

    def annealed(self, k: float, min_ring_ratio: float) -> Segment:
        """Walls width × k."""
        return self.replace(width=self.width * k)

    def label_target(self, value: Tensor) -> Tensor:
        """The position ``value [n]`` clamped to the segment, ``[n, 1]``."""
        return value.clamp(-self.half_length, self.half_length)[:, None]

    @property
    def label_width(self) -> float:
        return self.width
