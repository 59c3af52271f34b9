"""How well are loops read from the orbits of a file that is not a grid?

For every loop factor of the procedural datasets, a file-like dataset of its rows is made:
each other factor held to ``--values`` of its values (drawn at random), every row of that
sub-grid rendered, and a share ``--missing`` of the rows dropped at random, so that the data
are no grid and every orbit misses values. A
:class:`~prodvae.objectives.row_orbits.RowOrbitFrame` reads it as ``product``'s
``orbit_weight`` does: it checks ``--check`` orbits, then draws ``--draws`` more (each linked
to a kept neighbour). Printed: the orbits, the median agreement of the links made, the share
of draws linked well enough to be pulled toward (agreement >= ``AGREEMENT`` all the way), the
circular alignment of those orbits' angles with the truth (median and tenth percentile over
orbits, each up to its own turn and direction; and all of them pooled, up to one turn and
direction for the whole frame: whether the links carried every orbit into one frame), and
the mean time a draw.

    python -m benchmarks.row_orbits --record row_orbits
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
import torch

from benchmarks.results import record
from prodvae.data import ArrayDataset, get_dataset
from prodvae.metrics.circular import circular_alignment
from prodvae.objectives.orbits import AGREEMENT
from prodvae.objectives.row_orbits import RowOrbitFrame

DATASETS = ("sprites", "orbit", "torus")


def gappy_rows(dataset, factor: int, values: int, missing: float, seed: int) -> ArrayDataset:
    """``dataset``'s rows on a sub-grid (every value of ``factor``, ``values`` of each other
    factor's), a share ``missing`` of them dropped: an :class:`ArrayDataset` without a grid."""
    rng = np.random.default_rng(seed)
    axes = [
        np.arange(size) if k == factor or size <= values else rng.choice(size, values, False)
        for k, size in enumerate(dataset.factor_sizes)
    ]
    cells = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))
    cells = cells[rng.random(len(cells)) >= missing]
    images = dataset.images_from_factors(torch.from_numpy(cells)).permute(0, 2, 3, 1).numpy()
    factors = np.stack(
        [
            np.asarray(spec.values, dtype=np.float64)[cells[:, k]]
            for k, spec in enumerate(dataset.spec)
        ],
        axis=1,
    )
    return ArrayDataset(np.ascontiguousarray(images), factors, dataset.spec)


def read_factor(rows: ArrayDataset, factor: int, check: int, draws: int, seed: int) -> dict:
    """One loop factor's row of the table (see the module docstring)."""
    spec = rows.spec[factor]
    generator = torch.Generator().manual_seed(seed)
    frame = RowOrbitFrame(rows, factor, generator)
    links = frame.check(check, generator)
    start, pulled = time.perf_counter(), 0
    for _ in range(draws):  # as in training: the orbits drawn do not hang on what is kept
        key = frame.draw(generator)
        path = torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        pulled += frame.orbit(key, path).worst >= AGREEMENT
    seconds = (time.perf_counter() - start) / draws
    aligned, angles, truths = [], [], []
    for key, draw in frame.kept.items():
        if draw.worst >= AGREEMENT:
            turns = rows.factors_at(frame.orbits[key].rows)[:, factor].numpy() / spec.period
            truth = 2 * math.pi * turns * spec.symmetry
            aligned.append(circular_alignment(draw.angles.numpy(), truth))  # either way round
            angles.append(draw.angles.numpy())
            truths.append(truth)
    # every orbit in the one frame: a single turn and direction for all of them
    pooled = circular_alignment(np.concatenate(angles), np.concatenate(truths)) if angles else 0.0
    return {
        "factor": spec.name,
        "rows": len(rows),
        "orbits": len(frame.orbits),
        "values": float(np.mean([frame.count(key) for key in frame.orbits])),
        "agreement": float(links.median()) if links.numel() else 0.0,
        "pulled": pulled / draws,
        "kept": len(aligned),
        "alignment": float(np.median(aligned)) if aligned else 0.0,
        "alignment_p10": float(np.percentile(aligned, 10)) if aligned else 0.0,
        "frame_alignment": pooled,
        "seconds_per_orbit": seconds,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--values", type=int, default=3, help="values kept of each other factor")
    parser.add_argument("--missing", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    parser.add_argument("--check", type=int, default=20)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", metavar="NAME", help="write benchmarks/results/NAME.json")
    args = parser.parse_args(argv)
    if not all(0 <= share < 1 for share in args.missing):
        parser.error(f"--missing shares must be in [0, 1), got {args.missing}")
    if args.draws < 1 or args.check < 0 or args.values < 1:
        parser.error("--draws and --values must be at least 1, --check at least 0")
    rows = []
    for name in args.datasets:
        dataset = get_dataset(name, image_size=args.image_size)
        for factor, spec in enumerate(dataset.spec):
            if spec.kind != "loop":
                continue
            for missing in args.missing:
                data = gappy_rows(dataset, factor, args.values, missing, args.seed)
                row = {
                    "dataset": name,
                    "missing": missing,
                    **read_factor(data, factor, args.check, args.draws, args.seed),
                }
                rows.append(row)
                print(
                    f"{name:8s} {row['factor']:12s} {missing:.0%} missing: {row['orbits']} "
                    f"orbits of {row['values']:.1f} values, links agree {row['agreement']:.3f}, "
                    f"{row['pulled']:.0%} of draws pulled, alignment {row['alignment']:.4f} "
                    f"(p10 {row['alignment_p10']:.4f}, pooled {row['frame_alignment']:.4f}), "
                    f"{1000 * row['seconds_per_orbit']:.1f} "
                    "ms a draw",
                    flush=True,
                )
    if args.record:
        payload = {"image_size": args.image_size, "values": args.values, "rows": rows}
        record(args.record, payload, table="row_orbits")
    return rows


if __name__ == "__main__":
    main()
