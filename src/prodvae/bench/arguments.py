"""Command-line arguments shared by ``prodvae bench`` and ``python -m benchmarks.disentangle``."""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
from pathlib import Path

import prodvae
from prodvae.bench.executors import EXECUTORS, ExecutorOptions
from prodvae.bench.preset import Preset, load_preset
from prodvae.bench.sweep import RESULTS_MD, SweepResult, run_sweep

#: Where the named presets live in a source checkout.
PRESETS_SUBDIR = Path("benchmarks") / "disentangle" / "presets"


def presets_dirs() -> list[Path]:
    """Preset folders: under the working directory, then beside the package's source tree."""
    source_root = Path(prodvae.__file__).resolve().parents[2]
    return list(dict.fromkeys([Path.cwd() / PRESETS_SUBDIR, source_root / PRESETS_SUBDIR]))


def resolve_preset(name_or_path: str) -> Path:
    """A YAML path as given, or a preset name (``cpu``, ``gpu``, ``smoke``) from the folders."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise ValueError(f"preset file {name_or_path!r} does not exist")
        return path
    for folder in presets_dirs():
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    known = sorted(
        {p.stem for folder in presets_dirs() if folder.is_dir() for p in folder.glob("*.yaml")}
    )
    raise ValueError(
        f"unknown preset {name_or_path!r}; known presets: {', '.join(known) or 'none'}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("preset", help="preset name (cpu, gpu, smoke) or a YAML file")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: runs/bench/<preset>)")
    parser.add_argument(
        "--executor",
        choices=sorted(EXECUTORS),
        default=None,
        help="inline: this process; local: submitit subprocesses (the default when submitit "
        "is installed, else inline); slurm: submitit on SLURM",
    )
    parser.add_argument("--parallel", type=int, default=1, help="cells at once (default 1)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config field in every cell",
    )
    parser.add_argument("--list", action="store_true", help="list the cells and exit")
    slurm = parser.add_argument_group("SLURM (with --executor slurm)")
    slurm.add_argument("--partition")
    slurm.add_argument("--timeout-min", type=int, default=720)
    slurm.add_argument("--gpus-per-node", type=int, default=0)
    slurm.add_argument("--cpus-per-task", type=int, default=2)
    slurm.add_argument("--mem-gb", type=int)


def default_executor() -> str:
    return "local" if importlib.util.find_spec("submitit") is not None else "inline"


def read_preset(args: argparse.Namespace) -> Preset:
    return load_preset(resolve_preset(args.preset))


def out_dir_of(args: argparse.Namespace, preset: Preset) -> Path:
    return Path(args.out) if args.out else Path("runs") / "bench" / preset.name


def sweep_from_args(args: argparse.Namespace, preset: Preset) -> SweepResult:
    """Run the sweep the parsed ``args`` describe."""
    out_dir = out_dir_of(args, preset)
    options = ExecutorOptions(
        folder=out_dir / "submitit",
        parallel=args.parallel,
        partition=args.partition,
        timeout_min=args.timeout_min,
        gpus_per_node=args.gpus_per_node,
        cpus_per_task=args.cpus_per_task,
        mem_gb=args.mem_gb,
    )
    return run_sweep(
        preset,
        out_dir,
        executor=args.executor or default_executor(),
        options=options,
        overrides=tuple(args.overrides),
        command=shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    )


def describe_cells(preset: Preset) -> str:
    lines = [f"preset {preset.name}: {len(preset.cells)} cells"]
    lines += [f"  {cell.cell_id}" for cell in preset.cells]
    return "\n".join(lines)


def describe_result(result: SweepResult) -> str:
    """A few lines for the terminal: what ran, what failed, where the table is."""
    lines = [
        f"{len(result.ran)} cells run, {len(result.skipped)} skipped as done, "
        f"{len(result.failures)} failed",
        *(f"  FAILED {cell}: {error}" for cell, error in result.failures.items()),
        f"table: {result.out_dir / RESULTS_MD}",
    ]
    return "\n".join(lines)
