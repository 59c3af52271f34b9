"""MPI3D (Gondal et al., NeurIPS 2019): ``mpi3d_{toy,realistic,real,complex}.npz`` holding
``images`` (N, 64, 64, 3) uint8 and no labels: the factors come from unravelling the row
index over the variant's sizes (last factor fastest). The row count is checked against the
sizes, never assumed. Factor values are grid indices; the two robot-arm axes are segments.
"""

from __future__ import annotations

import math
import os

import numpy as np

from prodvae.data.array_dataset import ArrayDataset
from prodvae.data.download import locate
from prodvae.data.grid import FactorGrid, unravel_flat
from prodvae.data.registry import register_dataset
from prodvae.data.spec import FactorSpec
from prodvae.data.standard import check_images, read_images

NAMES = (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "horizontal_axis",
    "vertical_axis",
)
KINDS = ("points", "points", "points", "segment", "points", "segment", "segment")
SIZES = {
    "toy": (6, 6, 2, 3, 3, 40, 40),
    "realistic": (6, 6, 2, 3, 3, 40, 40),
    "real": (6, 6, 2, 3, 3, 40, 40),
    "complex": (4, 4, 2, 3, 3, 40, 40),
}


def load_mpi3d(
    variant: str,
    data_dir: str | os.PathLike | None,
    factor_sizes: tuple[int, ...] | None,
    lazy: bool,
) -> ArrayDataset:
    """MPI3D ``variant``; ``lazy`` memory-maps the (uncompressed) images instead of loading
    the 12.7 GB into memory."""
    sizes = SIZES[variant] if factor_sizes is None else tuple(int(s) for s in factor_sizes)
    if len(sizes) != len(NAMES) or min(sizes) < 1:
        raise ValueError(f"factor_sizes must be {len(NAMES)} positive sizes, got {factor_sizes!r}")
    path = locate(f"mpi3d_{variant}", data_dir)
    images = read_images(path, "images", lazy)
    check_images(images.shape, images.dtype, str(path))
    if images.shape[0] != math.prod(sizes):
        raise ValueError(
            f"{path}: {images.shape[0]} images, but factor sizes {sizes} make "
            f"{math.prod(sizes)}; pass factor_sizes= matching the file"
        )
    indices = unravel_flat(np.arange(images.shape[0]), sizes)
    spec = tuple(FactorSpec(n, k, tuple(range(s))) for n, k, s in zip(NAMES, KINDS, sizes))
    return ArrayDataset(images, indices.astype(np.float64), spec, grid=FactorGrid(sizes))


@register_dataset("mpi3d_toy")
def load_mpi3d_toy(
    data_dir=None, factor_sizes: tuple[int, ...] | None = None, lazy: bool = False
) -> ArrayDataset:
    return load_mpi3d("toy", data_dir, factor_sizes, lazy)


@register_dataset("mpi3d_realistic")
def load_mpi3d_realistic(
    data_dir=None, factor_sizes: tuple[int, ...] | None = None, lazy: bool = False
) -> ArrayDataset:
    return load_mpi3d("realistic", data_dir, factor_sizes, lazy)


@register_dataset("mpi3d_real")
def load_mpi3d_real(
    data_dir=None, factor_sizes: tuple[int, ...] | None = None, lazy: bool = False
) -> ArrayDataset:
    return load_mpi3d("real", data_dir, factor_sizes, lazy)


@register_dataset("mpi3d_complex")
def load_mpi3d_complex(
    data_dir=None, factor_sizes: tuple[int, ...] | None = None, lazy: bool = False
) -> ArrayDataset:
    return load_mpi3d("complex", data_dir, factor_sizes, lazy)
