"""Shared checks for the standard dataset loaders (Shapes3D, dSprites, MPI3D, ...)."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np

from prodvae.atomic import atomic_write
from prodvae.data.array_dataset import LazyH5Images
from prodvae.data.grid import FactorGrid, detect_grid
from prodvae.data.npz_memmap import npz_memmap

log = logging.getLogger(__name__)


def read_npz(path: Path, keys: tuple[str, ...]) -> dict:
    """The arrays ``keys`` of an npz file, or one ValueError naming what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in keys if key not in archive.files]
            if missing:
                raise ValueError(f"{path}: missing array(s) {', '.join(map(repr, missing))}")
            return {key: archive[key] for key in keys}
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValueError(
            f"{path}: not a readable npz file (truncated or corrupt?): {error}"
        ) from None


def check_images(shape: tuple, dtype, where: str, ndim: int = 4) -> None:
    if dtype != np.uint8:
        raise ValueError(f"{where}: images must be uint8, got {dtype}")
    if len(shape) != ndim or shape[0] == 0:
        layout = "(N, H, W, C)" if ndim == 4 else "(N, H, W)"
        raise ValueError(f"{where}: images must have shape {layout}, got {shape}")


def check_labels(labels: np.ndarray, rows: int, columns: int, where: str) -> np.ndarray:
    """Labels ``[rows, columns]`` as float64, finite."""
    if labels.ndim != 2 or labels.shape != (rows, columns):
        raise ValueError(f"{where}: labels must have shape ({rows}, {columns}), got {labels.shape}")
    if not (np.issubdtype(labels.dtype, np.number)):
        raise ValueError(f"{where}: labels must be numbers, got {labels.dtype}")
    labels = labels.astype(np.float64)
    if not np.isfinite(labels).all():
        raise ValueError(f"{where}: labels contain NaN or inf")
    return labels


def require_grid(factors: np.ndarray, full_sizes: tuple[int, ...], where: str) -> FactorGrid:
    """The grid the label rows form; sizes are inferred from the distinct label values, so a
    reduced file (fewer values per factor) works. Anything but a full product is an error."""
    grid = detect_grid(factors)
    if grid is None:
        raise ValueError(
            f"{where}: the labels do not form a full factor grid (every combination of the "
            "distinct label values exactly once)"
        )
    if grid.sizes != tuple(full_sizes):
        log.info("%s: reduced grid %s (the full dataset has %s)", where, grid.sizes, full_sizes)
    return grid


def read_images(path: Path, key: str, lazy: bool) -> np.ndarray:
    """Array ``key`` of an npz: memory-mapped when ``lazy`` (uncompressed members only)."""
    if not lazy:
        return read_npz(path, (key,))[key]
    try:
        return npz_memmap(path, key)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValueError(
            f"{path}: not a readable npz file (truncated or corrupt?): {error}"
        ) from None


def read_labelled_npz(
    path: Path, num_columns: int, image_ndim: int, lazy: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``images`` and float64 ``labels [N, num_columns]`` of a prepared npz (Cars3D, smallNORB)."""
    images = read_images(path, "images", lazy)
    check_images(images.shape, images.dtype, str(path), ndim=image_ndim)
    labels = read_npz(path, ("labels",))["labels"]
    labels = check_labels(labels, images.shape[0], num_columns, str(path))
    if (labels != np.round(labels)).any() or (labels < 0).any():
        raise ValueError(f"{path}: labels must be non-negative integer indices")
    return images, labels


class H5Arrays(NamedTuple):
    """What :func:`read_h5` read: images (in memory, or read on access) and other arrays."""

    images: np.ndarray | LazyH5Images
    arrays: dict[str, np.ndarray]


def read_h5(
    path: Path, image_key: str, keys: tuple[str, ...], image_ndim: int, lazy: bool = False
) -> H5Arrays:
    """Dataset ``image_key`` (uint8, ``image_ndim`` axes; a :class:`LazyH5Images` when
    ``lazy``) and the datasets ``keys`` (paths such as ``"latents/values"``) of an HDF5 file,
    or one ValueError naming what is wrong."""
    where = str(path)
    try:
        with h5py.File(path, "r") as handle:
            missing = [
                key for key in (image_key, *keys) if not isinstance(handle.get(key), h5py.Dataset)
            ]
            if missing:
                raise ValueError(f"{where}: missing dataset(s) {', '.join(map(repr, missing))}")
            node = handle[image_key]
            check_images(tuple(node.shape), node.dtype, where, ndim=image_ndim)
            arrays = {key: np.asarray(handle[key][()]) for key in keys}
            if lazy:  # read both ends so that a truncated file fails now, not mid-training
                _ = (node[0], node[node.shape[0] - 1])
            images = None if lazy else node[()]
    except OSError as error:
        raise ValueError(
            f"{where}: not a readable HDF5 file (truncated or corrupt?): {error}"
        ) from None
    return H5Arrays(LazyH5Images(path, image_key) if images is None else images, arrays)


def save_npz_atomically(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez`` (uncompressed, so it can be memory-mapped) into a temporary file beside
    ``path``, renamed over it only once complete: a failure never destroys an existing file."""

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as stream:
            np.savez(stream, **arrays)

    atomic_write(path, write)
