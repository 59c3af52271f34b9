"""``prodvae discover DATA``: which factors are points, segments and loops, read from the data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prodvae.data import DATASETS, GroundTruthDataset, ProceduralDataset, from_file, get_dataset
from prodvae.discover.paths import SAMPLES
from prodvae.discover.report import BASES


def load_data(data: str, image_size: int, data_dir: Path | None) -> GroundTruthDataset:
    """A registered dataset by name (a renderer at ``image_size``), or a dataset file."""
    if data in DATASETS:
        factory = DATASETS[data]
        if isinstance(factory, type) and issubclass(factory, ProceduralDataset):
            return get_dataset(data, image_size=image_size)
        return get_dataset(data, **({"data_dir": data_dir} if data_dir else {}))
    path = Path(data)
    if path.is_dir():
        raise ValueError(f"{data!r} is a folder but not a run folder (it has no config.yaml)")
    if not path.exists():
        raise ValueError(
            f"{data!r} is neither a dataset name ({', '.join(sorted(DATASETS))}) nor a file"
        )
    try:
        return from_file(path, lazy=path.suffix.lower() in (".h5", ".hdf5"))
    except ValueError as error:
        if "'factors'" not in str(error):
            raise
        raise ValueError(
            f"model-free discovery reads each image's factor values: {error}"
        ) from None


def is_run(data: str) -> bool:
    """Whether ``data`` names a run folder (it holds the resolved ``config.yaml``)."""
    return (Path(data) / "config.yaml").is_file()


def discover_run(args: argparse.Namespace):
    """Model-based: what each latent group of the run's latest checkpoint traces."""
    from prodvae.discover.model import discover_codes, discover_model
    from prodvae.train import load_run

    if args.factors or args.grid_only:
        raise ValueError("--factors and --grid-only read a dataset, not a run folder")
    loaded = load_run(args.data, device=args.device)
    if args.no_labels:
        return discover_codes(loaded.model, loaded.dataset, num_readings=args.bases, seed=args.seed)
    return discover_model(
        loaded.model, loaded.dataset, num_bases=args.bases, samples=args.samples, seed=args.seed
    )


def run(args: argparse.Namespace) -> int:
    from prodvae.discover.plot import plot_discovery
    from prodvae.discover.report import discover_dataset

    if args.bases < 1:
        raise ValueError(f"--bases must be >= 1, got {args.bases}")
    if args.samples < 2:
        raise ValueError(f"--samples must be >= 2, got {args.samples}")
    if is_run(args.data):
        discovery = discover_run(args)
    elif args.no_labels:
        raise ValueError(
            "--no-labels reads a trained run's codes; give a run folder (reading a dataset "
            "itself needs its factor values)"
        )
    else:
        dataset = load_data(args.data, args.image_size, args.data_dir)
        discovery = discover_dataset(
            dataset,
            factors=args.factors,
            num_bases=args.bases,
            samples=args.samples,
            seed=args.seed,
            between=not args.grid_only,
        )
    for line in discovery.warnings():
        print(f"warning: {line}", file=sys.stderr)
    if args.json:
        print(discovery.to_json())
    else:
        print("\n".join(discovery.table()))
    if args.plot is not None:
        for figure in plot_discovery(discovery, args.plot):
            print(f"wrote {figure.path}", file=sys.stderr if args.json else sys.stdout)
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "discover",
        help="read each factor's topology (points, segment, loop) from a dataset or a run",
        description=(
            "Vary each factor alone from several base points and read the persistent "
            "homology of the path its images trace: points, segment or loop, and a loop's "
            "symmetry order. Prints a table (or --json) and a proposed model.space (the kind "
            "found where at least half the base points agree, else the declared one); warns "
            "where the data disagree with the declared kinds and names any factor it cannot "
            "read. Given a run folder, reads the "
            "same paths in each latent block's codes instead (a Euclidean model's dimensions "
            "grouped first by how they change together across weak pairs): which factor each "
            "block follows and the kind it traces it as. With --no-labels, each block's codes "
            "over the data are read as a cloud instead, without the factors' values."
        ),
    )
    parser.add_argument(
        "data", metavar="DATA", help="a registered dataset name, a dataset file or a run folder"
    )
    parser.add_argument("--factors", nargs="+", metavar="NAME", help="only these factors")
    parser.add_argument(
        "--bases", type=int, default=BASES, help=f"base points per factor (default {BASES})"
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=SAMPLES,
        help=f"values per path drawn from a renderer (default {SAMPLES})",
    )
    parser.add_argument(
        "--grid-only",
        action="store_true",
        help="read a renderer on its grid values only, as a file of its images would be",
    )
    parser.add_argument(
        "--no-labels",
        action="store_true",
        help="a run folder: read each latent block's codes over the data as a cloud, "
        "without the factors' values (--bases readings, each on a random half)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the base points")
    parser.add_argument(
        "--image-size", type=int, default=32, help="a renderer's image size (default 32)"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="default: $PRODVAE_DATA")
    parser.add_argument("--device", default="cpu", help="a run's model on this device")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument("--plot", type=Path, metavar="DIR", help="write one PNG per factor read")
    parser.set_defaults(func=run)
