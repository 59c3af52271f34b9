"""The factor protocol and the registries that let a config name a factor type and let an
``auto`` space model each ground-truth kind."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor

from prodvae.registry import Registry
from prodvae.spaces.kinds import Kind, Topology, check_kind
from prodvae.spaces.reading import Reading

#: Prior draws behind :meth:`Factor.moments` (the mean is then known to about 1% of the
#: prior's spread).
PRIOR_SAMPLES = 65_536

F = TypeVar("F", bound="Factor")

#: Registered factor types by name (``"loop"``, ``"segment"``, ...).
FACTORS: Registry[type[Factor]] = Registry("factor kind", set_name=True)
#: The factor type that models each ground-truth kind (``model.space=auto``).
GROUND_TRUTH: Registry[type[Factor]] = Registry("ground-truth kind")


def register_factor(name: str, *, ground_truth: Kind | None = None) -> Callable[[type[F]], type[F]]:
    """Class decorator: make a factor type constructible by ``name`` from configs, and the
    model of ground-truth factors of kind ``ground_truth`` (see :meth:`Factor.for_ground_truth`).
    """

    def decorate(cls: type[F]) -> type[F]:
        if ground_truth is not None and check_kind(ground_truth) in GROUND_TRUTH:
            owner = GROUND_TRUTH[ground_truth].name
            raise ValueError(f"ground-truth kind {ground_truth!r} is already modelled by {owner!r}")
        FACTORS.add(name, cls)
        if ground_truth is not None:
            GROUND_TRUTH.add(ground_truth, cls)
        return cls

    return decorate


def make_factor(name: str, **params: Any) -> Factor:
    """Build a registered factor from its name and parameters, checking both."""
    return FACTORS.build(name, **params)


def check_positive(factor: Factor, param: str, *, allow_zero: bool = False) -> None:
    """Store ``factor.param`` as a float; raise ``ValueError`` naming it unless it is a
    finite positive number (or zero, with ``allow_zero``)."""
    owner = type(factor).__name__
    value = getattr(factor, param)
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = is_number and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{owner}: {param} must be a finite number {bound}, got {value!r}")
    object.__setattr__(factor, param, float(value))


def check_dim(factor: Factor, param: str = "dim", minimum: int = 1) -> None:
    """Raise ``ValueError`` naming ``param`` unless it is an integer >= ``minimum``."""
    value = getattr(factor, param)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(
            f"{type(factor).__name__}: {param} must be an integer >= {minimum}, got {value!r}"
        )


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
    topology: ClassVar[Topology]

    @staticmethod
    def for_ground_truth(kind: str, size: int) -> Factor:
        """The latent factor that models a ground-truth factor of ``kind`` with ``size``
        values: the registered type for that kind (``register_factor(..., ground_truth=)``)."""
        model = GROUND_TRUTH.get(check_kind(kind))
        if model is None:
            raise ValueError(f"no factor type models ground-truth kind {kind!r}")
        return model.from_ground_truth(size)

    @classmethod
    def from_ground_truth(cls, size: int) -> Factor:
        """This type for a ground-truth factor of ``size`` values: its defaults."""
        return cls()

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

    def moments(self) -> tuple[Tensor, Tensor]:
        """The prior's mean ``[dim]`` and mean squared distance from it ``[]`` (float64), from
        :data:`PRIOR_SAMPLES` draws of a fixed generator: the same numbers on every call."""
        draws = self.sample(PRIOR_SAMPLES, torch.Generator().manual_seed(0), dtype=torch.float64)
        centre = draws.mean(0)
        return centre, (draws - centre).pow(2).sum(-1).mean()

    def coordinate(self, z: Tensor) -> Tensor:
        """Intrinsic coordinate of ``z``: ``[batch]`` for points/segment/loop."""
        raise NotImplementedError

    def project(self, z: Tensor) -> Tensor:
        """Nearest point of the low-energy set, ``[batch, dim]``."""
        raise NotImplementedError

    def traverse(self, num_steps: int) -> Tensor:
        """Points along the low-energy set in order, ``[steps, dim]``."""
        raise NotImplementedError

    @property
    def reading(self) -> Reading:
        """How metrics and plots read this factor's codes."""
        raise NotImplementedError

    def annealed(self: F, k: float, min_ring_ratio: float) -> F:
        """This factor flattened by the width multiplier ``k >= 1`` of a shape-annealing
        schedule; a ring keeps its hole: its width stays below radius / ``min_ring_ratio``."""
        raise NotImplementedError(f"{type(self).__name__} does not say how it anneals")

    def label_target(self, value: Tensor) -> Tensor:
        """The point ``[n, dim]`` that a label ``value [n]`` (in this factor's intrinsic
        coordinate) pulls a posterior mean towards, with a Gaussian of :attr:`label_width`."""
        raise ValueError(f"cannot supervise a {self.name!r} factor")

    @property
    def label_width(self) -> float:
        """Standard deviation of the pull toward a label's target."""
        return 1.0

    def kl_monte_carlo(
        self, mu: Tensor, logvar: Tensor, num_samples: int, generator: torch.Generator | None = None
    ) -> Tensor:
        """Unbiased reparameterised estimate of ``E_q[log q(z) - log p(z)]``, ``[batch]``.

        The estimate averages ``num_samples`` draws ``z = mu + σ ε``; it is differentiable in
        ``mu`` and ``logvar``. Noise comes from ``generator`` (on the input's device).
        """
        mu, logvar = self._check_posterior(mu, logvar)
        if num_samples < 1:
            raise ValueError(f"{type(self).__name__}: num_samples must be >= 1, got {num_samples}")
        eps = torch.randn(
            (num_samples, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device
        )
        z = mu + (0.5 * logvar).exp() * eps
        log_q = -0.5 * (eps * eps + logvar + math.log(2 * math.pi)).sum(-1)
        log_p = self.log_prob(z.reshape(-1, self.dim)).reshape(num_samples, -1)
        return (log_q - log_p).mean(0)

    def _check_posterior(self, mu: Tensor, logvar: Tensor) -> tuple[Tensor, Tensor]:
        """Check ``mu [batch, dim]`` and ``logvar [batch, dim or 1]``; broadcast logvar."""
        owner = type(self).__name__
        check_input(owner, mu, self.dim)
        rows_match = logvar.dim() == 2 and logvar.shape[0] == mu.shape[0]
        if not rows_match or logvar.shape[1] not in (1, self.dim):
            raise ValueError(
                f"{owner}: logvar must be [batch, {self.dim}] or [batch, 1] matching mu "
                f"{list(mu.shape)}, got {list(logvar.shape)}"
            )
        return mu, logvar.expand_as(mu)


def gaussian_entropy(logvar: Tensor) -> Tensor:
    """Entropy of N(·, diag exp(logvar)), ``[batch]`` from ``[batch, d]``."""
    return 0.5 * (math.log(2 * math.pi) + 1.0 + logvar).sum(-1)


def is_isotropic(logvar: Tensor) -> bool:
    """Whether every row of ``logvar [batch, d]`` has equal entries."""
    return logvar.shape[-1] == 1 or bool((logvar == logvar[:, :1]).all())


def resolve_device(
    generator: torch.Generator | None, device: torch.device | str | None
) -> tuple[torch.device, torch.device]:
    """Where to draw random numbers (the generator's device) and where to return them."""
    draw = generator.device if generator is not None else torch.device("cpu")
    return draw, torch.device(device) if device is not None else draw
