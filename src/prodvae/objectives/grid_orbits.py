"""Orbits of one loop factor of a grid dataset, each in one reference orbit's frame
(:class:`OrbitFrame`): what the objective pulls each loop block toward on a grid, reading new
orbits at about one link each as training draws them (on any other labelled dataset,
:mod:`prodvae.objectives.row_orbits`). The angles come from
:mod:`prodvae.objectives.orbits`; orbits whose views repeat different numbers of times are
linked as :mod:`prodvae.objectives.orbit_repeats` says."""

from __future__ import annotations

import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset
from prodvae.objectives.orbit_repeats import (
    fewest_repeats,
    harmonic_reference,
    orbit_folds,
    spare_generator,
)
from prodvae.objectives.orbits import (
    AGREEMENT,
    REFERENCE_TRIES,
    Draw,
    check_orbit_factor,
    match_frame,
    orbit_angles,
    orbit_cells,
    reference_orbit,
)


class OrbitFrame:
    """Orbits of one factor of a grid dataset, each in one reference orbit's frame.

    The reference orbit is drawn once. Every orbit read since is kept (its angles, and the
    worst agreement on its chain), and a new one is matched (:func:`match_frame`) to a kept
    orbit that differs from it in one held factor, found in a random order; when none does,
    the new orbit is reached from the reference by a path that changes the held factors
    that differ one at a time (in an order drawn at random), every orbit on the path kept.
    Only a well-linked orbit (agreement at least :data:`AGREEMENT` all the way) is linked
    from; one reached through a poor link is read again the next time it is drawn. The
    chains so grow longer than ``K - 1`` links; after 2000 draws their orbits follow the truth
    as well as a chain's do (``benchmarks/orbit_angles.py``).
    Every step of training can so read new orbits at about one link each (a fixed set of
    orbits is learnt by heart: on sprites, 200 fixed orbits' own pull fell to 1.8 while
    fresh sprites' rotation read 0.13). What is kept depends on the draws made, so a run
    resumed from a checkpoint reads its orbits over the paths it draws after.
    """

    def __init__(self, dataset: GroundTruthDataset, factor: int, generator: torch.Generator):
        check_orbit_factor(dataset, factor)
        self.dataset, self.factor = dataset, factor
        self.size = dataset.factor_sizes[factor]
        self.held = [k for k, n in enumerate(dataset.factor_sizes) if k != factor and n > 1]
        self.kept: dict[tuple[int, ...], Draw] = {}
        self._last: tuple[tuple[int, ...], Tensor] | None = None  # the orbit rendered last
        found = reference_orbit(
            lambda: dataset.sample_factors(1, generator=generator)[0],
            lambda cell: orbit_angles(self._whole(cell)),
        )
        spare = spare_generator(generator)  # more draws where its views repeat
        self.cell, angles, folds = fewest_repeats(
            found,
            lambda: dataset.sample_factors(1, generator=spare)[0],
            lambda cell: orbit_angles(self._whole(cell)),
            REFERENCE_TRIES,
        )
        self.angles = angles
        self.kept[self.key(self.cell)] = Draw(angles, 1.0, folds)

    def draw(self, generator: torch.Generator) -> Tensor:
        """A random grid cell: the orbit through it (its factor's own value is ignored)."""
        return self.dataset.sample_factors(1, generator=generator)[0]

    def count(self, cell: Tensor) -> int:
        """How many values an orbit holds: every value of the factor."""
        return self.size

    def key(self, cell: Tensor) -> tuple[int, ...]:
        """The held factors' values of ``cell``: which orbit it lies on."""
        return tuple(int(cell[k]) for k in self.held)

    def images(self, cell: Tensor, rows: Tensor | None = None) -> Tensor:
        """The orbit's images ``uint8 [n, C, H, W]`` through ``cell``, in the factor's order
        (the values ``rows`` only, when given). The whole orbit rendered last is kept, so the
        rows pulled from an orbit just read are not rendered twice (a copy is returned)."""
        if rows is None:
            return self._whole(cell).clone()
        if self._last is not None and self._last[0] == self.key(cell):
            return self._last[1][rows]
        return self.dataset.images_from_factors(orbit_cells(cell, self.factor, self.size)[rows])

    def _whole(self, cell: Tensor) -> Tensor:
        """The whole orbit through ``cell``, rendered once and kept until the next (not to
        be modified: :meth:`images` hands out copies)."""
        key = self.key(cell)
        if self._last is None or self._last[0] != key:
            cells = orbit_cells(cell, self.factor, self.size)
            self._last = (key, self.dataset.images_from_factors(cells))
        return self._last[1]

    def _link(self, cell: Tensor, known: Draw) -> Draw | None:
        """The orbit through ``cell`` matched to ``known``, a kept orbit one factor away, at
        the harmonic that relates their repeats; None (and nothing kept) where ``known``'s
        are no divisor of its own (:func:`harmonic_reference`)."""
        try:
            angles = orbit_angles(self._whole(cell))
        except ValueError:  # no cycle here: no frame through it
            draw = Draw(known.angles, 0.0)
        else:
            repeats = orbit_folds(angles)
            reference = harmonic_reference(known.angles, known.folds, repeats)
            if reference is None:
                return None
            frame = match_frame(reference, angles)
            draw = Draw(frame.angles, min(known.worst, frame.agreement), repeats)
        self.kept[self.key(cell)] = draw
        return draw

    def orbit(self, cell: Tensor, generator: torch.Generator) -> Draw:
        """The orbit through ``cell`` (its other factors' values; the factor's own is
        ignored) in the reference frame."""
        key = self.key(cell)
        if self._settled(key):
            return self.kept[key]
        order = [self.held[i] for i in torch.randperm(len(self.held), generator=generator)]
        for k in order:  # a kept orbit one held factor away, itself well linked
            at = self.held.index(k)
            for value in torch.randperm(self.dataset.factor_sizes[k], generator=generator):
                near = (*key[:at], int(value), *key[at + 1 :])
                if near in self.kept and self.kept[near].worst >= AGREEMENT:
                    draw = self._link(cell, self.kept[near])
                    if draw is not None:  # else its repeats are not read from there
                        return draw
        current = self.cell.clone()  # none: a path from the reference
        draw = self.kept[self.key(current)]
        for k in order:
            if int(cell[k]) == int(current[k]):
                continue
            current[k] = cell[k]
            step = self.key(current)
            linked = self.kept[step] if self._settled(step) else self._link(current.clone(), draw)
            draw = Draw(draw.angles, 0.0) if linked is None else linked
            if draw.worst < AGREEMENT:
                break
        return draw

    def _settled(self, key: tuple[int, ...]) -> bool:
        """Whether the orbit ``key`` is kept for good: well linked, or without a cycle (its
        images will not change); one kept through a poor link is read again when drawn."""
        return key in self.kept and not 0 < self.kept[key].worst < AGREEMENT
