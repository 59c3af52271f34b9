"""Weak-supervision pairs from the rows of any labelled dataset, grid or not.

A pair changes a set ``S`` of factors. Its first item is a row; its second is reached by one
*move* per factor of ``S``, in a random order: a move to a row at the same level on every other
factor and at another level on the moved one (levels: :mod:`prodvae.data.matching`; exact
values, or the nearest values within a tolerance for continuous factors). So the second item
matches the first on every unchanged factor and differs from it on each changed one. On a full
grid this draws each changed factor uniformly among its other values, as the grid pairs do.

The index (:class:`RowPairs`) is built once per dataset: for each factor, the rows sorted by
their levels on all the other factors and then on that factor, so that a move is an O(1)
lookup and a batch of pairs costs O(batch * K^2), whatever the number of rows.

**Resolution.** Continuous factors (segments and loops with more distinct values than
``max_levels``) are binned at the finest ``max_levels`` (exact values, then powers of two down
to :data:`MIN_LEVELS`) at which every factor can be moved from at least half as many rows as
at the coarsest. Photographs of objects at unique random angles, for instance, have no two
objects at exactly one angle; the search keeps the angle bins as narrow as still lets most
rows change the object.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from prodvae.data.grid import ColumnLevels
from prodvae.data.matching import Levels, distinct_values, factor_levels
from prodvae.data.spec import FactorSpec

#: The coarsest binning of a continuous factor: factors with at most this many distinct
#: values always match exactly.
MIN_LEVELS = 8
#: How many times a batch redraws the first items of pairs that found no second item.
MAX_ROUNDS = 1000
#: How many sets of changed factors :meth:`RowPairs.check_changes` tries (all of them for up
#: to 10 changeable factors; beyond, the smallest sets first).
MAX_CHECKED_SETS = 1024


class PairRows(NamedTuple):
    """Dataset rows of the two items of each pair, and which factors each pair changes."""

    rows1: torch.Tensor  # long [n]
    rows2: torch.Tensor  # long [n]
    changed: torch.Tensor  # bool [n, K]


def _combine(key: np.ndarray, size: int, code: np.ndarray, num_codes: int) -> tuple:
    """A key ``[N]`` for the pair ``(key, code)``, renumbered first if it would overflow."""
    if size * num_codes >= 2**62:
        _, inverse = np.unique(key, return_inverse=True)
        key, size = inverse.reshape(-1).astype(np.int64), int(inverse.max()) + 1
    return key * num_codes + code, size * num_codes


def _segments(starts_here: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of the run each position of a sorted array is in."""
    starts = np.flatnonzero(starts_here)
    lengths = np.diff(np.append(starts, starts_here.size))
    which = np.cumsum(starts_here) - 1
    return starts[which], lengths[which]


