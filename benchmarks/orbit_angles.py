"""How well do orbits read each loop's angle from its images alone?

For every loop factor of the procedural datasets, :func:`prodvae.objectives.orbits.
chained_orbits` reads the angles of ``--orbits`` orbits (every value of the factor, the rest
held), chained through the pairs that join neighbouring orbits, and this prints their circular
alignment with the true values (either way round; 1 for angles equal to the values up to one
turn and direction), the median agreement of neighbouring orbits; then it draws ``--draws``
orbits through random cells in one frame (:class:`~prodvae.objectives.grid_orbits.OrbitFrame`,
as ``product``'s ``orbit_weight`` does at every step: each new orbit linked to a kept one), and
prints the mean time a draw and the alignment of every orbit the frame kept with the truth (the
error of the links, gathered over the draws). The same draws, in turn with those, are made in a
second frame that sorts every orbit's pixels for repeats (``torch.unique``), as the reading did
before it looked at the distances first: the time a draw side by side, and whether the two
frames kept the same angles.

    python -m benchmarks.orbit_angles --record orbit_angles
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
import torch

from benchmarks.results import record
from prodvae.data import get_dataset
from prodvae.metrics.circular import circular_alignment
from prodvae.objectives import orbits
from prodvae.objectives.grid_orbits import OrbitFrame
from prodvae.objectives.orbits import AGREEMENT, chained_orbits

DATASETS = ("sprites", "orbit", "torus")


def read_factor(dataset, factor: int, count: int, draws: int, seed: int) -> dict[str, Any]:
    """One loop factor's row: alignment of ``count`` chained orbits' angles with the truth,
    their median agreement, and the mean seconds to draw one fresh orbit in a frame."""
    spec = dataset.spec[factor]
    generator = torch.Generator().manual_seed(seed)
    chain = chained_orbits(dataset, factor, count, generator)
    values = np.asarray(spec.values, dtype=np.float64)[chain.cells[:, factor].numpy()]
    turns = values / spec.period
    truth = 2 * math.pi * turns * spec.symmetry
    # two frames from one state of the generator: the second reads every orbit it draws
    # (its reference aside) through the sort for repeats, as before the distances were
    # looked at first
    state = generator.get_state()
    frame = OrbitFrame(dataset, factor, generator)
    sorting = OrbitFrame(dataset, factor, torch.Generator().set_state(state))
    seconds, sorted_seconds = 0.0, 0.0
    for draw in range(draws):  # as in training: the cells drawn do not hang on what is kept
        seed = int(torch.randint(2**62, (1,), generator=generator))
        cell = dataset.sample_factors(1, generator=generator)[0]
        for sort in (False, True) if draw % 2 else (True, False):  # each first in turn
            if sort:
                sorted_seconds += _timed(sorting, cell, seed, sort=True)
            else:
                seconds += _timed(frame, cell, seed, sort=False)
    kept = [draw.angles for draw in frame.kept.values() if draw.worst >= AGREEMENT]
    same = frame.kept.keys() == sorting.kept.keys() and all(
        torch.equal(draw.angles, sorting.kept[key].angles) for key, draw in frame.kept.items()
    )
    levels = 2 * math.pi * np.asarray(spec.values, dtype=np.float64) / spec.period
    kept_truth = np.tile(levels * spec.symmetry, len(kept))
    return {
        "factor": spec.name,
        "values": dataset.factor_sizes[factor],
        "orbits": count,
        "kept": len(chain.angles) // dataset.factor_sizes[factor],
        "alignment": circular_alignment(chain.angles.numpy(), truth),
        "agreement": float(chain.agreement.median()),
        "seconds_per_orbit": seconds / draws,
        "sorted_seconds_per_orbit": sorted_seconds / draws,
        "same_as_sorted": same,
        "frame_orbits": len(kept),
        "frame_alignment": circular_alignment(torch.cat(kept).numpy(), kept_truth),
    }


def _timed(frame: OrbitFrame, cell: torch.Tensor, seed: int, *, sort: bool) -> float:
    """Seconds to draw the orbit through ``cell`` in ``frame`` (its path drawn from
    ``seed``); ``sort``: every orbit read through ``torch.unique``."""
    check = orbits._may_repeat
    if sort:
        orbits._may_repeat = lambda *args: True
    try:
        start = time.perf_counter()
        frame.orbit(cell, torch.Generator().manual_seed(seed))
        return time.perf_counter() - start
    finally:
        orbits._may_repeat = check


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--orbits", type=int, default=100)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", metavar="NAME", help="write benchmarks/results/NAME.json")
    args = parser.parse_args(argv)
    rows = []
    for name in args.datasets:
        dataset = get_dataset(name, image_size=args.image_size)
        for factor, spec in enumerate(dataset.spec):
            if spec.kind != "loop":
                continue
            row = {
                "dataset": name,
                **read_factor(dataset, factor, args.orbits, args.draws, args.seed),
            }
            rows.append(row)
            print(
                f"{name:8s} {row['factor']:12s} alignment {row['alignment']:.4f}, neighbouring "
                f"orbits agree {row['agreement']:.4f}, {1000 * row['seconds_per_orbit']:.1f} ms "
                f"a draw ({1000 * row['sorted_seconds_per_orbit']:.1f} sorting every orbit; "
                f"the same angles: {row['same_as_sorted']}), the {row['frame_orbits']} kept at "
                f"{row['frame_alignment']:.4f}",
                flush=True,
            )
    if args.record:
        record(args.record, {"image_size": args.image_size, "rows": rows}, table="orbit_angles")
    return rows


if __name__ == "__main__":
    main()
