"""``prodvae viz RUN_DIR``: draw a run's figures into ``RUN_DIR/figures/`` and write
``RUN_DIR/report.html``."""

from __future__ import annotations

import argparse
from pathlib import Path

import prodvae.train
from prodvae.viz import write_figures, write_report


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "viz",
        help="draw a run's figures and write its report.html",
        description=(
            "Load the latest checkpoint of RUN_DIR and write reconstructions, topology-aware "
            "traversals (PNG grid and GIF), latent portraits, the factor x latent association "
            "matrix and the training curves into RUN_DIR/figures/, then RUN_DIR/report.html."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by prodvae train")
    parser.add_argument(
        "--num-samples", type=int, default=1000, help="dataset items encoded (default 1000)"
    )
    parser.add_argument(
        "--num-images", type=int, default=8, help="images in the reconstruction grid (default 8)"
    )
    parser.add_argument(
        "--num-steps", type=int, default=9, help="steps of each traversal (default 9)"
    )
    parser.add_argument("--seed", type=int, default=0, help="which items are drawn (default 0)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{str(run_dir)!r} is not a run folder (no config.yaml)")
    loaded = prodvae.train.load_run(run_dir, device=args.device)
    files = write_figures(
        loaded.model,
        loaded.dataset,
        run_dir / "figures",
        num_samples=args.num_samples,
        num_images=args.num_images,
        num_steps=args.num_steps,
        seed=args.seed,
        metrics_path=run_dir / "metrics.jsonl",
    )
    report = write_report(run_dir)
    for figure in files.values():
        print(f"wrote {figure.path} ({figure.width}x{figure.height})")
    print(f"wrote {report} (step {loaded.step})")
    return 0
