"""3dshapes (Burgess and Kim 2018): ``3dshapes.h5`` with ``images`` (480000, 64, 64, 3)
uint8 and ``labels`` (480000, 6) float64 in the order floor_hue, wall_hue, object_hue,
scale, shape, orientation. The hues are 10-point loops of period 1; orientation is a
segment (-30 to 30 degrees).

Grid sizes are inferred from the distinct label values (matched by rounding), so a reduced
file works as long as it holds every combination of its values exactly once.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from prodvae.data.array_dataset import ArrayDataset, LazyH5Images
from prodvae.data.download import locate
from prodvae.data.grid import column_levels
from prodvae.data.registry import register_dataset
from prodvae.data.spec import FactorSpec
from prodvae.data.standard import check_images, check_labels, require_grid

FACTORS = (
    ("floor_hue", "loop"),
    ("wall_hue", "loop"),
    ("object_hue", "loop"),
    ("scale", "segment"),
    ("shape", "points"),
    ("orientation", "segment"),
)
FULL_SIZES = (10, 10, 10, 8, 4, 15)


@register_dataset("shapes3d")
def load_shapes3d(data_dir: str | os.PathLike | None = None, lazy: bool = False) -> ArrayDataset:
    """Shapes3D from ``data_dir/3dshapes.h5``; ``lazy`` reads images from disk on access."""
    path = locate("shapes3d", data_dir)
    where = str(path)
    try:
        with h5py.File(path, "r") as handle:
            missing = [key for key in ("images", "labels") if key not in handle]
            if missing:
                raise ValueError(f"{where}: missing dataset(s) {', '.join(map(repr, missing))}")
            node = handle["images"]
            check_images(tuple(node.shape), node.dtype, where)
            labels = check_labels(np.asarray(handle["labels"][()]), node.shape[0], 6, where)
            images = None if lazy else node[()]
    except OSError as error:
        raise ValueError(f"{where}: not a readable HDF5 file (truncated?): {error}") from None
    grid = require_grid(labels, FULL_SIZES, where)
    spec = tuple(
        FactorSpec(
            name,
            kind,
            tuple(column_levels(labels[:, k]).values),
            period=1.0 if kind == "loop" else None,
        )
        for k, (name, kind) in enumerate(FACTORS)
    )
    store = LazyH5Images(path, "images") if images is None else images
    return ArrayDataset(store, labels, spec, grid=grid)
