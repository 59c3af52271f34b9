"""A ground-truth dataset over stored images: a numpy array in memory or an HDF5 dataset
read lazily from disk. Images stay uint8 end to end (Shapes3D is 5.9 GB as uint8)."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import torch

from prodvae.data.base import GroundTruthDataset
from prodvae.data.grid import FactorGrid
from prodvae.data.spec import FactorSpec


class LazyH5Images:
    """Images ``[N, H, W(, C)]`` of one HDF5 dataset, opened on first read in each process
    (an h5py handle must not cross a fork into DataLoader workers)."""

    def __init__(self, path: str | Path, key: str) -> None:
        self.path, self.key = Path(path), key
        self._pid: int | None = None
        self._file: h5py.File | None = None
        with h5py.File(self.path, "r") as handle:
            node = handle[key]
            self.shape, self.dtype = tuple(node.shape), node.dtype

    def _dataset(self) -> h5py.Dataset:
        if self._file is None or self._pid != os.getpid():
            self._file, self._pid = h5py.File(self.path, "r"), os.getpid()
        return self._file[self.key]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        # h5py reads fancy indices only when increasing and unique
        unique, inverse = np.unique(rows, return_inverse=True)
        try:
            block = self._dataset()[unique]
        except OSError as error:
            raise ValueError(
                f"{self.path}: cannot read {self.key!r} (truncated?): {error}"
            ) from None
        return block[inverse.reshape(-1)]

    def __len__(self) -> int:
        return self.shape[0]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_file"], state["_pid"] = None, None
        return state


class ArrayDataset(GroundTruthDataset):
    """Stored images with factor values.

    Args:
        images: ``[M, H, W, C]`` or ``[M, H, W]`` uint8, a numpy array or :class:`LazyH5Images`.
        factors: ``[N, K]`` float64 factor values of the dataset's rows.
        spec: one :class:`FactorSpec` per factor column.
        grid: the full grid the rows form, if they do.
        rows: ``[N]`` row of ``images`` for each dataset row (``None``: the same row), to drop
            or reorder stored images without copying them.
        intensity_scale: multiplies stored values (dSprites stores 0/1 pixels; 255 makes 0/255).
    """

    def __init__(
        self,
        images: np.ndarray | LazyH5Images,
        factors: np.ndarray,
        spec: tuple[FactorSpec, ...],
        grid: FactorGrid | None = None,
        rows: np.ndarray | None = None,
        intensity_scale: int = 1,
    ) -> None:
        shape = tuple(images.shape)
        if len(shape) not in (3, 4) or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 [N, H, W(, C)], got {images.dtype} {shape}")
        factors = np.asarray(factors, dtype=np.float64)
        if factors.ndim != 2 or factors.shape[1] != len(spec):
            raise ValueError(f"factors must be [N, {len(spec)}], got {factors.shape}")
        count = shape[0] if rows is None else len(rows)
        if factors.shape[0] != count:
            raise ValueError(f"{factors.shape[0]} factor rows for {count} images")
        channels = shape[3] if len(shape) == 4 else 1
        super().__init__(spec, (channels, shape[1], shape[2]), grid)
        self._images, self._factors, self._rows = images, factors, rows
        self._intensity_scale = intensity_scale

    def __len__(self) -> int:
        return self._factors.shape[0]

    def _check_rows(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size and ((rows < 0).any() or (rows >= len(self)).any()):
            raise IndexError(f"rows out of range for a dataset of {len(self)} items")
        return rows

    def images_at(self, rows: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
        rows = self._check_rows(rows)
        stored = rows if self._rows is None else self._rows[rows]
        block = np.asarray(self._images[stored])
        if block.ndim == 3:
            block = block[..., None]
        images = torch.from_numpy(np.ascontiguousarray(block)).permute(0, 3, 1, 2)
        if self._intensity_scale != 1:
            images = images * self._intensity_scale
        return images.contiguous().to(device=device)

    def factors_at(self, rows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self._factors[self._check_rows(rows)].copy())
