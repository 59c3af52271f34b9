"""Does model-free discovery find each factor's declared kind? Per factor, over seeds.

For every dataset and seed of base points this runs :func:`prodvae.discover.discover_dataset`
-- what ``prodvae discover DATA`` runs -- and records each factor's found kind, symmetry and
confidence, and the seconds the whole dataset took. Modes:

- ``between``: a renderer sampled between its grid values too (the command's default);
- ``grid``: a renderer read on its grid values only (``--grid-only``), as a file of its
  images would be read.

A dataset file in ``--datasets`` (``.npz``, ``.h5``: e.g. those of ``python -m
benchmarks.unseen``) is read as ``prodvae discover FILE`` reads it: on its grid, or on its rows
(mode ``file, no grid``).

``--fixtures`` also reads the standard datasets' test fixtures (tests/discover/
standard_fixtures.py: synthetic images in the real file schemas), through their loaders.

``--runs DIR ...`` also reads trained run folders model-based
(:func:`prodvae.discover.model.discover_model`, what ``prodvae discover RUN_DIR`` runs): which
factor each latent group follows and the kind it traces it as -- e.g. the runs that
``python -m benchmarks.recovery`` trained through ``prodvae.train`` (folders named
``<dataset>-<method>-s<seed>``) -- and without labels
(:func:`prodvae.discover.model.discover_codes`, ``prodvae discover RUN_DIR --no-labels``): each
latent group's codes read as a cloud, scored against the same group's labelled reading and the
kind of the factor it follows (the labels are used to score only).

    python -m benchmarks.discover --datasets torus sprites orbit --seeds 0 1 2 3 4 \\
        --fixtures --runs runs/recovery/* --record discover_cpu
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from prodvae.data import GroundTruthDataset, from_file, get_dataset
from prodvae.discover.report import BASES, discover_dataset

ROOT = Path(__file__).resolve().parents[1]


def fixtures(folder: Path) -> list[tuple[str, GroundTruthDataset]]:
    """The standard datasets' test fixtures (``tests/discover/standard_fixtures.py``), each
    written into its own folder under ``folder`` and opened with its loader."""
    sys.path.insert(0, str(ROOT))
    from tests.discover.standard_fixtures import CASES, load

    loaded = []
    for case in CASES:
        (folder / case.id).mkdir()
        loaded.append((case.id, load(case, folder / case.id)))
    return loaded


def run_one(dataset: GroundTruthDataset, seed: int, bases: int, between: bool) -> dict[str, Any]:
    start = time.perf_counter()
    discovery = discover_dataset(dataset, num_bases=bases, seed=seed, between=between)
    seconds = time.perf_counter() - start
    given = {s.name: list(s.symmetry_given[1]) for s in dataset.spec if s.symmetry_given}
    return {
        "seed": seed,
        "seconds": seconds,
        "factors": [
            {
                **f.as_json(),
                "declared_symmetry": f.declared_symmetry,
                "declared_symmetry_given": given.get(f.name),
                "symmetry_given": list(f.symmetry_given[1]) if f.symmetry_given else None,
            }
            for f in discovery.findings
        ],
    }


def run_model(folder: Path, bases: int) -> dict[str, Any]:
    """Model-based discovery of one run folder named ``<dataset>-<method>-s<seed>``."""
    from prodvae.discover.model import discover_codes, discover_model
    from prodvae.train import load_run

    dataset, method, seed = folder.name.rsplit("-", 2)
    loaded = load_run(folder)
    start = time.perf_counter()
    discovery = discover_model(loaded.model, loaded.dataset, num_bases=bases, seed=0)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    unlabelled = discover_codes(loaded.model, loaded.dataset, num_readings=bases, seed=0)
    seconds_codes = time.perf_counter() - start
    labelled = {g.name: g for g in discovery.findings}
    codes = []
    for group in unlabelled.findings:
        entry = group.as_json()
        if group.name in labelled:  # scored against what the labels say of the same group
            entry["labelled"] = labelled[group.name].found
            entry["follows"] = labelled[group.name].follows
            entry["follows_kind"] = labelled[group.name].follows_kind
        codes.append(entry)
    factors = [{"name": s.name, "kind": s.kind} for s in loaded.dataset.spec if s.size > 1]
    return {
        "dataset": dataset,
        "mode": "model",
        "method": method,
        "seed": int(seed.lstrip("s")),
        "step": loaded.step,
        "seconds": seconds,
        "factors": factors,
        "groups": discovery.as_json(),
        "by_factor": [f.as_json() for f in discovery.by_factor],
        "codes": codes,
        "seconds_codes": seconds_codes,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["torus", "sprites", "orbit"],
        help="registered datasets (read in --modes), or dataset files (.npz, .h5), read as "
        "prodvae discover FILE reads them",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--modes", nargs="+", choices=("between", "grid"), default=["between", "grid"]
    )
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--bases", type=int, default=BASES)
    parser.add_argument("--fixtures", action="store_true", help="also the standard fixtures")
    parser.add_argument("--runs", nargs="+", type=Path, default=[], help="also these run folders")
    parser.add_argument("--record", metavar="NAME", help="write benchmarks/results/NAME.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    from benchmarks.recovery_data import dataset_name, is_file

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        sources: list[tuple[str, str, GroundTruthDataset]] = []
        for name in args.datasets:
            if is_file(name):  # a file is read on its grid, or on its rows
                dataset = from_file(name)
                mode = "file" if dataset.is_grid else "file, no grid"
                sources.append((dataset_name(name), mode, dataset))
                continue
            dataset = get_dataset(name, image_size=args.image_size)
            sources += [(name, mode, dataset) for mode in args.modes]
        if args.fixtures:
            sources += [(name, "file", ds) for name, ds in fixtures(Path(folder))]
        for name, mode, dataset in sources:
            for seed in args.seeds:
                row = {
                    "dataset": name,
                    "mode": mode,
                    **run_one(dataset, seed, args.bases, mode != "grid"),
                }
                rows.append(row)
                found = " ".join(
                    f"{f['name']}:{f['found']}"
                    + (f"x{f['symmetry']}" if f["symmetry"] > 1 else "")
                    + ("" if f["found"] == f["declared"] else "(!)")
                    for f in row["factors"]
                )
                print(
                    f"{name:<12} {mode:<8} seed {seed}  {row['seconds']:5.1f}s  {found}", flush=True
                )
    for folder in sorted(args.runs):
        row = run_model(folder, args.bases)
        rows.append(row)
        traced = " ".join(
            f"{g['name']}->{g['follows']}:{g['found']}"
            + ("" if g["found"] == g["follows_kind"] else "(!)")
            for g in row["groups"]
        )
        print(f"{folder.name:<28} model  {row['seconds']:5.1f}s  {traced}", flush=True)
        unlabelled = " ".join(
            f"{g['name']}:{g['found']}" + ("" if g["found"] == g.get("labelled") else "(!)")
            for g in row["codes"]
        )
        print(f"{'':<28} codes  {row['seconds_codes']:5.1f}s  {unlabelled}", flush=True)
    settings = {
        "datasets": args.datasets,
        "seeds": args.seeds,
        "modes": args.modes,
        "image_size": args.image_size,
        "bases": args.bases,
        "fixtures": args.fixtures,
        "runs": [str(folder) for folder in sorted(args.runs)],
        "threads": torch.get_num_threads(),
    }
    if args.record:
        from benchmarks.results import record

        path = record(args.record, {"settings": settings, "rows": rows}, table="discover")
        print(f"wrote {path}")


if __name__ == "__main__":
    if not __package__:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
