"""The orbits of the coming steps, read in a worker process while the current step trains.

A step's orbits do not depend on the model (:func:`~prodvae.objectives.orbit_pull.draw_orbits`:
cells, rows and paths from a generator seeded with the step, the images rendered, their
angles read and linked), and reading them is Python and small kernels that run on one core:
on a thread next to the step they gained nothing (the interpreter lock and the one pool of
intra-op threads; ``benchmarks/README.md``), in a process they run on a core the step leaves
idle. ``product``'s ``orbit_workers: 1`` reads them so.

The worker is a :class:`torch.utils.data.DataLoader` worker over the steps from the one asked
for on: it starts from the frames as they are in this process, and reads steps in order, so
a run reads exactly the orbits it reads without it (the frames keep what earlier steps read,
here in the worker). A step other than the next one starts a new worker from this process's
frames, which the worker's reading never changes: as a resumed run starts from fresh frames
in either case, a resumed run reads the same orbits with the worker as without. Its seed for
the global RNG is drawn from a generator of its own, never from the global one (the
posterior noise). On platforms that start workers by spawning, the frames and their dataset
are pickled to it.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, IterableDataset

from prodvae.objectives.orbit_pull import Frame, OrbitDraws, draw_orbits


class _Steps(IterableDataset):
    """``(step, draw_orbits(frames, ...))`` for ``step = start, start + 1, ...``."""

    def __init__(
        self, frames: dict[int, Frame], batch: int, seed: int, draws: int, start: int
    ) -> None:
        self.frames, self.batch, self.draws = frames, batch, draws
        self.seed, self.start = seed, start

    def __iter__(self) -> Iterator[tuple[int, OrbitDraws]]:
        step = self.start
        while True:
            generator = torch.Generator().manual_seed(self.seed + step)
            yield step, draw_orbits(self.frames, self.batch, generator, self.draws)
            step += 1


class OrbitStream:
    """:meth:`read` of step ``s``: ``draw_orbits(frames, batch, Generator(seed + s), draws)``,
    read ahead by a worker process (``ahead`` steps at most)."""

    def __init__(
        self, frames: dict[int, Frame], batch: int, seed: int, draws: int, ahead: int = 2
    ) -> None:
        if ahead < 1:
            raise ValueError(f"OrbitStream: ahead must be >= 1, got {ahead}")
        self.frames, self.batch, self.draws = frames, batch, draws
        self.seed, self.ahead = seed, ahead
        self._steps: Iterator[tuple[int, OrbitDraws]] | None = None
        self._next: int | None = None

    def read(self, step: int) -> OrbitDraws:
        """The orbits of ``step``; an error in the worker is raised here."""
        if self._steps is None or self._next != step:
            self.close()
            steps = _Steps(self.frames, self.batch, self.seed, self.draws, step)
            loader = DataLoader(
                steps,
                batch_size=None,
                num_workers=1,
                prefetch_factor=self.ahead,
                generator=torch.Generator().manual_seed(self.seed),
            )
            self._steps = iter(loader)
        read, drawn = next(self._steps)
        if read != step:  # cannot happen: the worker reads the steps in order
            raise RuntimeError(f"OrbitStream: asked for step {step}, the worker read {read}")
        self._next = step + 1
        return drawn

    def close(self) -> None:
        """Stop the worker (a later :meth:`read` starts another)."""
        steps, self._steps, self._next = self._steps, None, None
        shutdown = getattr(steps, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
