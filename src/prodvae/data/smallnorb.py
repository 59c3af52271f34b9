"""smallNORB (LeCun et al., CVPR 2004): 5 categories x 10 instances x 9 elevations x
18 azimuths x 6 lightings, 96x96 grey stereo pairs.

The originals are six gzipped NORB binary matrix files (``*-{dat,cat,info}.mat.gz`` of a
training and a testing half, format in :mod:`prodvae.data.norb_format`); prodvae reads a
prepared npz, ``smallnorb.npz``, holding one camera of the two halves together.
``prodvae data download smallnorb`` fetches the originals (or takes copies already in the
data directory), checks each against its published SHA-256 and writes the npz with
:func:`prodvae.data.norb_format.convert_smallnorb` (camera 0, uncompressed, so ``lazy`` works):

- ``images``: (N, H, W) uint8 grey (96x96 originally; resize before saving if wanted);
- ``labels``: (N, 5) integers as in the originals: category (0-4), instance (0-9),
  elevation (0-8: 30 to 70 degrees in 5 degree steps), azimuth (0, 2, ..., 34: units of
  10 degrees), lighting (0-5). Rows in any order (the conversion writes the training rows,
  then the testing rows, each in file order).

Factors: category and instance (points), elevation (segment, degrees), azimuth (a loop of
period ``2*pi``, radians), lighting (points). Sizes come from the distinct labels; both
halves together form the full 48,600-image grid.
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

FULL_SIZES = (5, 10, 9, 18, 6)


@register_dataset("smallnorb")
def load_smallnorb(data_dir: str | os.PathLike | None = None, lazy: bool = False) -> ArrayDataset:
    """smallNORB from ``data_dir/smallnorb.npz`` (layout in the module docstring); ``lazy``
    memory-maps the images (the npz must be saved uncompressed, with ``np.savez``)."""
    path = locate("smallnorb", data_dir)
    images, labels = read_labelled_npz(path, 5, image_ndim=3, lazy=lazy)
    if labels[:, 3].max() > 34 or (labels[:, 3] % 2).any():
        raise ValueError(f"{path}: azimuth labels must be even numbers 0..34")
    factors = labels.copy()
    factors[:, 2] = 30.0 + 5.0 * labels[:, 2]
    factors[:, 3] = np.radians(10.0 * labels[:, 3])
    grid = require_grid(factors, FULL_SIZES, str(path))
    levels = [tuple(np.unique(factors[:, k])) for k in range(5)]
    spec = (
        FactorSpec("category", "points", levels[0]),
        FactorSpec("instance", "points", levels[1]),
        FactorSpec("elevation", "segment", levels[2]),
        FactorSpec("azimuth", "loop", levels[3], period=2 * math.pi),
        FactorSpec("lighting", "points", levels[4]),
    )
    return ArrayDataset(images, factors, spec, grid=grid)
