"""``prodvae bench PRESET``: the disentanglement benchmark sweep (see :mod:`prodvae.bench`)."""

from __future__ import annotations

import argparse
import logging

from prodvae.bench.arguments import (
    add_arguments,
    describe_cells,
    describe_result,
    read_preset,
    sweep_from_args,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="train and score a sweep of objectives x datasets x seeds",
        description=(
            "Run a benchmark preset: every cell is a training run in OUT/cells/<cell>/, "
            "scored with the standard and topology metrics; writes OUT/results.json, "
            "OUT/results.md (mean ± std over seeds) and OUT/results.png. Finished cells are "
            "skipped, so rerunning the command resumes a sweep."
        ),
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    preset = read_preset(args)
    if args.list:
        print(describe_cells(preset))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = sweep_from_args(args, preset)
    print(describe_result(result))
    return 1 if result.failures else 0
