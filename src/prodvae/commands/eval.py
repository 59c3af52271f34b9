"""``prodvae eval RUN_DIR``: score a trained run with ``prodvae.metrics.evaluate``.

Writes ``metrics.json`` (the latest evaluation) into the run folder, appends the same
record to ``evaluations.jsonl`` (every evaluation, so none is lost when another suite,
dataset or checkpoint is scored), and prints the scores as a table.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from prodvae.atomic import atomic_write_text
from prodvae.train import DataConfig, load_run, make_encoder
from prodvae.train.build import build_dataset

METRICS_JSON = "metrics.json"
HISTORY_JSONL = "evaluations.jsonl"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a trained run with the disentanglement / topology metrics",
        description=(
            "Evaluate the latest checkpoint of RUN_DIR; writes RUN_DIR/metrics.json and "
            "appends it to RUN_DIR/evaluations.jsonl. A dataset that is no grid is scored on "
            "rows drawn at random, its continuous factors in 20 bins; the FactorVAE and BetaVAE "
            "scores hold a factor at one of those values or bins and draw rows that share it."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--suite", choices=("standard", "topology", "all"), default="standard")
    parser.add_argument("--fast", action="store_true", help="the metrics' fast presets")
    parser.add_argument(
        "--dataset",
        metavar="NAME",
        help="evaluate on this registered dataset instead of the run's own (same image size)",
    )
    parser.add_argument(
        "--num-train",
        type=int,
        default=10000,
        help="samples drawn to fit: grid points, or rows of a file that is no grid (default 10000)",
    )
    parser.add_argument(
        "--num-test", type=int, default=5000, help="samples drawn to score (default 5000)"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ... (default: cpu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from prodvae.metrics import evaluate, format_table

    dataset = None
    if args.dataset:
        dataset = build_dataset(DataConfig(name=args.dataset, options=_run_options(args.run_dir)))
    loaded = load_run(args.run_dir, device=args.device, dataset=dataset)
    encode = make_encoder(loaded.model, next(loaded.model.parameters()).device)
    results = evaluate(
        encode,
        loaded.dataset,
        space=loaded.space,
        suite=args.suite,
        fast=args.fast,
        num_train=args.num_train,
        num_test=args.num_test,
    )
    record = {
        "step": loaded.step,
        "checkpoint": str(loaded.checkpoint),
        "dataset": args.dataset or loaded.config.data.name,
        "metrics": {key: _json_value(value) for key, value in results.items()},
    }
    path = Path(args.run_dir) / METRICS_JSON
    with open(Path(args.run_dir) / HISTORY_JSONL, "a", encoding="utf-8") as history:
        history.write(json.dumps(record) + "\n")
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
    print(f"{args.run_dir} at step {loaded.step} on {record['dataset']} ({args.suite} suite)")
    print(format_table(results))
    print(f"wrote {path}")
    return 0


def _json_value(value):
    """Floats that JSON can hold (NaN and infinities become null); other values as they are."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _run_options(run_dir: str) -> dict:
    """The run's dataset options (e.g. ``image_size``), reused for another dataset."""
    from prodvae.train import RunFolder

    return dict(RunFolder(run_dir).read_config_dict().get("data", {}).get("options", {}))
