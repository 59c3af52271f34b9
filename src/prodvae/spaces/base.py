"""The factor protocol and the registry that lets a config name a factor type."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor

F = TypeVar("F", bound="Factor")

#: Registered factor types by name (``"loop"``, ``"segment"``, ...).
FACTORS: dict[str, type[Factor]] = {}


def register_factor(name: str) -> Callable[[type[F]], type[F]]:
    """Class decorator: make a factor type constructible by ``name`` from configs."""

    def decorate(cls: type[F]) -> type[F]:
        if name in FACTORS:
            raise ValueError(f"factor name {name!r} is already registered")
        cls.name = name
        FACTORS[name] = cls
        return cls

    return decorate


def make_factor(name: str, **params: Any) -> Factor:
    """Build a registered factor from its name and parameters, checking both."""
    if name not in FACTORS:
        raise ValueError(f"unknown factor kind {name!r}; expected one of {', '.join(FACTORS)}")
    cls = FACTORS[name]
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ValueError(
            f"{name}: unknown parameter(s) {', '.join(unknown)}; expected {', '.join(sorted(fields))}"
        )
    return cls(**params)


def check_positive(owner: str, param: str, value: float, *, allow_zero: bool = False) -> None:
    """Raise ``ValueError`` naming ``param`` unless ``value`` is a finite positive number."""
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{owner}: {param} must be finite and {bound}, got {value!r}")


def check_input(owner: str, z: Tensor, dim: int) -> None:
    """Check that ``z`` is ``[batch, dim]``."""
    if z.dim() != 2 or z.shape[1] != dim:
        raise ValueError(f"{owner}: expected a tensor of shape [batch, {dim}], got {list(z.shape)}")


def kl_dtype(device: torch.device) -> torch.dtype:
    """The dtype KL internals use: float64 where the device supports it."""
    return torch.float32 if device.type == "mps" else torch.float64


@dataclasses.dataclass(frozen=True)
class Factor:
    """One piece of a product latent space, embedded in ``R^dim``.

    A factor is immutable: annealing gets a sharper or flatter copy with
    :meth:`replace`. All tensor methods are batched over the leading dimension and
    follow the dtype and device of their input.
    """

    #: Registry name, set by :func:`register_factor`.
    name: ClassVar[str] = ""
    #: The topology of the intrinsic coordinate: "points", "segment", "loop",
    #: "euclidean" or "sphere".
    topology: ClassVar[str] = ""

    @property
    def dim(self) -> int:
        """Ambient dimension."""
        raise NotImplementedError

    @property
    def logvar_dim(self) -> int:
        """How many log-variances the encoder predicts: 1 for an isotropic posterior."""
        return self.dim

    def replace(self: F, **changes: Any) -> F:
        """A copy with some parameters changed (validated like the constructor)."""
        return dataclasses.replace(self, **changes)

    def params(self) -> dict[str, Any]:
        """The constructor parameters, e.g. for a config file."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def log_normalizer(self) -> float:
        """``log Z`` with ``log_prob(z) = -energy(z) - log Z``."""
        raise NotImplementedError

    def energy(self, z: Tensor) -> Tensor:
        """Unnormalised energy ``[batch]`` of ``z [batch, dim]``; ~0 on the low-energy set."""
        raise NotImplementedError

    def log_prob(self, z: Tensor) -> Tensor:
        """Normalised log-density of the prior, ``[batch]``."""
        return -self.energy(z) - self.log_normalizer()

    def kl(
        self,
        mu: Tensor,
        logvar: Tensor,
        num_samples: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """``KL(N(mu, diag exp(logvar)) || prior)``, ``[batch]`` from ``[batch, dim]`` inputs."""
        raise NotImplementedError

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> Tensor:
        """``n`` exact samples from the prior, ``[n, dim]``."""
        raise NotImplementedError

    def coordinate(self, z: Tensor) -> Tensor:
        """Intrinsic coordinate of ``z``: ``[batch]`` for points/segment/loop."""
        raise NotImplementedError

    def project(self, z: Tensor) -> Tensor:
        """Nearest point of the low-energy set, ``[batch, dim]``."""
        raise NotImplementedError

    def traverse(self, num_steps: int) -> Tensor:
        """Points along the low-energy set in order, ``[steps, dim]``."""
        raise NotImplementedError
