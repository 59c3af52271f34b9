"""Bring-your-own dataset files: HDF5 or npz with ``images``, ``factors`` and ``factor_spec``.

Schema (both containers):

- ``images``: ``(N, H, W, C)`` uint8, or ``(N, H, W)`` for grey images.
- ``factors``: ``(N, K)`` float64 factor values, finite (integer labels are read as float64).
- ``factor_spec``: a JSON list of ``K`` objects ``{"name", "kind", "period"?, "symmetry"?,
  "symmetry_given"?}`` (an HDF5 root attribute; in an npz a 0-d string array).
  ``symmetry_given``, ``[name, [folds...]]``, records a loop whose images repeat a number of
  times per period that depends on the factor ``name``: ``folds[i]`` times at its ``i``-th
  value in increasing order (dSprites' orientation: ``["shape", [4, 2, 1]]``).

Grid values of each factor are its distinct values (matched by rounding); the file is a grid
dataset when the rows hold every combination exactly once, in any order.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from prodvae.atomic import atomic_write
from prodvae.data.array_dataset import ArrayDataset, LazyH5Images
from prodvae.data.base import GroundTruthDataset
from prodvae.data.grid import column_levels, detect_grid
from prodvae.data.npz_memmap import npz_memmap
from prodvae.data.spec import FactorSpec, check_distinct_names

HDF5_SUFFIXES = (".h5", ".hdf5")
SPEC_KEYS = {"name", "kind", "period", "symmetry", "symmetry_given"}


def spec_to_json(spec: tuple[FactorSpec, ...]) -> str:
    """The ``factor_spec`` JSON of a spec (values are not stored: they are in ``factors``)."""
    entries = []
    for factor in spec:
        entry: dict = {"name": factor.name, "kind": factor.kind}
        if factor.period is not None:
            entry["period"] = factor.period
        if factor.symmetry != 1:
            entry["symmetry"] = factor.symmetry
        if factor.symmetry_given is not None:
            entry["symmetry_given"] = [factor.symmetry_given[0], list(factor.symmetry_given[1])]
        entries.append(entry)
    return json.dumps(entries)


def parse_spec(text: str, num_factors: int, where: str) -> list[dict]:
    """Validated ``factor_spec`` entries; one clear ``ValueError`` for each defect."""
    try:
        entries = json.loads(text)
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"{where}: factor_spec is not valid JSON ({error})") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{where}: factor_spec must be a JSON list of objects")
    if len(entries) != num_factors:
        raise ValueError(
            f"{where}: factor_spec names {len(entries)} factors but factors has {num_factors} "
            "columns"
        )
    for position, entry in enumerate(entries):
        extra = set(entry) - SPEC_KEYS
        if extra or not isinstance(entry.get("name"), str) or "kind" not in entry:
            raise ValueError(
                f"{where}: factor_spec[{position}] needs a string 'name' and a 'kind' and "
                f"takes only {sorted(SPEC_KEYS)}; got {entry}"
            )
    check_distinct_names([entry["name"] for entry in entries], f"{where}: factor_spec")
    return entries


def _check_arrays(images_shape, images_dtype, factors: np.ndarray, where: str) -> None:
    if images_dtype != np.uint8:
        raise ValueError(f"{where}: images must be uint8, got {images_dtype}")
    if len(images_shape) not in (3, 4) or images_shape[0] == 0:
        raise ValueError(
            f"{where}: images must have shape (N, H, W, C), or (N, H, W) for grey images, "
            f"got {images_shape}"
        )
    numeric = np.issubdtype(factors.dtype, np.floating) or np.issubdtype(factors.dtype, np.integer)
    if not numeric or factors.dtype == np.bool_:
        raise ValueError(
            f"{where}: factors must be float64 (or integers, read as float64), got {factors.dtype}"
        )
    # float64 holds every integer up to 2^53 exactly
    if (
        np.issubdtype(factors.dtype, np.integer)
        and (np.abs(factors.astype(np.float64)) > 2**53).any()
    ):
        raise ValueError(f"{where}: integer factors beyond 2^53 do not fit float64 exactly")
    if factors.ndim != 2 or factors.shape[0] != images_shape[0]:
        raise ValueError(
            f"{where}: factors must have shape ({images_shape[0]}, K), got {factors.shape}"
        )
    bad = ~np.isfinite(factors)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{where}: factors contain NaN or inf ({int(bad.sum())} entries, first at row "
            f"{row}, column {column})"
        )


def _build(images, factors: np.ndarray, text: str, where: str) -> ArrayDataset:
    factors = factors.astype(np.float64)
    entries = parse_spec(text, factors.shape[1], where)
    levels = [column_levels(factors[:, k]).values for k in range(factors.shape[1])]
    check_symmetry_given(entries, [len(values) for values in levels], where)
    spec = []
    for k, entry in enumerate(entries):
        try:
            spec.append(FactorSpec(values=tuple(levels[k]), **entry))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: factor_spec[{k}]: {error}") from None
    return ArrayDataset(images, factors, tuple(spec), grid=detect_grid(factors))


def check_symmetry_given(entries: list[dict], sizes: list[int], where: str) -> None:
    """One ``ValueError`` for a ``symmetry_given`` that is not ``[name, [folds...]]`` of
    integers >= 1, one per value of another factor of the file (``sizes``: how many values
    each factor takes)."""
    names = [entry["name"] for entry in entries]
    for k, entry in enumerate(entries):
        given = entry.get("symmetry_given")
        if given is None:
            continue
        name, folds = given if isinstance(given, list) and len(given) == 2 else (None, None)
        whole = isinstance(folds, list) and all(
            isinstance(f, int) and not isinstance(f, bool) and f >= 1 for f in folds
        )
        if name not in names or name == names[k] or not whole:
            raise ValueError(
                f"{where}: factor_spec[{k}] ({names[k]}): symmetry_given must be [name of "
                f"another factor, [integer folds >= 1, one per value of it]], got {given!r}"
            )
        assert isinstance(folds, list)
        size = sizes[names.index(name)]
        if len(folds) != size:
            raise ValueError(
                f"{where}: factor_spec[{k}] ({names[k]}): symmetry_given lists {len(folds)} "
                f"folds, but {name!r} takes {size} values in the file"
            )


def _read_h5(path: Path, lazy: bool) -> ArrayDataset:
    where = str(path)
    try:
        with h5py.File(path, "r") as handle:
            for key in ("images", "factors"):
                if not isinstance(handle.get(key), h5py.Dataset):
                    raise ValueError(f"{where}: missing dataset {key!r}")
            if "factor_spec" not in handle.attrs:
                raise ValueError(f"{where}: missing root attribute 'factor_spec'")
            node = handle["images"]
            shape, dtype = tuple(node.shape), node.dtype
            factors = np.asarray(handle["factors"][()])
            text = handle.attrs["factor_spec"]
            _check_arrays(shape, dtype, factors, where)
            images = None if lazy else node[()]
            if lazy:  # read both ends so that a truncated file fails now, not mid-training
                _ = (node[0], node[shape[0] - 1])
    except OSError as error:
        raise ValueError(
            f"{where}: not a readable HDF5 file (truncated or corrupt?): {error}"
        ) from None
    text = text.decode() if isinstance(text, bytes) else str(text)
    store = LazyH5Images(path, "images") if lazy else images
    return _build(store, factors, text, where)


def _read_npz(path: Path, lazy: bool) -> ArrayDataset:
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            for key in ("images", "factors", "factor_spec"):
                if key not in archive.files:
                    raise ValueError(f"{where}: missing array {key!r}")
            images = npz_memmap(path, "images") if lazy else archive["images"]
            factors, spec_array = archive["factors"], archive["factor_spec"]
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValueError(
            f"{where}: not a readable npz file (truncated or corrupt?): {error}"
        ) from None
    except ValueError as error:  # object arrays need pickle: refused
        if "pickle" in str(error):
            raise ValueError(f"{where}: holds pickled objects, which are not read") from None
        raise
    _check_arrays(images.shape, images.dtype, factors, where)
    if spec_array.dtype.kind not in "US" or spec_array.size != 1:
        raise ValueError(f"{where}: factor_spec must be a single string, got {spec_array.dtype}")
    return _build(images, factors, str(spec_array.reshape(()).item()), where)


def from_file(path: str | os.PathLike, lazy: bool = False) -> ArrayDataset:
    """Open a bring-your-own dataset file (``.h5``/``.hdf5`` or ``.npz``).

    Args:
        path: the file.
        lazy: read images from disk on access instead of loading them (an npz must be
            uncompressed, as :func:`save_dataset` writes it).

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown suffix or any defect of the schema, naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no dataset file at {path}")
    suffix = path.suffix.lower()
    if suffix in HDF5_SUFFIXES:
        return _read_h5(path, lazy)
    if suffix == ".npz":
        return _read_npz(path, lazy)
    raise ValueError(f"{path}: unknown dataset file suffix {suffix!r}; use .h5, .hdf5 or .npz")


