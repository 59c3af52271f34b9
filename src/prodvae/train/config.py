"""The experiment configuration: frozen dataclasses whose defaults live in code.

A YAML file is a short overlay on these defaults and ``--set section.key=value`` changes
one field; both are checked against the field types (see :mod:`prodvae.train.overrides`),
so a typo or a bad value fails before any training starts, listing what is valid.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from prodvae.objectives import OptionError, options_class
from prodvae.train.typecheck import check_value, field_hint

#: Fields that may differ between a checkpoint's config and the config resuming from it.
RESUMABLE_FIELDS: frozenset[str] = frozenset(
    {
        "train.steps",
        "train.log_every",
        "train.checkpoint_every",
        "train.keep_checkpoints",
        "train.max_nonfinite",
        "train.progress",
        "train.num_workers",
        "train.device",
        "train.amp",
        "train.compile",
        "train.channels_last",
        "data.hold_on_device",
        "eval",
        "run",
    }
)


def _positive(key: str, value: float, *, allow_zero: bool = False) -> None:
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{key} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


@dataclass(frozen=True)
class DataConfig:
    """Which ground-truth dataset to train on and how batches are made.

    ``name`` is a registered dataset (``torus``, ``sprites``, ``shapes3d`` ...) or ``file``
    with ``path`` pointing at an HDF5/npz file. ``options`` go to the dataset constructor.
    ``num_changed`` is the number of factors that differ inside a weak-supervision pair
    (``null``: a random number per pair). The share of labelled examples for
    semi-supervised objectives is the objective's own ``labelled_fraction`` option.
    """

    name: str = "torus"
    path: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    num_changed: int | None = 1
    hold_on_device: Literal["auto", "always", "never"] = "auto"

    def __post_init__(self) -> None:
        if self.name == "file" and not self.path:
            raise ValueError("data.path is required when data.name is 'file'")
        if self.num_changed is not None and self.num_changed < 1:
            raise ValueError(f"data.num_changed must be >= 1 or null, got {self.num_changed}")
        object.__setattr__(self, "options", copy.deepcopy(dict(self.options)))


#: ``model.space`` that the trainer reads from the data (:mod:`prodvae.train.discovery`).
DISCOVER_SPACE = "discover"


@dataclass(frozen=True)
class ModelConfig:
    """The VAE: a registered backbone and the latent product space.

    ``space`` is ``auto`` (one factor per ground-truth factor, of the same kind), a string
    such as ``"loop(3, 0.5) * segment * points(4)"``, or a list of mappings like
    ``{kind: loop, radius: 3, width: 0.5}``. ``options`` go to ``build_vae`` (e.g. ``width``).
    """

    backbone: str = "burgess"
    space: Any = "auto"
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.space, (str, list, tuple)):
            raise ValueError(
                f"model.space must be 'auto', a space string or a list of factors, "
                f"got {self.space!r}"
            )
        object.__setattr__(self, "space", copy.deepcopy(self.space))
        object.__setattr__(self, "options", copy.deepcopy(dict(self.options)))


@dataclass(frozen=True)
class ObjectiveConfig:
    """A registered objective (``product``, ``beta_vae``, ...) and the options it is given.

    ``options`` names fields of the objective's options dataclass
    (:attr:`prodvae.objectives.Objective.Options`; defaults for the rest); each value is
    converted to its field's type and the dataclass's own checks run, so an unknown key or a
    bad value fails here, naming ``objective.options.<key>``.
    """

    name: str = "product"
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        options = copy.deepcopy(dict(self.options))
        object.__setattr__(self, "options", checked_options(self.name, options))


def checked_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` of objective ``name``, each converted to its field's type and checked."""
    owner = options_class(name)
    where = "objective.options"
    checked = {
        key: check_value(f"{where}.{key}", value, field_hint(owner, where, str(key)))
        for key, value in options.items()
    }
    try:
        owner(**checked)
    except OptionError as error:
        raise ValueError(f"{where}.{error}") from None
    return checked


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation: steps, batch, Adam(W), clipping, precision, checkpoints.

    ``batch_size`` is the global batch (split across processes under ``torchrun``).
    ``grad_clip`` 0 disables clipping; ``warmup_steps`` ramps the learning rate linearly.
    ``lr_schedule: cosine`` lowers it from ``decay_start`` on along half a cosine, to
    ``min_lr_ratio`` times ``lr`` at the last step (of ``steps``: a run resumed with more
    steps stretches what is left of the decay).
    ``max_nonfinite`` non-finite losses are skipped before the run stops.
    ``channels_last`` holds the model's convolution weights, and the images it encodes, in
    channels-last order (the numbers differ from the default order's by rounding only; see
    :meth:`~prodvae.models.VAE.use_channels_last`).
    """

    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 0
    lr_schedule: Literal["constant", "cosine"] = "constant"
    decay_start: int = 0
    min_lr_ratio: float = 0.0
    grad_clip: float = 10.0
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    compile: bool = False
    channels_last: bool = False
    num_workers: int = 2
    log_every: int = 10
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    max_nonfinite: int = 20
    progress: bool = True

    def __post_init__(self) -> None:
        for key in ("steps", "batch_size", "log_every", "checkpoint_every", "keep_checkpoints"):
            _positive(f"train.{key}", getattr(self, key))
        _positive("train.lr", self.lr)
        for key in ("weight_decay", "grad_clip", "warmup_steps", "num_workers", "max_nonfinite"):
            _positive(f"train.{key}", getattr(self, key), allow_zero=True)
        _positive("train.decay_start", self.decay_start, allow_zero=True)
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"train.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio!r}")
        if self.lr_schedule == "cosine" and self.decay_start >= self.steps:
            raise ValueError(
                f"train.decay_start ({self.decay_start}) must be below train.steps "
                f"({self.steps}) for lr_schedule: cosine"
            )


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation and figures during training (0 = only at the end of the run).

    ``num_train``/``num_test`` grid points are drawn for the metrics (``fast`` presets); on
    a dataset that is no grid, rows (:mod:`prodvae.metrics.samples`).
    """

    every: int = 0
    figures_every: int = 0
    suite: Literal["standard", "topology", "all"] = "standard"
    fast: bool = True
    num_train: int = 10000
    num_test: int = 5000
    at_end: bool = True

    def __post_init__(self) -> None:
        _positive("eval.every", self.every, allow_zero=True)
        _positive("eval.figures_every", self.figures_every, allow_zero=True)
        _positive("eval.num_train", self.num_train)
        _positive("eval.num_test", self.num_test)


@dataclass(frozen=True)
class RunConfig:
    """Where the run folder goes: ``<dir>/<name>`` (``name`` defaults to the config's file name)."""

    dir: str = "runs"
    name: str = ""
    tensorboard: bool = True


@dataclass(frozen=True)
class Config:
    """A whole experiment."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict of YAML-safe values."""
        return _plain(dataclasses.asdict(self))

    def identity(self) -> dict[str, Any]:
        """The fields a checkpoint must agree on to be resumed (see :data:`RESUMABLE_FIELDS`)."""
        flat = flatten(self.to_dict())
        return {
            key: value
            for key, value in flat.items()
            if key not in RESUMABLE_FIELDS and key.split(".")[0] not in RESUMABLE_FIELDS
        }


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}} -> {"a.b": 1}`` for the section/field level only (two levels)."""
    flat: dict[str, Any] = {}
    for section, fields in tree.items():
        for key, value in fields.items():
            flat[f"{prefix}{section}.{key}"] = value
    return flat


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
