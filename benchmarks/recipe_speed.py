"""The recipe's training step with one setting changed, beside the recipe as it is.

Trains ``configs/product_weak.yaml`` through ``prodvae.train`` on sprites (``--image-size``,
32 px by default), in runs of two log windows of ``--steps`` steps each (the first a warm-up,
the second timed), without and with the change in turn: without, with, without, ...,
without. The change is ``--change`` (``train.channels_last=true`` by default: convolution
weights in channels-last order; ``objective.options.orbit_workers=1``: the orbits read ahead
in a worker process); ``--set`` changes both arms alike. Each changed window's images/s is
divided by the mean of the unchanged windows on either side of it (a 2-core virtual
machine's speed drifts by 10-20% over minutes; pairing cancels it), and a row's ratio is the
median of these. The orbit pull starts at step 0 (``objective.options.orbit_start``), so
every timed step reads and pulls orbits as the recipe's steps after its 1000th do. The
figures go to ``benchmarks/results/recipe_speed.json`` (``--record`` names another).
Run:

    .venv/bin/python -m benchmarks.recipe_speed                        # batches 32 and 64
    .venv/bin/python -m benchmarks.recipe_speed --batches 32 --steps 50 --repeats 2
    .venv/bin/python -m benchmarks.recipe_speed --change objective.options.orbit_workers=1 \
        --record recipe_speed_orbit_workers
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from prodvae.train import load_config, read_metrics, train

RECIPE = Path(__file__).resolve().parents[1] / "configs" / "product_weak.yaml"


def window_rate(args, batch: int, changed: bool, run_dir: Path) -> float:
    """Images/s of the second of two log windows of ``args.steps`` steps of the recipe, with
    ``args.change`` when ``changed``."""
    config = load_config(
        RECIPE,
        [
            "data.name=sprites",
            f"data.options={{image_size: {args.image_size}}}",
            "objective.options.orbit_start=0",
            f"train.batch_size={batch}",
            f"train.steps={2 * args.steps}",
            f"train.log_every={args.steps}",
            f"train.checkpoint_every={4 * args.steps}",
            f"train.num_workers={args.num_workers}",
            f"train.seed={args.seed}",
            "train.progress=false",
            "run.tensorboard=false",
            f"run.dir={run_dir.parent}",
            f"run.name={run_dir.name}",
            *args.set,
            *(args.change if changed else []),
        ],
    )
    train(config, run_dir, hooks=[])
    return float(read_metrics(run_dir)[-1]["images_per_s"])


def measure(args, batch: int) -> dict[str, Any]:
    """One row: default and changed windows in turn, each changed one paired with the mean of
    the default ones beside it."""
    default: list[float] = []
    last: list[float] = []
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        default.append(window_rate(args, batch, False, Path(tmp) / "d0"))
        for repeat in range(args.repeats):
            last.append(window_rate(args, batch, True, Path(tmp) / f"c{repeat}"))
            default.append(window_rate(args, batch, False, Path(tmp) / f"d{repeat + 1}"))
            ratios.append(last[-1] / ((default[-2] + default[-1]) / 2))
    return {
        "batch": batch,
        "default_per_s": statistics.median(default),
        "changed_per_s": statistics.median(last),
        "ratio": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", nargs="+", type=int, default=[32, 64])
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100, help="steps a log window")
    parser.add_argument("--repeats", type=int, default=3, help="channels-last windows a row")
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--change",
        action="append",
        metavar="KEY=VALUE",
        help="the setting compared (repeat for several; default train.channels_last=true)",
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="both arms")
    parser.add_argument("--record", default="recipe_speed", help="results file name")
    args = parser.parse_args()
    args.change = args.change or ["train.channels_last=true"]
    print(f"torch threads {torch.get_num_threads()}, {args.image_size} px sprites, the recipe")
    print(f"changed: {' '.join(args.change)}; both: {' '.join(args.set) or 'as it is'}")
    print(f"{'batch':>5} {'default img/s':>14} {'changed img/s':>14} {'ratio':>6}")
    rows = []
    for batch in args.batches:
        row = measure(args, batch)
        rows.append(row)
        low, high = row["ratio_range"]
        print(
            f"{batch:>5} {row['default_per_s']:>14.0f} {row['changed_per_s']:>14.0f} "
            f"{row['ratio']:>6.2f}   (ratios {low:.2f}-{high:.2f})"
        )
    settings = {
        "threads": torch.get_num_threads(),
        "image_size": args.image_size,
        "steps": args.steps,
        "repeats": args.repeats,
        "num_workers": args.num_workers,
        "change": args.change,
        "set": args.set,
    }
    from benchmarks.results import record

    payload = {"settings": settings, "rows": rows}
    print(f"\nwrote {record(args.record, payload, table='recipe_speed')}")


if __name__ == "__main__":
    if not __package__:  # run as a script: make ``benchmarks`` importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
