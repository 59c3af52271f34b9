"""The objective protocol, its registry, and option checking.

An objective maps ``(model, x, step, labels)`` to a scalar loss and logged floats. Its
options are the keyword-only parameters of its constructor, so :func:`get_objective` can
check option names against the signature and each constructor checks values.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, NamedTuple, TypeVar

import torch
from torch import Tensor

from prodvae.models import VAE

O = TypeVar("O", bound="Objective")

#: Registered objectives by name.
OBJECTIVES: dict[str, type[Objective]] = {}


class ObjectiveOutput(NamedTuple):
    """``loss``: scalar tensor to minimise; ``logs``: named floats for logging."""

    loss: Tensor
    logs: dict[str, float]


def register_objective(name: str) -> Callable[[type[O]], type[O]]:
    """Class decorator: make an objective constructible by ``name``."""

    def decorate(cls: type[O]) -> type[O]:
        if name in OBJECTIVES:
            raise ValueError(f"objective name {name!r} is already registered")
        cls.name = name
        OBJECTIVES[name] = cls
        return cls

    return decorate


def objective_options(name: str) -> dict[str, Any]:
    """The options of objective ``name`` with their defaults."""
    if name not in OBJECTIVES:
        raise ValueError(
            f"unknown objective {name!r}; expected one of {', '.join(sorted(OBJECTIVES))}"
        )
    params = inspect.signature(OBJECTIVES[name].__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def get_objective(name: str, **options: Any) -> Objective:
    """Build objective ``name``; unknown option names raise ``ValueError`` listing valid ones."""
    valid = objective_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(
            f"objective {name!r}: unknown option(s) {', '.join(unknown)}; "
            f"valid options: {', '.join(sorted(valid)) or '(none)'}"
        )
    return OBJECTIVES[name](**options)


class Objective:
    """Base class: a loss over a :class:`~prodvae.models.VAE` and a batch.

    ``needs_pairs``: ``x`` is ``[batch, 2, C, H, W]``. ``needs_labels``: ``labels`` are
    float64 ``[batch, K]`` (NaN where unlabelled). ``weight_decay``: decoupled weight decay
    the trainer should give the model's optimizer (QLAE asks for 0.1).
    """

    name: ClassVar[str] = ""
    weight_decay: float = 0.0

    @property
    def needs_pairs(self) -> bool:
        return False

    @property
    def needs_labels(self) -> bool:
        return False

    def check_model(self, model: VAE) -> None:
        """Raise ``ValueError`` if this objective cannot train ``model``."""

    def __call__(
        self, model: VAE, x: Tensor, step: int, labels: Tensor | None = None
    ) -> ObjectiveOutput:
        raise NotImplementedError

    def schedule(self, step: int) -> dict[str, float]:
        """Annealed quantities at ``step`` (pure function of the step), for logging."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Auxiliary networks and their optimizers; empty when there are none."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            raise ValueError(f"objective {self.name!r} has no state, got keys {sorted(state)}")


# -- option checks ---------------------------------------------------------------------


def check_number(
    owner: str, param: str, value: Any, *, low: float = 0.0, allow_low: bool = True
) -> float:
    """``value`` as a finite float ``>= low`` (``> low`` unless ``allow_low``), else ValueError."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value >= low if allow_low else value > low)
    if not ok:
        bound = f">= {low}" if allow_low else f"> {low}"
        raise ValueError(f"{owner}: {param} must be a finite number {bound}, got {value!r}")
    return float(value)


def check_count(owner: str, param: str, value: Any, *, low: int = 0) -> int:
    """``value`` as an int ``>= low``, else ValueError naming ``param``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{owner}: {param} must be an integer >= {low}, got {value!r}")
    return value


def check_choice(owner: str, param: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{owner}: {param} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_images(owner: str, model: VAE, x: Tensor, pairs: bool) -> None:
    """Check ``x`` is ``[batch, C, H, W]`` (or ``[batch, 2, C, H, W]`` for pairs) and finite."""
    shape = tuple(model.image_shape)
    expected = (2, *shape) if pairs else shape
    if tuple(x.shape[1:]) != expected or x.dim() != len(expected) + 1:
        want = ", ".join(map(str, ("batch", *expected)))
        raise ValueError(f"{owner}: expected x of shape [{want}], got {list(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{owner}: x contains NaN or infinite values")


def require_topologies(owner: str, model: VAE, allowed: Iterable[str]) -> None:
    """Raise unless every factor of ``model.space`` has a topology in ``allowed``."""
    allowed = tuple(allowed)
    bad = [f.name for f in model.space.factors if f.topology not in allowed]
    if bad:
        raise ValueError(
            f"{owner}: needs every latent factor to be of kind {'/'.join(allowed)}; "
            f"the model's space has {', '.join(bad)}"
        )


def require_gaussian(owner: str, model: VAE) -> None:
    bad = [p.name for p in model.posteriors if p.name != "gaussian"]
    if bad:
        raise ValueError(f"{owner}: needs Gaussian posteriors, the model has {', '.join(bad)}")
