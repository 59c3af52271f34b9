"""How metrics and plots read a latent factor: the :class:`Reading` every factor declares.

Metrics compute in numpy, and their numbers must not follow torch's vectorised maths, so a
factor does not compute its metric view: it names it, from a small closed vocabulary that a
new factor kind picks from, and metrics and plots ask it instead of comparing kind strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prodvae.spaces.kinds import KINDS, Kind, is_circular, is_discrete

#: How an ambient block ``[N, dim]`` becomes intrinsic code columns: ``"angle"`` -- one
#: column, atan2(z₂, z₁); ``"direction"`` -- z / |z|, a column per axis; ``"coordinate"`` --
#: the factor's own :meth:`~prodvae.spaces.Factor.coordinate`, a column per entry.
Columns = Literal["angle", "direction", "coordinate"]


@dataclass(frozen=True)
class Reading:
    """How a factor's codes are read.

    ``kinds`` is the :data:`~prodvae.spaces.kinds.Kind` of each code column (an angle is
    "loop", an index "points", a position "segment"); ``columns`` how the columns are made.
    Distances along the factor (geodesic stress) are arcs on a circle of radius ``ring``
    when it is set (and ring normalisation targets that circle), distances between the
    projections onto the low-energy set when ``snap``, else Euclidean in the ambient space.
    ``levels`` are reference marks on a one-dimensional code's axis (a point set's points, a
    segment's ends); ``per_axis`` makes every ambient axis a unit of its own, in prior
    standard deviations, traversed with ``traverse(num_steps, axis=...)`` (a Euclidean block).
    """

    kinds: tuple[Kind, ...]
    columns: Columns = "coordinate"
    ring: float | None = None
    snap: bool = False
    levels: tuple[float, ...] = ()
    per_axis: bool = False

    def __post_init__(self) -> None:
        if not self.kinds or any(kind not in KINDS for kind in self.kinds):
            raise ValueError(f"Reading: kinds must be a non-empty tuple of {KINDS}: {self.kinds}")
        if self.is_angle and (len(self.kinds) != 1 or not is_circular(self.kinds[0])):
            raise ValueError(f"Reading: an angle is one loop column, got kinds {self.kinds}")

    @property
    def is_angle(self) -> bool:
        """One circular column: the angle of the first two ambient axes."""
        return self.columns == "angle"

    @property
    def is_index(self) -> bool:
        """Discrete columns read through the factor's coordinate (a point set's index)."""
        return self.columns == "coordinate" and all(is_discrete(kind) for kind in self.kinds)
