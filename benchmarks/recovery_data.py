"""What a recovery sweep trains on (:mod:`benchmarks.recovery`): its shared settings
(:class:`Sweep`), the datasets it names -- registered ones, or dataset files named by their
stem -- and the copies of a grid with a share of its rows left out (``--missing``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prodvae.data import GroundTruthDataset, from_file, get_dataset
from prodvae.data.files import HDF5_SUFFIXES, write_dataset


@dataclass(frozen=True)
class Sweep:
    """What every run of a sweep shares: its budget, image size, folder and recipe changes
    (``--set`` strings, applied last)."""

    steps: int
    image_size: int
    out: Path
    extra: tuple[str, ...] = ()
    missing: float = 0.0  # the share of a dataset's rows left out of its file (0: no file)


def source(dataset: str, sweep: Sweep) -> GroundTruthDataset:
    """The dataset ``dataset`` names: a registered one at ``sweep.image_size``, or a file."""
    if is_file(dataset):
        if not Path(dataset).is_file():
            raise FileNotFoundError(f"no dataset file {dataset}")
        return from_file(Path(dataset).resolve())
    return get_dataset(dataset, image_size=sweep.image_size)


def gappy_file(dataset: str, sweep: Sweep) -> Path:
    """A file of ``dataset``'s grid (a registered dataset's, or a dataset file's) with a share
    ``sweep.missing`` of its rows left out (drawn with seed 0), written once into
    ``sweep.out``: the same images, but no grid."""
    if is_file(dataset):
        path = sweep.out / f"{dataset_name(dataset)}-missing{sweep.missing:g}.npz"
    else:
        path = sweep.out / f"{dataset}-{sweep.image_size}px-missing{sweep.missing:g}.npz"
    data = source(dataset, sweep)
    if not data.is_grid:
        raise ValueError(f"{dataset}: --missing leaves rows out of a grid, and this file is none")
    keep = np.random.default_rng(0).random(len(data)) >= sweep.missing
    if path.is_file():  # written before: from this grid? (a file is named by its stem only)
        written = from_file(path, lazy=True)
        if (len(written), written.image_shape, written.spec) != (
            int(keep.sum()),
            data.image_shape,
            data.spec,
        ):
            raise ValueError(
                f"{path} was written from another dataset than {dataset} (another file of "
                "that stem, or another image size): sweep into another --out"
            )
        return path
    rows = np.flatnonzero(keep)
    batches = (
        (data.images_at(part).permute(0, 2, 3, 1).numpy(), data.factors_at(part).numpy())
        for part in np.array_split(rows, max(1, len(rows) // 4096))
    )
    sweep.out.mkdir(parents=True, exist_ok=True)
    return write_dataset(path, data.spec, len(rows), data.image_shape, batches)


def is_file(dataset: str) -> bool:
    """Whether ``dataset`` names a dataset file (``.npz``, ``.h5``) rather than a registered
    dataset: a user's own data, read with ``data.name=file``."""
    return Path(dataset).suffix.lower() in (".npz", *HDF5_SUFFIXES)


def dataset_name(dataset: str) -> str:
    """How the rows and run folders name ``dataset``: a file by its stem."""
    return Path(dataset).stem if is_file(dataset) else dataset
