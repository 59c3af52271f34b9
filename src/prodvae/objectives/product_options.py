"""The options of the ``product`` objective (:mod:`prodvae.objectives.product`, whose module
docstring says what each does), and their checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from prodvae.objectives.options import (
    OptionError,
    check_choice,
    check_count,
    check_number,
    check_numbers,
    normalise,
)
from prodvae.objectives.schedules import SHAPES
from prodvae.objectives.weak import WeakOptions


@dataclass(frozen=True, kw_only=True)
class ProductOptions(WeakOptions):
    """The options of ``product`` (see :mod:`prodvae.objectives.product`); ``beta`` is one
    value for every factor or one per factor."""

    beta: float | tuple[float, ...] = 1.0
    warmup_steps: int = 0
    anneal_factor: float = 3.0
    anneal_steps: int = 10_000
    anneal_shape: str = "geometric"
    anneal_cycle: int = 0
    min_ring_ratio: float = 2.0
    tc_weight: float = 0.0
    dataset_size: int = 100_000
    labelled_fraction: float = 0.0
    label_map: dict[int, int] = field(default_factory=dict)
    free_bits: float = 0.0
    hsic_weight: float = 0.0
    hsic_bandwidth: float = 1.0
    anchor_weight: float = 0.0
    anchor_steps: int = 500
    coverage_weight: float = 0.0
    segment_coverage_weight: float = 0.0
    segment_spread_weight: float = 0.0
    consistency_weight: float = 0.0
    separation_weight: float = 0.0
    assignment_weight: float = 0.0
    balance_weight: float = 0.0
    ring_separation: float = 0.0
    geometry_weight: float = 0.0
    normalise_steps: int = 0
    orbit_weight: float = 0.0
    orbit_start: int = 0
    orbit_count: int = 20
    orbit_batch: int = 32
    orbit_draws: int = 1
    orbit_workers: int = 0
    orbit_points_weight: float = 0.0
    orbit_kept_weight: float = 0.0
    orbit_points_draws: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        betas = [self.beta] if isinstance(self.beta, (int, float)) else list(self.beta)
        normalise(self, "beta", tuple(check_number("beta", b) for b in betas))
        check_count("warmup_steps", self.warmup_steps)
        self._check_annealing()
        check_numbers(
            self,
            "tc_weight",
            "free_bits",
            "hsic_weight",
            "anchor_weight",
            "coverage_weight",
            "segment_coverage_weight",
            "segment_spread_weight",
            "consistency_weight",
            "separation_weight",
            "assignment_weight",
            "balance_weight",
            "geometry_weight",
            "orbit_weight",
            "orbit_points_weight",
            "orbit_kept_weight",
        )
        check_numbers(self, "hsic_bandwidth", allow_low=False)
        self._check_pair_terms()
        check_count("anchor_steps", self.anchor_steps, low=1)
        check_count("normalise_steps", self.normalise_steps)
        check_count("dataset_size", self.dataset_size, low=3)
        self._check_supervision()
        self._check_orbits()

    def _check_orbits(self) -> None:
        """Orbits pull latent factor k toward factor k's angles: the pairs' account must say
        which latent factor is which."""
        check_count("orbit_start", self.orbit_start)
        check_count("orbit_count", self.orbit_count, low=2)
        check_count("orbit_batch", self.orbit_batch, low=1)
        draws = check_count("orbit_draws", self.orbit_draws, low=1)
        check_count("orbit_points_draws", self.orbit_points_draws)
        if check_count("orbit_workers", self.orbit_workers) > 1:
            raise OptionError(
                "orbit_workers",
                f"must be 0 or 1 (one worker reads ahead), got {self.orbit_workers}",
            )
        if draws > self.orbit_batch:
            raise OptionError(
                "orbit_draws", f"({draws}) must be at most orbit_batch ({self.orbit_batch})"
            )
        if self.orbit_kept_weight > 0 and self.orbit_weight == 0:
            raise OptionError("orbit_kept_weight", "> 0 reads the pulled orbits: set orbit_weight")
        for name in ("orbit_weight", "orbit_points_weight"):
            if getattr(self, name) > 0 and self.changed != "known":
                raise OptionError(
                    name, "> 0 reads latent factor k's orbits from factor k: set changed: known"
                )

    def _check_annealing(self) -> None:
        check_numbers(self, "anneal_factor", low=1.0)
        check_numbers(self, "min_ring_ratio", allow_low=False)
        check_choice("anneal_shape", self.anneal_shape, SHAPES)
        steps = check_count("anneal_steps", self.anneal_steps)
        cycle = check_count("anneal_cycle", self.anneal_cycle)
        if 0 < cycle < steps:
            raise OptionError(
                "anneal_cycle",
                f"({cycle}) must be 0 (anneal once) or at least anneal_steps ({steps})",
            )

    def _check_pair_terms(self) -> None:
        """The terms read on pairs need pairs; ``ring_separation`` needs the separation term."""
        check_numbers(self, "ring_separation")
        if self.ring_separation > 0.5:
            raise OptionError(
                "ring_separation",
                f"must be in [0, 0.5] (a fraction of a turn), got {self.ring_separation!r}",
            )
        if self.ring_separation > 0 and self.separation_weight == 0:
            raise OptionError("ring_separation", "> 0 needs separation_weight > 0")
        for key in (
            "consistency_weight",
            "separation_weight",
            "assignment_weight",
            "geometry_weight",
        ):
            if getattr(self, key) > 0 and self.weak == "none":
                raise OptionError(key, "> 0 is read on pairs: set weak to an aggregation")

    def _check_supervision(self) -> None:
        check_numbers(self, "labelled_fraction")
        fraction = self.labelled_fraction
        if fraction > 1:
            raise OptionError("labelled_fraction", f"must be in [0, 1], got {fraction!r}")
        label_map = {int(k): int(v) for k, v in (self.label_map or {}).items()}
        normalise(self, "label_map", label_map)
        if fraction > 0 and not label_map:
            raise OptionError("labelled_fraction", "> 0 needs a label_map {column: factor}")
        if fraction > 0 and self.weak != "none":
            raise OptionError(
                "labelled_fraction",
                f"> 0 (semi-supervision) cannot be combined with weak={self.weak!r}",
            )
