"""``prodvae data``: render procedural datasets to files, check files, download benchmarks."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from prodvae.data import DATASETS, GroundTruthDataset, ProceduralDataset, from_file, get_dataset
from prodvae.data.download import SOURCES, download, resolve_data_dir
from prodvae.data.files import save_dataset


def _procedural_names() -> list[str]:
    return sorted(
        name
        for name, factory in DATASETS.items()
        if isinstance(factory, type) and issubclass(factory, ProceduralDataset)
    )


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        message = f"expected integers separated by commas, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def describe(dataset: GroundTruthDataset) -> list[str]:
    """Lines summarising a dataset: size, image shape, factors and whether it is a grid."""
    channels, height, width = dataset.image_shape
    lines = [f"images: {len(dataset)} x {height}x{width}x{channels} uint8"]
    for factor in dataset.spec:
        kind = factor.kind if factor.period is None else f"loop (period {factor.period:g})"
        repeats = ""
        if factor.symmetry_given is not None:
            other, folds = factor.symmetry_given
            repeats = f", repeating {'/'.join(map(str, folds))} times a period by {other}"
        elif factor.symmetry != 1:
            repeats = f", repeating {factor.symmetry} times a period"
        lines.append(f"  {factor.name:<16} {kind:<22} {factor.size} values{repeats}")
    if dataset.is_grid:
        sizes = " x ".join(map(str, dataset.factor_sizes))
        lines.append(f"grid: yes ({sizes} = {math.prod(dataset.factor_sizes)})")
    else:
        lines.append("grid: no (the factor values do not form a full product)")
    return lines


def run_render(args: argparse.Namespace) -> int:
    options = {"image_size": args.size}
    if args.factor_sizes is not None:
        options["factor_sizes"] = args.factor_sizes
    dataset = get_dataset(args.name, **options)
    path = save_dataset(dataset, args.out)
    print(f"wrote {path}")
    print("\n".join(describe(dataset)))
    return 0


def run_check(args: argparse.Namespace) -> int:
    # HDF5 images stay on disk while checking (Shapes3D-sized files are gigabytes)
    dataset = from_file(args.file, lazy=args.file.suffix.lower() in (".h5", ".hdf5"))
    print(f"{args.file}: valid")
    print("\n".join(describe(dataset)))
    return 0


def run_download(args: argparse.Namespace) -> int:
    def progress(line: str) -> None:  # before each fetch and conversion, which take minutes
        print(line, flush=True)

    result = download(args.name, resolve_data_dir(args.data_dir), progress=progress)
    print(result.message)
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="render, check and download datasets")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    render = actions.add_parser("render", help="write a procedural dataset to an .h5/.npz file")
    render.add_argument("name", choices=_procedural_names())
    render.add_argument(
        "--out",
        required=True,
        type=Path,
        help="output .h5 (written batch by batch) or .npz (built in memory) file",
    )
    render.add_argument("--size", type=int, default=64, help="image height and width (pixels)")
    render.add_argument(
        "--factor-sizes", type=_int_list, default=None, help="grid sizes, e.g. 4,6,36,8,12,12"
    )
    render.set_defaults(func=run_render)

    check = actions.add_parser("check", help="validate a dataset file and summarise it")
    check.add_argument("file", type=Path)
    check.set_defaults(func=run_check)

    fetch = actions.add_parser(
        "download",
        help="download a standard dataset (checks SHA-256; cars3d, smallnorb: converts originals)",
    )
    fetch.add_argument("name", choices=sorted(SOURCES))
    fetch.add_argument("--data-dir", type=Path, default=None, help="default: $PRODVAE_DATA")
    fetch.set_defaults(func=run_download)