class Moves:
    """Moves of one factor: rows sorted by (levels of the other factors, this factor's level).

    For each row, its *group* (same levels elsewhere) and its *run* (the group's rows at its
    own level) are spans of ``order``; the partners of a move are the group minus the run.
    """

    def __init__(self, others: np.ndarray, codes: np.ndarray) -> None:
        order = np.lexsort((codes, others))
        others, codes = others[order], codes[order]
        new_group = np.r_[True, others[1:] != others[:-1]]
        new_run = new_group | np.r_[True, codes[1:] != codes[:-1]]
        position = np.empty_like(order)
        position[order] = np.arange(order.size)
        group_start, group_size = (a[position] for a in _segments(new_group))
        run_start, run_size = (a[position] for a in _segments(new_run))
        small = np.int32 if order.size < 2**31 else np.int64  # half the memory
        self.order, self.group_start, self.run_start, self.run_size, self.num_partners = (
            a.astype(small)
            for a in (order, group_start, run_start, run_size, group_size - run_size)
        )  # num_partners [N]: how many rows each row can move to
        self.movable = np.flatnonzero(self.num_partners > 0)

    @property
    def coverage(self) -> float:
        """The share of rows that have a partner."""
        return self.movable.size / self.order.size

    def move(self, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A uniform partner of each of ``rows [m]`` (from uniforms ``u [m]``), -1 if none."""
        count = self.num_partners[rows]
        pick = np.clip((u * count).astype(np.int64), 0, np.maximum(count - 1, 0))
        at = self.group_start[rows] + pick
        at = np.where(at >= self.run_start[rows], at + self.run_size[rows], at)
        found = self.order[np.minimum(at, self.order.size - 1)]
        return np.where(count > 0, found, -1)


class RowPairs:
    """The pair index of a dataset's factors at one resolution, from each factor's
    :func:`~prodvae.data.matching.distinct_values` over the ``N`` rows."""

    def __init__(
        self,
        distinct: Sequence[ColumnLevels],
        spec: Sequence[FactorSpec],
        max_levels: int | None,
    ) -> None:
        self.spec, self.max_levels = tuple(spec), max_levels
        self.levels: list[Levels] = [
            factor_levels(d, s, max_levels) for d, s in zip(distinct, self.spec)
        ]
        self.changeable = [d.values.size > 1 for d in distinct]
        moves: dict[int, Moves] = {}
        rows = distinct[0].indices.size
        prefix = [(np.zeros(rows, dtype=np.int64), 1)]
        for level in self.levels:
            prefix.append(_combine(*prefix[-1], level.codes, level.num_levels))
        suffix = (np.zeros(rows, dtype=np.int64), 1)
        for k in reversed(range(len(self.spec))):
            if self.changeable[k]:
                others, _ = _combine(*prefix[k], *suffix)
                moves[k] = Moves(others, self.levels[k].codes)
            suffix = _combine(*suffix, self.levels[k].codes, self.levels[k].num_levels)
        self.moves = dict(sorted(moves.items()))

    @classmethod
    def build(cls, factors: np.ndarray, spec: Sequence[FactorSpec]) -> RowPairs:
        """The index of factor values ``[N, K]`` at the finest resolution that pairs about as
        many rows as the coarsest (see the module docstring)."""
        factors = np.asarray(factors, dtype=np.float64)
        distinct = [distinct_values(factors[:, k], s) for k, s in enumerate(spec)]
        exact = cls(distinct, spec, None)
        finest = max(d.values.size for d in distinct)
        if finest <= MIN_LEVELS:
            return exact
        coarsest = cls(distinct, spec, MIN_LEVELS)
        if exact.pairs_as_well_as(coarsest):
            return exact
        low, high, best = MIN_LEVELS.bit_length() - 1, (finest - 1).bit_length(), coarsest
        while high - low > 1:  # 2**low pairs well enough, 2**high does not
            middle = (low + high) // 2
            candidate = cls(distinct, spec, 2**middle)
            if candidate.pairs_as_well_as(coarsest):
                low, best = middle, candidate
            else:
                high = middle
        return best

    def coverage(self) -> dict[int, float]:
        """For each changeable factor, the share of rows that can change it alone."""
        return {k: moves.coverage for k, moves in self.moves.items()}

    def pairs_as_well_as(self, coarser: RowPairs) -> bool:
        mine, theirs = self.coverage(), coarser.coverage()
        return all(mine[k] >= 0.5 * theirs[k] for k in mine)

    @property
    def tolerance(self) -> tuple[float, ...]:
        """Per factor, the most two matching values differ by (0.0: exactly equal)."""
        return tuple(level.tolerance for level in self.levels)

    def check(self) -> None:
        """Raise one ``ValueError`` naming every factor that no pair can change alone."""
        stuck = [self.spec[k].name for k, moves in self.moves.items() if moves.movable.size == 0]
        if stuck:
            names = ", ".join(repr(name) for name in stuck)
            factors, never = (
                ("factor", "never changes") if len(stuck) == 1 else ("factors", "never change")
            )
            raise ValueError(
                f"weak-supervision pairs: {factors} {names} {never} alone: no two rows share "
                f"every other factor's value (continuous ones matched to {MIN_LEVELS} levels at "
                "the coarsest) and differ in it. Label the factors more coarsely (round "
                "continuous values, merge rare labels) so that several rows share all but it, "
                "or give it one value in every row"
            )

    def check_changes(self, num_changed: int | None) -> None:
        """Raise a ``ValueError`` naming the factors of a set of ``num_changed`` factors
        (``None``: of 1..m-1) that no pair changes together (up to :data:`MAX_CHECKED_SETS`
        sets, a few pairs each, from a fixed generator)."""
        factors = list(self.moves)
        sizes = range(1, len(factors)) if num_changed is None else [num_changed]
        sets = itertools.chain.from_iterable(itertools.combinations(factors, s) for s in sizes)
        generator = torch.Generator().manual_seed(0)
        for changed_set in itertools.islice(sets, MAX_CHECKED_SETS):
            changed = torch.zeros(8, len(self.spec), dtype=torch.bool)
            changed[:, list(changed_set)] = True
            self.sample(changed, generator)

    def sample(self, changed: torch.Tensor, generator: torch.Generator | None) -> PairRows:
        """Pairs that change the factors of each row of ``changed`` (bool ``[n, K]``)."""
        n = changed.shape[0]
        first, second = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        todo = np.arange(n)
        for _ in range(MAX_ROUNDS):
            if todo.size == 0:
                break
            rows1, rows2 = self._attempt(changed[torch.from_numpy(todo)], generator)
            done = rows2 >= 0
            first[todo[done]], second[todo[done]] = rows1[done], rows2[done]
            todo = todo[~done]
        if todo.size:
            names = [self.spec[k].name for k in np.flatnonzero(changed[int(todo[0])].numpy())]
            raise ValueError(
                f"weak-supervision pairs: after {MAX_ROUNDS} draws, no pair changes the "
                f"factors {names} together (each can change alone, but not from the rows the "
                "others lead to); use data.num_changed=1 or label more coarsely"
            )
        return PairRows(torch.from_numpy(first), torch.from_numpy(second), changed.clone())

    def _attempt(self, changed: torch.Tensor, generator) -> tuple[np.ndarray, np.ndarray]:
        """First rows (movable in their first changed factor) and their second rows, -1
        where a later move found no partner."""
        m, num_factors = changed.shape
        keys = torch.rand(m, num_factors, generator=generator)
        keys[~changed] = 2.0
        steps = keys.argsort(dim=1).numpy()  # changed factors first, in a random order
        is_changed = changed.numpy()
        current = np.empty(m, dtype=np.int64)
        for k, moves in self.moves.items():
            starts = np.flatnonzero(steps[:, 0] == k)
            if starts.size:
                pick = torch.randint(moves.movable.size, (starts.size,), generator=generator)
                current[starts] = moves.movable[pick.numpy()]
        first = current.copy()
        uniforms = torch.rand(m, num_factors, generator=generator).numpy()
        for step in range(num_factors):
            factor = steps[:, step]
            active = is_changed[np.arange(m), factor] & (current >= 0)
            for k in np.unique(factor[active]).tolist():
                where = np.flatnonzero(active & (factor == k))
                current[where] = self.moves[k].move(current[where], uniforms[where, step])
        return first, current
