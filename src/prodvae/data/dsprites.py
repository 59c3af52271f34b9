"""dSprites (Matthey et al. 2017) in either of its two public containers:

- ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5`` (what ``prodvae data download`` fetches
  and checks): datasets ``imgs`` (737280, 64, 64) uint8 in {0, 1}, ``latents/values``
  (737280, 6) float64 and ``latents/classes`` (737280, 6) int64;
- ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``: the same arrays as ``imgs``,
  ``latents_values`` and ``latents_classes`` (read when there is no HDF5 copy).

The latent columns are color, shape, scale, orientation, posX, posY (posY fastest).

Two repairs make the factors honest:

- orientation is ``linspace(0, 2*pi, 40)``: the last value repeats the first, so its rows
  are dropped (by index, no copy) and orientation is a 39-point loop of period ``2*pi``.
  Its ``symmetry_given`` records that the square (shape 1) repeats every 90 degrees, the
  ellipse (shape 2) every 180 and the heart (shape 3) never.
- color takes a single value and is left out of the factors.

Pixels are served as 0/255 (the stored 0/1 times 255) and stay uint8.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from prodvae.data.array_dataset import ArrayDataset, LazyH5Images
from prodvae.data.download import locate
from prodvae.data.grid import column_levels
from prodvae.data.registry import register_dataset
from prodvae.data.spec import FactorSpec
from prodvae.data.standard import (
    check_images,
    check_labels,
    read_h5,
    read_images,
    read_npz,
    require_grid,
)

NAMES = ("color", "shape", "scale", "orientation", "posX", "posY")
KINDS = {
    "shape": "points",
    "scale": "segment",
    "orientation": "loop",
    "posX": "segment",
    "posY": "segment",
}
FULL_SIZES = (3, 6, 39, 32, 32)
#: rotational symmetry of each shape value: square, ellipse, heart
SHAPE_SYMMETRY = {1: 4, 2: 2, 3: 1}


def drop_repeated_orientation(orientation: np.ndarray) -> np.ndarray:
    """``bool [N]``: rows whose orientation is a full turn (the repeated end-point) and whose
    zero-angle twin exists."""
    at_full_turn = np.isclose(orientation, 2 * math.pi, atol=1e-6)
    has_zero = np.isclose(orientation, 0.0, atol=1e-6).any()
    return at_full_turn & has_zero


def _read_npz(path: Path, lazy: bool) -> tuple[np.ndarray, np.ndarray]:
    """``imgs`` and ``latents_values`` of the npz copy."""
    # The public file also stores `metadata` as a pickled dict. An npz is read key by key, so
    # reading only the plain arrays needs no unpickling: a file whose arrays hold objects fails.
    values = read_npz(path, ("latents_values",))["latents_values"]
    images = read_images(path, "imgs", lazy)
    check_images(images.shape, images.dtype, str(path), ndim=3)
    return images, values


def _read_h5(path: Path, lazy: bool) -> tuple[np.ndarray | LazyH5Images, np.ndarray]:
    """``imgs`` and ``latents/values`` of the HDF5 copy."""
    stored = read_h5(path, "imgs", ("latents/values",), image_ndim=3, lazy=lazy)
    return stored.images, stored.arrays["latents/values"]


def _factor_spec(name: str, factors: np.ndarray, k: int) -> FactorSpec:
    """Spec of column ``k`` of ``factors [N, 5]`` (shape first); orientation is a loop of
    period ``2*pi`` that records each shape's rotational symmetry."""
    levels = tuple(column_levels(factors[:, k]).values)
    if name != "orientation":
        return FactorSpec(name, KINDS[name], levels)
    shapes = column_levels(factors[:, 0]).values
    folds = tuple(SHAPE_SYMMETRY.get(int(round(s)), 1) for s in shapes)
    return FactorSpec(name, "loop", levels, 2 * math.pi, symmetry_given=("shape", folds))


@register_dataset("dsprites")
def load_dsprites(data_dir: str | os.PathLike | None = None, lazy: bool = False) -> ArrayDataset:
    """dSprites from ``data_dir``: the HDF5 copy, else the npz. ``lazy`` reads ``imgs`` on
    access: from the HDF5 copy always, from the npz only when it is uncompressed (the public
    npz is compressed: 3 GB in memory otherwise)."""
    path = locate("dsprites", data_dir)
    where = str(path)
    reader = _read_npz if path.suffix == ".npz" else _read_h5
    images, values = reader(path, lazy)
    values = check_labels(values, images.shape[0], 6, where)
    if isinstance(images, np.ndarray) and not lazy and images.max(initial=0) > 1:
        raise ValueError(f"{where}: imgs must hold 0/1 pixels, found {images.max()}")
    if np.unique(values[:, 0]).size > 1:
        raise ValueError(f"{where}: color takes several values; expected one")
    keep = ~drop_repeated_orientation(values[:, NAMES.index("orientation")])
    columns = [k for k, name in enumerate(NAMES) if name != "color"]
    rows = np.flatnonzero(keep)
    factors = values[rows][:, columns]
    grid = require_grid(factors, FULL_SIZES, where)
    spec = tuple(_factor_spec(NAMES[column], factors, k) for k, column in enumerate(columns))
    return ArrayDataset(images, factors, spec, grid=grid, rows=rows, intensity_scale=255)
