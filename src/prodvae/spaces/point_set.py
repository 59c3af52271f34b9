"""A set of disjoint points on a line: an equal-weight Gaussian mixture.

The points are c_j = spacing·(j - (k-1)/2); each well has standard deviation ``width``.
There is no closed-form KL. :meth:`PointSet.kl` returns the variational upper bound of
Hershey and Olsen (2007), KL ≤ -log Σ_j π_j exp(-KL(q || N(c_j, t²))), which is
deterministic and tight when one well dominates; ``num_samples=M`` gives the unbiased
reparameterised Monte Carlo estimate instead. The objectives use the upper bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from prodvae.spaces.base import (
    Factor,
    check_dim,
    check_input,
    check_positive,
    register_factor,
    resolve_device,
)
from prodvae.spaces.reading import Reading


@register_factor("points", ground_truth="points")
@dataclass(frozen=True)
class PointSet(Factor):
    """``num_points`` equally spaced wells of width ``width``, ``spacing`` apart, on R."""

    num_points: int = 2
    spacing: float = 3.0
    width: float = 0.5

    topology = "points"

    def __post_init__(self) -> None:
        check_dim(self, "num_points", minimum=2)
        check_positive(self, "spacing")
        check_positive(self, "width")

    @classmethod
    def from_ground_truth(cls, size: int) -> PointSet:
        """A point per ground-truth value."""
        return cls(num_points=size)

    @property
    def dim(self) -> int:
        return 1

    @property
    def points(self) -> Tensor:
        """The centres c_j, float64 ``[num_points]``."""
        j = torch.arange(self.num_points, dtype=torch.float64)
        return self.spacing * (j - (self.num_points - 1) / 2)

    def _centres(self, like: Tensor) -> Tensor:
        return self.points.to(device=like.device, dtype=like.dtype)

    def log_normalizer(self) -> float:
        return math.log(self.num_points) + 0.5 * math.log(2 * math.pi) + math.log(self.width)

    def energy(self, z: Tensor) -> Tensor:
        """-log Σ_j exp(-(z - c_j)² / 2t²): ≈ 0 at a point, quadratic away from all of them."""
        check_input("PointSet", z, 1)
        distance = z - self._centres(z)
        return -torch.logsumexp(-distance * distance / (2 * self.width**2), dim=-1)

    def kl(
        self,
        mu: Tensor,
        logvar: Tensor,
        num_samples: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Variational upper bound, or a Monte Carlo estimate when ``num_samples`` is given."""
        mu, logvar = self._check_posterior(mu, logvar)
        if num_samples is not None:
            return self.kl_monte_carlo(mu, logvar, num_samples, generator)
        centres = self._centres(mu)
        log_var_ratio = logvar - 2 * math.log(self.width)
        distance = (mu - centres) / self.width
        kl_wells = 0.5 * (log_var_ratio.exp() + distance * distance - 1.0 - log_var_ratio)
        return math.log(self.num_points) - torch.logsumexp(-kl_wells, dim=-1)

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> Tensor:
        draw, out = resolve_device(generator, device)
        which = torch.randint(self.num_points, (n,), generator=generator, device=draw)
        noise = torch.randn(n, generator=generator, dtype=torch.float64, device=draw)
        z = self.points.to(draw)[which] + self.width * noise
        return z[:, None].to(device=out, dtype=dtype)

    def coordinate(self, z: Tensor) -> Tensor:
        """Index of the nearest point, long ``[batch]``."""
        check_input("PointSet", z, 1)
        return (z - self._centres(z)).abs().argmin(dim=-1)

    def project(self, z: Tensor) -> Tensor:
        return self._centres(z)[self.coordinate(z)][:, None]

    def traverse(self, num_steps: int | None = None) -> Tensor:
        """The points in order, ``[num_points, 1]`` (``num_steps`` is ignored)."""
        return self.points[:, None]

    @property
    def reading(self) -> Reading:
        """The index of the nearest point; distances between the points; the points as marks."""
        return Reading(("points",), snap=True, levels=tuple(self.points.tolist()))

    def annealed(self, k: float, min_ring_ratio: float) -> PointSet:
        """Wells width × k (they merge into one basin while apart by < 2 widths)."""
        return self.replace(width=self.width * k)

    def label_target(self, value: Tensor) -> Tensor:
        """The point whose index is nearest to ``value [n]``, ``[n, 1]``."""
        index = value.round().long().clamp(0, self.num_points - 1)
        return self.points.to(value)[index][:, None]

    @property
    def label_width(self) -> float:
        return self.width
