"""Annealing schedules: pure functions of the training step (nothing is mutated).

A :class:`Ramp` goes from ``start`` to ``end`` over ``num_steps`` (then stays at ``end``)
with a registered shape: ``linear``, ``cosine`` (smooth at both ends) or ``geometric``
(constant ratio per step; both ends must be positive -- natural for widths). With a
``period`` it restarts every ``period`` steps (cyclical annealing, Fu et al. 2019).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from prodvae.registry import Registry

#: Shapes by name: ``fn(start, end, progress in [0, 1]) -> value``.
SHAPES: Registry[Callable[[float, float, float], float]] = Registry("shape")


@SHAPES.register("linear")
def linear(start: float, end: float, progress: float) -> float:
    return start + (end - start) * progress


@SHAPES.register("cosine")
def cosine(start: float, end: float, progress: float) -> float:
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * progress))


@SHAPES.register("geometric")
def geometric(start: float, end: float, progress: float) -> float:
    return start * (end / start) ** progress


@dataclass(frozen=True)
class Ramp:
    """``start`` at step 0 → ``end`` at ``num_steps`` and after; ``num_steps = 0``: always end.

    ``period > 0`` repeats the ramp: step ``t`` reads the value at ``t mod period``.
    """

    start: float
    end: float
    num_steps: int
    shape: str = "linear"
    period: int = 0

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"Ramp: shape must be one of {', '.join(SHAPES)}, got {self.shape!r}")
        if not isinstance(self.num_steps, int) or self.num_steps < 0:
            raise ValueError(f"Ramp: num_steps must be an integer >= 0, got {self.num_steps!r}")
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"Ramp: start and end must be finite, got {self.start}, {self.end}")
        if not isinstance(self.period, int) or self.period < 0:
            raise ValueError(f"Ramp: period must be an integer >= 0, got {self.period!r}")
        if 0 < self.period < self.num_steps:
            raise ValueError(
                f"Ramp: period ({self.period}) must be 0 or at least num_steps ({self.num_steps})"
            )
        if self.shape == "geometric" and (self.start <= 0 or self.end <= 0):
            raise ValueError(
                f"Ramp: geometric shape needs positive ends, got {self.start}, {self.end}"
            )

    def __call__(self, step: int) -> float:
        if step < 0:
            raise ValueError(f"Ramp: step must be >= 0, got {step}")
        if self.period:
            step %= self.period
        if self.num_steps == 0 or step >= self.num_steps:
            return float(self.end)
        return float(SHAPES[self.shape](self.start, self.end, step / self.num_steps))
