"""``product``'s orbit terms (:class:`OrbitTerms`, a part of
:class:`~prodvae.objectives.product.ProductObjective`): the pull of loop blocks toward their
orbits' angles, what those orbits keep, and the spread of points blocks over their orbits'
values (the functions: :mod:`prodvae.objectives.orbit_pull`)."""

from __future__ import annotations

import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset
from prodvae.models import VAE
from prodvae.objectives.anchor import Anchor
from prodvae.objectives.orbit_pull import (
    Frame,
    OrbitPull,
    draw_orbits,
    orbit_frames,
    pull_drawn,
)
from prodvae.objectives.orbit_stream import OrbitStream
from prodvae.objectives.points_orbits import PointsOrbits, orbit_points, orbit_spread
from prodvae.objectives.product_options import ProductOptions
from prodvae.objectives.weak import prior_spreads
from prodvae.spaces import ProductSpace


class OrbitTerms:
    """The orbit state and terms of ``product`` (its options ``orbit_*``), mixed into the
    objective, whose ``prepare`` calls :meth:`fit_orbits` and whose ``regularise`` adds
    :meth:`_orbit_terms`."""

    name: str
    options: ProductOptions
    anchor: Anchor | None
    _varying: Tensor | None

    def _init_orbits(self) -> None:
        # the space whose prior spreads the pair terms last used, and those spreads
        self._spreads: tuple[ProductSpace, tuple[float, ...]] | None = None
        # orbit_weight: each orbit-started loop block's frame, and the seed of its draws
        self.orbits: dict[int, Frame] = {}
        # orbit_points_weight: each spread points block's orbits
        self.orbit_points: dict[int, PointsOrbits] = {}
        self._orbit_seed, self._spread_seed, self._orbits_fitted = 0, 0, False
        self._stream: OrbitStream | None = None  # orbit_workers: the worker reading ahead

    def fit_orbits(
        self, dataset: GroundTruthDataset, space: ProductSpace, generator: torch.Generator
    ) -> dict[int, Frame]:
        """The orbit frames of the loop blocks the plane start leaves unanchored
        (:func:`~prodvae.objectives.orbit_pull.orbit_frames`, with ``orbit_weight``), the
        points blocks to spread (:func:`~prodvae.objectives.points_orbits.orbit_points`, with
        ``orbit_points_weight``), and the seeds of their draws."""
        if self._varying is None:
            raise ValueError(f"{self.name}: orbits need prepare with changed: known")
        columns = self._varying.tolist()
        if self.options.orbit_weight > 0:
            anchored = None if self.anchor is None else self.anchor.anchored
            count = self.options.orbit_count
            self.orbits = orbit_frames(dataset, space, columns, anchored, count, generator)
        if self.options.orbit_points_weight > 0:
            self.orbit_points = orbit_points(dataset, space, columns)
        seeds = torch.randint(2**62, (2,), generator=generator)
        self._orbit_seed, self._spread_seed = seeds.tolist()
        self._orbits_fitted = True
        return self.orbits

    def orbit_scale(self, step: int) -> float:
        """The orbits' weight at ``step``: 0 before ``orbit_start``, ``orbit_weight`` from
        then on (a start after the anchor and the code normalisation have let go leaves the
        first layout to them)."""
        return self.options.orbit_weight if step >= self.options.orbit_start else 0.0

    def orbit_pull(self, model: VAE, step: int) -> OrbitPull:
        """:func:`~prodvae.objectives.orbit_pull.pull_drawn` of this step's orbits (drawn from
        the seed :meth:`fit_orbits` drew and ``step``; their angles from the frames)."""
        o = self.options
        if o.orbit_workers:  # the same orbits, read ahead in a worker process
            if self._stream is None:
                self._stream = OrbitStream(
                    self.orbits, o.orbit_batch, self._orbit_seed, o.orbit_draws
                )
            drawn = self._stream.read(step)
        else:
            generator = torch.Generator().manual_seed(self._orbit_seed + step)
            drawn = draw_orbits(self.orbits, o.orbit_batch, generator, o.orbit_draws)
        return pull_drawn(model, drawn, self._prior_spreads(model) if o.orbit_kept_weight else None)

    def _prior_spreads(self, model: VAE) -> tuple[float, ...]:
        """The prior's spreads of ``model``'s space (:func:`prior_spreads`), kept."""
        if self._spreads is None or self._spreads[0] != model.space:
            self._spreads = (model.space, prior_spreads(model.space))
        return self._spreads[1]

    def orbit_spread(self, model: VAE, step: int) -> Tensor:
        """:func:`~prodvae.objectives.points_orbits.orbit_spread` of this step's orbits."""
        if not self._orbits_fitted:
            raise ValueError(f"{self.name}: call prepare before orbit_spread")
        generator = torch.Generator().manual_seed(self._spread_seed + step)
        draws = self.options.orbit_points_draws or self.options.orbit_draws
        # at most orbit_batch images a step, as the loops' orbits: a few of many values
        most = max(2, self.options.orbit_batch // draws)
        return orbit_spread(model, self.orbit_points, draws, generator, most)

    def _orbit_terms(self, model: VAE, step: int, logs: dict[str, float]) -> Tensor:
        """The orbits' pull and spread at ``step`` (0 before ``orbit_start``), weighted."""
        o = self.options
        penalty = torch.zeros((), device=next(model.parameters()).device)
        if step < o.orbit_start or not (o.orbit_weight > 0 or o.orbit_points_weight > 0):
            return penalty
        if not self._orbits_fitted:
            raise ValueError(
                f"{self.name}: orbit_weight or orbit_points_weight > 0 needs the orbits: call "
                "objective.prepare(dataset, space, generator) before training"
            )
        if o.orbit_weight > 0 and self.orbits:
            pull = self.orbit_pull(model, step)
            penalty = penalty + self.orbit_scale(step) * pull.total
            logs["orbits"] = pull.total.item()
            logs["orbit_agreement"] = pull.worst
            if pull.kept is not None:
                penalty = penalty + o.orbit_kept_weight * pull.kept
                logs["orbit_kept"] = pull.kept.item()
        if o.orbit_points_weight > 0 and self.orbit_points:
            spread = self.orbit_spread(model, step)
            penalty = penalty + o.orbit_points_weight * spread
            logs["orbit_spread"] = spread.item()
        return penalty
