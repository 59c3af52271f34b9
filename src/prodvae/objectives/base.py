"""The objective protocol, its registry, and building an objective from named options.

An objective maps ``(model, x, step, labels)`` to a scalar loss and logged floats. Its
options are a frozen dataclass, ``Options`` (:mod:`prodvae.objectives.options`), whose
``__post_init__`` checks values; :func:`get_objective` checks option names against its fields.
What the trainer asks of an objective is declared here, on :class:`Objective`: what batches
it needs, its optimizer's weight decay, its schedules and state, and :meth:`Objective.prepare`,
the one hook through which it looks at the training data before the first step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, NamedTuple, TypeVar

import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset
from prodvae.models import VAE
from prodvae.models.posteriors import GaussianPosterior
from prodvae.objectives.options import ObjectiveOptions
from prodvae.registry import Registry
from prodvae.spaces import ProductSpace

O = TypeVar("O", bound="Objective")

#: Registered objectives by name.
OBJECTIVES: Registry[type[Objective]] = Registry("objective", set_name=True)


class ObjectiveOutput(NamedTuple):
    """``loss``: scalar tensor to minimise; ``logs``: named floats for logging."""

    loss: Tensor
    logs: dict[str, float]


def register_objective(name: str) -> Callable[[type[O]], type[O]]:
    """Class decorator: make an objective constructible by ``name`` (also its ``name``)."""
    return OBJECTIVES.register(name)  # type: ignore[return-value]


def options_class(name: str) -> type[ObjectiveOptions]:
    """The options dataclass of objective ``name``; an unknown name lists the registered ones."""
    return OBJECTIVES[name].Options


def objective_options(name: str) -> dict[str, Any]:
    """The options of objective ``name`` with their defaults."""
    return OBJECTIVES.options(name)


def make_options(name: str, options: Mapping[str, Any]) -> ObjectiveOptions:
    """Objective ``name``'s options dataclass from ``options``; unknown names and bad values
    raise ``ValueError`` (the unknown ones with the list of valid options)."""
    return OBJECTIVES.build_options(name, **options)


def get_objective(name: str, **options: Any) -> Objective:
    """Build objective ``name`` from its options by name (see :func:`make_options`)."""
    return OBJECTIVES.build(name, **options)


class Objective:
    """Base class: a loss over a :class:`~prodvae.models.VAE` and a batch.

    Built from its ``Options`` (defaults when ``options`` is None). ``needs_pairs``: ``x`` is
    ``[batch, 2, C, H, W]``. ``needs_labels``: ``labels`` are float64 ``[batch, K]`` (NaN where
    unlabelled), for a ``labelled_fraction`` of the training images. ``weight_decay``:
    decoupled weight decay the trainer should give the model's optimizer (QLAE asks for 0.1).
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type[ObjectiveOptions]] = ObjectiveOptions

    def __init__(self, options: ObjectiveOptions | None = None) -> None:
        options = self.Options() if options is None else options
        if not isinstance(options, self.Options):
            raise TypeError(
                f"{self.name}: options must be {self.Options.__name__}, "
                f"got {type(options).__name__}"
            )
        self.options = options

    @property
    def needs_pairs(self) -> bool:
        return False

    @property
    def needs_labels(self) -> bool:
        return False

    @property
    def needs_changed(self) -> bool:
        """Whether the trainer must pass ``changed`` (pairs' changed factors) to each call."""
        return False

    @property
    def labelled_fraction(self) -> float:
        """The share of training images that carry labels (used when ``needs_labels``)."""
        return 0.0

    @property
    def weight_decay(self) -> float:
        return 0.0

    def check_model(self, model: VAE) -> None:
        """Raise ``ValueError`` if this objective cannot train ``model``."""

    def prepare(
        self,
        dataset: GroundTruthDataset,
        space: ProductSpace,
        generator: torch.Generator,
        *,
        num_changed: int | None = 1,
    ) -> None:
        """Look at the training data once before training (nothing by default).

        ``generator`` (seeded from ``train.seed``) is the only source of randomness to draw
        from; ``num_changed`` is the number of factors a training pair changes.
        """

    def to(self, device: torch.device) -> Objective:
        """Move what the objective owns to ``device`` (nothing by default); returns ``self``."""
        return self

    def __call__(
        self,
        model: VAE,
        x: Tensor,
        step: int,
        labels: Tensor | None = None,
        changed: Tensor | None = None,
    ) -> ObjectiveOutput:
        """The loss on batch ``x`` at ``step``; ``changed`` (pairs only, bool ``[batch, K]``)
        says which factors each pair changes, as the data knows it."""
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


# -- model and batch checks ------------------------------------------------------------


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
    bad = [p.name for p in model.posteriors if not isinstance(p, GaussianPosterior)]
    if bad:
        raise ValueError(f"{owner}: needs Gaussian posteriors, the model has {', '.join(bad)}")