def write_dataset(
    path: str | os.PathLike,
    spec: tuple[FactorSpec, ...],
    num_images: int,
    image_shape: tuple[int, int, int],
    batches: Iterator[tuple[np.ndarray, np.ndarray]],
) -> Path:
    """Write a dataset file from batches of ``(images [b, H, W, C] uint8, factors [b, K])``.

    The file is written beside ``path`` under a temporary name and renamed over ``path``
    only once complete, so a failure never destroys an existing file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (*HDF5_SUFFIXES, ".npz"):
        raise ValueError(f"{path}: unknown dataset file suffix {suffix!r}; use .h5 or .npz")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"no directory {path.parent} to write {path.name} into")
    write = _write_npz if suffix == ".npz" else _write_h5
    return atomic_write(
        path, lambda temporary: write(temporary, spec, num_images, image_shape, batches)
    )


def _fill(images, factors, batches: Iterator[tuple[np.ndarray, np.ndarray]]) -> None:
    """Copy batches into ``images [N, H, W, C]`` and ``factors [N, K]`` (arrays or h5py)."""
    start = 0
    for image_batch, factor_batch in batches:
        stop = start + len(image_batch)
        if stop > len(images):
            raise ValueError(f"the batches give more than the {len(images)} images announced")
        images[start:stop], factors[start:stop] = image_batch, factor_batch
        start = stop
    if start != len(images):
        raise ValueError(f"expected {len(images)} images, the batches gave {start}")


def _write_h5(target: Path, spec, num_images: int, image_shape, batches) -> None:
    channels, height, width = image_shape
    with h5py.File(target, "w") as handle:
        images = handle.create_dataset(
            "images",
            (num_images, height, width, channels),
            np.uint8,
            chunks=(1, height, width, channels),
        )
        factors = handle.create_dataset("factors", (num_images, len(spec)), np.float64)
        _fill(images, factors, batches)
        handle.attrs["factor_spec"] = spec_to_json(spec)


def _write_npz(target: Path, spec, num_images: int, image_shape, batches) -> None:
    channels, height, width = image_shape
    images = np.empty((num_images, height, width, channels), dtype=np.uint8)
    factors = np.empty((num_images, len(spec)), dtype=np.float64)
    _fill(images, factors, batches)
    with open(target, "wb") as stream:
        np.savez(stream, images=images, factors=factors, factor_spec=np.array(spec_to_json(spec)))


def dataset_batches(
    dataset: GroundTruthDataset, batch_size: int = 512
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches ``(images [b, H, W, C] uint8, factors [b, K] float64)`` of all rows in order."""
    for start in range(0, len(dataset), batch_size):
        rows = np.arange(start, min(start + batch_size, len(dataset)))
        images = dataset.images_at(rows).permute(0, 2, 3, 1).cpu().numpy()
        yield images, dataset.factors_at(rows).numpy()


def save_dataset(
    dataset: GroundTruthDataset, path: str | os.PathLike, batch_size: int = 512
) -> Path:
    """Write any dataset (procedural ones are rendered) in the bring-your-own format."""
    batches = dataset_batches(dataset, batch_size)
    return write_dataset(path, dataset.spec, len(dataset), dataset.image_shape, batches)
