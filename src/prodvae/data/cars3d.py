"""Cars3D (Reed et al., NeurIPS 2015): 183 car models x 4 elevations x 24 azimuths.

The original is one archive, ``nips2015-analogy-data.tar.gz``, holding one ``.mat`` file per
car (format in :mod:`prodvae.data.cars3d_format`); prodvae reads a prepared npz instead,
``cars3d.npz``. ``prodvae data download cars3d`` fetches the archive (or takes a copy already in
the data directory; no SHA-256 is published for it, so the hash computed is reported) and writes
the npz with :func:`prodvae.data.cars3d_format.convert_cars3d` (64x64, uncompressed, so ``lazy``
works):

- ``images``: (N, H, W, 3) uint8 (64x64 in the usual protocol: the 128x128 originals resized
  with PIL's antialiasing Lanczos filter; ``convert_cars3d(..., image_size=...)`` picks another);
- ``labels``: (N, 3) integers: elevation index (0-3), azimuth index (0-23, 15 degree
  steps), car index (0-182, the cars in the order of their file names). Rows in any order
  (the conversion writes them in the C order of elevation, azimuth, car).

Factors: elevation (segment, index), azimuth (a loop of period ``2*pi``, value
``index * 15 degrees``), car (points). Sizes come from the distinct labels, so a subset of
cars or views works as long as it is a full product.
"""

from __future__ import annotations

import math
import os

import numpy as np

from prodvae.data.array_dataset import ArrayDataset
from prodvae.data.download import locate
from prodvae.data.registry import register_dataset
from prodvae.data.spec import FactorSpec
from prodvae.data.standard import read_labelled_npz, require_grid

FULL_SIZES = (4, 24, 183)
AZIMUTH_STEP = math.radians(15.0)


@register_dataset("cars3d")
def load_cars3d(data_dir: str | os.PathLike | None = None, lazy: bool = False) -> ArrayDataset:
    """Cars3D from ``data_dir/cars3d.npz`` (layout in the module docstring); ``lazy``
    memory-maps the images (the npz must be saved uncompressed, with ``np.savez``)."""
    path = locate("cars3d", data_dir)
    images, labels = read_labelled_npz(path, 3, image_ndim=4, lazy=lazy)
    if labels[:, 1].max() >= 24:
        raise ValueError(f"{path}: azimuth index must be < 24, got {int(labels[:, 1].max())}")
    factors = labels * np.array([1.0, AZIMUTH_STEP, 1.0])
    grid = require_grid(factors, FULL_SIZES, str(path))
    levels = [tuple(np.unique(factors[:, k])) for k in range(3)]
    spec = (
        FactorSpec("elevation", "segment", levels[0]),
        FactorSpec("azimuth", "loop", levels[1], period=2 * math.pi),
        FactorSpec("car", "points", levels[2]),
    )
    return ArrayDataset(images, factors, spec, grid=grid)
