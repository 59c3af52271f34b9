"""``prodvae train CONFIG.yaml... [--set key=value ...]`` and ``prodvae train --resume RUN_DIR``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from prodvae.errors import UserError
from prodvae.train import RunFolder, load_config, train

EXIT_INTERRUPTED = 130
EXIT_NONFINITE = 1


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model from a YAML config, or resume a run",
        description=(
            "Train a model. Each CONFIG.yaml overlays the defaults and the overlays before it "
            "(e.g. a dataset and an objective: configs/data/sprites.yaml "
            "configs/objective/beta_vae.yaml); --set section.key=value changes one field (e.g. "
            "--set train.steps=500 --set objective.options.beta=4). The run folder is "
            "<run.dir>/<run.name> (run.name defaults to the configs' file names joined by '-', "
            "e.g. sprites-beta_vae)."
        ),
    )
    parser.add_argument(
        "configs",
        nargs="*",
        metavar="CONFIG.yaml",
        help="YAML overlays, in order (not with --resume)",
    )
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config field (repeatable)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    _configure_logging()
    if args.resume:
        if args.configs:
            raise UserError("give either CONFIG.yaml or --resume RUN_DIR, not both")
        folder = RunFolder(args.resume)
        config = load_config(base=folder.read_config_dict(), overrides=args.overrides)
        result = train(config, folder.path, resume=True)
    else:
        if not args.configs:
            raise UserError("give a CONFIG.yaml to train, or --resume RUN_DIR")
        default_name = {"run": {"name": "-".join(Path(path).stem for path in args.configs)}}
        config = load_config(args.configs, args.overrides, base=default_name)
        result = train(config, RunFolder.for_config(config).path)
    return _report(result)


def _report(result) -> int:
    where = result.checkpoint or result.run_dir
    loss = "n/a" if result.loss is None else f"{result.loss:.5g}"
    if result.status == "nonfinite":
        print(
            f"prodvae train: stopped at step {result.step} after {result.num_nonfinite} "
            f"non-finite losses (train.max_nonfinite); last good state saved in {where}. "
            "Lower train.lr or raise train.grad_clip, then resume with "
            f"'prodvae train --resume {result.run_dir}'.",
            file=sys.stderr,
        )
        return EXIT_NONFINITE
    if result.status == "interrupted":
        print(
            f"interrupted at step {result.step}; checkpoint {where}; "
            f"continue with: prodvae train --resume {result.run_dir}"
        )
        return EXIT_INTERRUPTED
    print(f"trained to step {result.step} (loss {loss}); run folder: {result.run_dir}")
    return 0


def _configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
