"""Metadata of a ground-truth factor: its name, topology and the values it takes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from prodvae.spaces.kinds import check_kind


@dataclass(frozen=True)
class FactorSpec:
    """One ground-truth factor.

    ``kind`` is ``"points"``, ``"segment"`` or ``"loop"``. ``values`` are the grid values of
    the factor in order (for a loop, one period without the repeated end-point).
    ``period`` is required for a loop (e.g. ``2*pi`` for an angle, ``1.0`` for a hue).
    ``symmetry`` records that an image repeats every ``period / symmetry`` (for example a
    square rotated by 90 degrees), so metrics can compare angles modulo that.
    ``symmetry_given`` records a symmetry that depends on another factor: ``("shape", (4, 2,
    1))`` means the image repeats every ``period / 4`` when the factor ``shape`` takes its
    first grid value, every ``period / 2`` at its second, and so on (dSprites' orientation).
    """

    name: str
    kind: str
    values: tuple[float, ...] = field(default=())
    period: float | None = None
    symmetry: int = 1
    symmetry_given: tuple[str, tuple[int, ...]] | None = None

    def __post_init__(self) -> None:
        check_kind(self.kind)
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        if any(not math.isfinite(v) for v in self.values):
            raise ValueError(f"factor {self.name!r}: values must be finite")
        if self.kind == "loop":
            if self.period is None or not self.period > 0:
                raise ValueError(
                    f"factor {self.name!r}: a loop needs a positive period, got {self.period!r}"
                )
            check_one_period(self)
        elif self.period is not None:
            raise ValueError(f"factor {self.name!r}: only a loop has a period ({self.kind})")
        if self.symmetry < 1:
            raise ValueError(f"factor {self.name!r}: symmetry must be >= 1, got {self.symmetry}")
        if self.symmetry_given is not None:
            other, folds = self.symmetry_given
            folds = tuple(int(f) for f in folds)
            if self.kind != "loop" or not folds or min(folds) < 1:
                raise ValueError(
                    f"factor {self.name!r}: symmetry_given needs a loop and folds >= 1, "
                    f"got {self.symmetry_given!r}"
                )
            object.__setattr__(self, "symmetry_given", (str(other), folds))

    @property
    def size(self) -> int:
        """Number of grid values."""
        return len(self.values)

    def index_of(self, values: np.ndarray) -> np.ndarray:
        """Map factor values to grid indices by nearest value (wrapping for loops)."""
        grid = np.asarray(self.values, dtype=np.float64)
        diff = np.asarray(values, dtype=np.float64)[..., None] - grid
        if self.kind == "loop":
            assert self.period is not None
            diff = (diff + self.period / 2) % self.period - self.period / 2
        return np.abs(diff).argmin(axis=-1)


def check_distinct_names(names: list[str], where: str) -> None:
    """Raise ``ValueError`` naming each factor name given twice: scores, figures and results
    are keyed by factor name, where one would hide the other."""
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"{where} names {', '.join(map(repr, twice))} twice")


def check_one_period(spec: FactorSpec) -> None:
    """Raise ``ValueError`` when two values of loop ``spec`` are a whole number of periods
    apart (to float64 rounding of the largest value): one point of the loop held as two
    values, as a grid that repeats its end-point (0 and 360 of a period of 360)."""
    levels = np.asarray(spec.values, dtype=np.float64)
    if len(levels) < 2:
        return
    period = float(spec.period)  # type: ignore[arg-type]
    wrapped = np.sort(np.mod(levels, period))
    gaps = np.diff(np.r_[wrapped, wrapped[0] + period])
    tolerance = 8 * np.finfo(np.float64).eps * max(period, float(np.abs(levels).max()))
    if gaps.min() > tolerance:
        return
    at = wrapped[int(np.argmin(gaps))]
    same = levels[np.abs(np.mod(levels - at + period / 2, period) - period / 2) <= tolerance]
    raise ValueError(
        f"loop factor {spec.name!r} (period {period:g}) holds {same.min():g} and "
        f"{same.max():g}, a whole period apart: one point of the loop held as two values. "
        "Keep one period without its repeated end-point (drop the rows at one of them)"
    )
