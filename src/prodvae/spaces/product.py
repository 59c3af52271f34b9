"""The product of factors: a latent space of concatenated one-dimensional pieces.

Prior and posterior both factorise over factors, so KL(q || p) = Σ_f KL_f; every
per-factor quantity is returned stacked as ``[batch, num_factors]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from prodvae.spaces.base import Factor, check_input, make_factor

#: A KL of one factor's posterior: ``(factor, mu [batch, d], logvar [batch, d]) -> [batch]``.
Divergence = Callable[[Factor, Tensor, Tensor], Tensor]


class ProductSpace:
    """An immutable product of :class:`~prodvae.spaces.base.Factor` objects.

    >>> from prodvae.spaces import Loop, Segment
    >>> space = ProductSpace([Loop(radius=3.0, width=0.5), Segment()])
    >>> space.dim, space.num_factors
    (3, 2)
    """

    def __init__(self, factors: Iterable[Factor]) -> None:
        factors = tuple(factors)
        if not factors:
            raise ValueError("ProductSpace: needs at least one factor")
        for factor in factors:
            if not isinstance(factor, Factor):
                raise ValueError(f"ProductSpace: not a factor: {factor!r}")
        self._factors = factors
        slices, start = [], 0
        for factor in factors:
            slices.append(slice(start, start + factor.dim))
            start += factor.dim
        self._slices = tuple(slices)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> ProductSpace:
        """Build from one line, e.g. ``"loop(3, 0.5) * segment * points(4)^2"``."""
        from prodvae.spaces.parse import parse_factors

        return cls(parse_factors(text))

    @classmethod
    def from_config(cls, entries: Sequence[Mapping[str, Any]]) -> ProductSpace:
        """Build from ``[{"kind": "loop", "radius": 3, "width": 0.5}, ...]``."""
        factors = []
        for i, entry in enumerate(entries):
            params = dict(entry)
            if "kind" not in params:
                raise ValueError(f"ProductSpace: factor {i} has no 'kind': {entry!r}")
            factors.append(make_factor(params.pop("kind"), **params))
        return cls(factors)

    def to_config(self) -> list[dict[str, Any]]:
        """The inverse of :meth:`from_config`."""
        return [{"kind": f.name, **f.params()} for f in self._factors]

    def describe(self) -> str:
        """The one line :meth:`parse` reads back into this space, e.g.
        ``"loop(radius=3.0, width=0.5)^2 * segment(half_length=2.0, width=0.25)"``."""
        terms: list[list] = []  # [term, count]: a run of equal factors is one term ^count
        for factor in self._factors:
            arguments = ", ".join(f"{key}={value!r}" for key, value in factor.params().items())
            term = f"{factor.name}({arguments})"
            if terms and terms[-1][0] == term:
                terms[-1][1] += 1
            else:
                terms.append([term, 1])
        return " * ".join(term if count == 1 else f"{term}^{count}" for term, count in terms)

    def replace_factor(self, index: int, factor: Factor) -> ProductSpace:
        factors = list(self._factors)
        factors[index] = factor
        return ProductSpace(factors)

    def map(self, fn: Callable[[Factor], Factor]) -> ProductSpace:
        """A new space with ``fn`` applied to every factor (e.g. an annealed width)."""
        return ProductSpace(fn(f) for f in self._factors)

    # -- structure ---------------------------------------------------------------------
    @property
    def factors(self) -> tuple[Factor, ...]:
        return self._factors

    @property
    def num_factors(self) -> int:
        return len(self._factors)

    @property
    def dim(self) -> int:
        return self._slices[-1].stop

    @property
    def logvar_dim(self) -> int:
        return sum(f.logvar_dim for f in self._factors)

    @property
    def slices(self) -> tuple[slice, ...]:
        """Where each factor lives in the ambient vector."""
        return self._slices

    def split(self, z: Tensor) -> tuple[Tensor, ...]:
        """``[batch, dim]`` → one ``[batch, d_f]`` tensor per factor."""
        check_input("ProductSpace.split", z, self.dim)
        return tuple(z[:, s] for s in self._slices)

    def join(self, parts: Sequence[Tensor]) -> Tensor:
        """Inverse of :meth:`split`."""
        if len(parts) != self.num_factors:
            raise ValueError(
                f"ProductSpace.join: expected {self.num_factors} parts, got {len(parts)}"
            )
        for factor, part in zip(self._factors, parts):
            check_input(f"ProductSpace.join ({factor.name})", part, factor.dim)
        return torch.cat(list(parts), dim=-1)

    def expand_logvar(self, logvar: Tensor) -> Tensor:
        """``[batch, logvar_dim]`` head outputs → ``[batch, dim]`` (isotropic factors repeat)."""
        check_input("ProductSpace.expand_logvar", logvar, self.logvar_dim)
        parts, start = [], 0
        for factor in self._factors:
            part = logvar[:, start : start + factor.logvar_dim]
            parts.append(part.expand(-1, factor.dim))
            start += factor.logvar_dim
        return torch.cat(parts, dim=-1)

    # -- per-factor maps ---------------------------------------------------------------
    def kl(
        self,
        mu: Tensor,
        logvar: Tensor,
        num_samples: int | None = None,
        generator: torch.Generator | None = None,
        *,
        divergences: Sequence[Divergence] | None = None,
    ) -> Tensor:
        """Per-factor KL, ``[batch, num_factors]``.

        ``divergences`` replaces each factor's KL to its own prior: one callable per factor,
        ``(factor, mu_f, logvar_f) -> [batch]`` (a posterior family's KL to its prior).
        """
        check_input("ProductSpace.kl (logvar)", logvar, self.dim)

        def own(factor: Factor, mu_f: Tensor, logvar_f: Tensor) -> Tensor:
            return factor.kl(mu_f, logvar_f, num_samples, generator)

        divergences = [own] * self.num_factors if divergences is None else list(divergences)
        if len(divergences) != self.num_factors:
            raise ValueError(
                f"ProductSpace.kl: expected {self.num_factors} divergences, got {len(divergences)}"
            )
        parts = zip(divergences, self._factors, self.split(mu), self.split(logvar))
        return torch.stack([kl(f, m, lv) for kl, f, m, lv in parts], dim=-1)

    def energy(self, z: Tensor) -> Tensor:
        """Per-factor energy, ``[batch, num_factors]``."""
        return torch.stack([f.energy(p) for f, p in zip(self._factors, self.split(z))], dim=-1)

    def log_prob(self, z: Tensor) -> Tensor:
        """Per-factor log-density, ``[batch, num_factors]``."""
        return torch.stack([f.log_prob(p) for f, p in zip(self._factors, self.split(z))], dim=-1)

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> Tensor:
        """``[n, dim]`` exact prior samples."""
        parts = [f.sample(n, generator, device=device, dtype=dtype) for f in self._factors]
        return torch.cat(parts, dim=-1)

    def coordinates(self, z: Tensor) -> tuple[Tensor, ...]:
        """Each factor's intrinsic coordinate."""
        return tuple(f.coordinate(p) for f, p in zip(self._factors, self.split(z)))

    def project(self, z: Tensor) -> Tensor:
        """Nearest point of the product's low-energy set, ``[batch, dim]``."""
        return torch.cat([f.project(p) for f, p in zip(self._factors, self.split(z))], dim=-1)

    def traverse(self, factor_index: int, num_steps: int, base: Tensor | None = None) -> Tensor:
        """Move one factor along its low-energy set, holding the others at ``base [dim]``.

        ``base`` defaults to the projection of the origin. Returns ``[steps, dim]`` (float64).
        """
        if not 0 <= factor_index < self.num_factors:
            raise ValueError(
                f"ProductSpace.traverse: factor_index must be in [0, {self.num_factors}), "
                f"got {factor_index}"
            )
        if base is None:
            base = self.project(torch.zeros(1, self.dim, dtype=torch.float64))[0]
        if base.shape != (self.dim,):
            raise ValueError(
                f"ProductSpace.traverse: base must be [{self.dim}], got {list(base.shape)}"
            )
        path = self._factors[factor_index].traverse(num_steps)
        out = base.to(torch.float64).expand(path.shape[0], -1).clone()
        out[:, self._slices[factor_index]] = path.to(out)
        return out

    def __iter__(self):
        return iter(self._factors)

    def __len__(self) -> int:
        return self.num_factors

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProductSpace) and self._factors == other._factors

    def __hash__(self) -> int:
        return hash(self._factors)

    def __repr__(self) -> str:
        return f"ProductSpace({list(self._factors)!r})"
