"""``python -m benchmarks.disentangle PRESET [--out DIR] [--executor ...] [--record NAME]``.

The same harness as ``prodvae bench`` (:mod:`prodvae.bench`); presets live in
``benchmarks/disentangle/presets/``. ``--record NAME`` also writes every finished cell's
metrics to ``benchmarks/results/NAME.json``, from which the results tables in README.md and
benchmarks/README.md are made (``python -m benchmarks.tables``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from benchmarks.results import record
from prodvae.bench.arguments import (
    add_arguments,
    describe_cells,
    describe_result,
    read_preset,
    sweep_from_args,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.disentangle", description=__doc__)
    add_arguments(parser)
    parser.add_argument(
        "--record",
        metavar="NAME",
        help="also write the cells' metrics to benchmarks/results/NAME.json (for the docs)",
    )
    args = parser.parse_args(argv)
    try:
        preset = read_preset(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.list:
        print(describe_cells(preset))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = sweep_from_args(args, preset)
    print(describe_result(result))
    if args.record:
        print(f"wrote {record(args.record, sweep_record(preset, result), table='disentangle')}")
    return 1 if result.failures else 0


def sweep_record(preset, result) -> dict[str, Any]:
    """What the docs' tables need: the preset's layout and every cell's status and metrics."""
    keep = ("cell_id", "dataset", "variant", "seed", "status", "metrics", "train_seconds")
    commits = set()
    for meta in result.out_dir.glob("cells/*/run/meta.json"):
        commits.add(json.loads(meta.read_text()).get("git_commit") or "unknown")
    return {
        "trained_at": sorted(commits),
        "preset": preset.name,
        "datasets": list(preset.datasets),
        "variants": list(preset.variants),
        "seeds": sorted({cell.seed for cell in preset.cells}),
        "headline": dict(preset.headline),
        "failures": dict(result.failures),
        "cells": [{k: r[k] for k in keep if k in r} for r in result.records],
    }


if __name__ == "__main__":
    raise SystemExit(main())
