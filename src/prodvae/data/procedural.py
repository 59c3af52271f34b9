"""Procedural datasets: factor grids whose images are rendered by torch on demand.

A procedural dataset is both a full factor grid (for metrics) and a renderer of any
continuous factor values (for training on an "infinite" dataset). Loop values are reduced
modulo their period in float64 before rendering, so an image at ``0`` and at one full period
are identical bit for bit.
"""

from __future__ import annotations

import math
from itertools import accumulate
from typing import NamedTuple

import numpy as np
import torch

from prodvae.data.base import GroundTruthDataset
from prodvae.data.grid import FactorGrid, unravel_flat
from prodvae.data.raster import to_uint8
from prodvae.data.spec import FactorSpec

CPU_CHUNK = 64
DEVICE_CHUNK = 4096


def grid_values(kind: str, size: int, low: float, high: float) -> tuple[float, ...]:
    """``size`` evenly spaced grid values: a loop covers one period ``[low, high)``
    without its repeated end-point, a segment or point set spans ``[low, high]``."""
    if size < 1:
        raise ValueError(f"a factor size must be >= 1, got {size}")
    if kind == "loop":
        return tuple(low + (high - low) * i / size for i in range(size))
    if size == 1:
        return ((low + high) / 2,)
    return tuple(float(v) for v in np.linspace(low, high, size))


def check_sizes(factor_sizes: tuple[int, ...] | None, defaults: tuple[int, ...]) -> tuple[int, ...]:
    """``factor_sizes`` validated against the number of factors, or ``defaults``."""
    if factor_sizes is None:
        return defaults
    sizes = tuple(int(s) for s in factor_sizes)
    if len(sizes) != len(defaults):
        raise ValueError(
            f"factor_sizes needs {len(defaults)} entries, got {len(sizes)}: {factor_sizes!r}"
        )
    if any(s < 1 for s in sizes):
        raise ValueError(f"factor_sizes must be >= 1, got {factor_sizes!r}")
    return sizes


def check_image_size(image_size: int, minimum: int = 8) -> int:
    if int(image_size) != image_size or image_size < minimum:
        raise ValueError(f"image_size must be an integer >= {minimum}, got {image_size!r}")
    return int(image_size)


class ShapeGroups(NamedTuple):
    """Factor values sorted by shape, so that each shape's images are one slice."""

    values: torch.Tensor  # [n, K], rows sorted by the shape in column 0
    shape: torch.Tensor  # long [n], the sorted rows' shape index
    slices: list[slice]  # one per shape, possibly empty
    restore: torch.Tensor  # long [n]: ``sorted_images.index_select(0, restore)`` undoes the sort


def group_by_shape(values: torch.Tensor, num_shapes: int) -> ShapeGroups:
    """Sort ``values [n, K]`` by their shape column (0, rounded and clipped to the shapes),
    so a renderer draws each shape on a slice, a view, instead of gathering and scattering."""
    which = values[:, 0].round().long().clamp(0, num_shapes - 1)
    order = which.argsort(stable=True)
    counts = torch.bincount(which, minlength=num_shapes).tolist()
    slices = [slice(end - count, end) for count, end in zip(counts, accumulate(counts))]
    # index_select: much faster than advanced indexing on the CPU
    return ShapeGroups(values.index_select(0, order), which[order], slices, order.argsort())


class ProceduralDataset(GroundTruthDataset):
    """A factor grid rendered on demand; subclasses implement :meth:`draw`."""

    is_procedural = True

    def __init__(self, spec: tuple[FactorSpec, ...], image_size: int, channels: int = 3) -> None:
        sizes = tuple(factor.size for factor in spec)
        super().__init__(spec, (channels, image_size, image_size), FactorGrid(sizes=sizes))
        self.image_size = image_size

    def draw(self, values: torch.Tensor) -> torch.Tensor:
        """Images ``float [n, C, H, W]`` in ``[0, 1]`` of factor values ``float32 [n, K]``
        (loops already reduced to ``[0, period)``), on the device of ``values``."""
        raise NotImplementedError

    def render(
        self, values: np.ndarray | torch.Tensor, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Render any factor values ``[n, K]`` into images ``uint8 [n, C, H, W]`` on ``device``."""
        values = torch.as_tensor(values, dtype=torch.float64).detach().cpu()
        if values.ndim != 2 or values.shape[1] != self.num_factors:
            raise ValueError(
                f"values must have shape [n, {self.num_factors}], got {tuple(values.shape)}"
            )
        if not torch.isfinite(values).all():
            raise ValueError("values must be finite (got NaN or inf)")
        values = values.clone()
        for k, factor in enumerate(self.spec):
            if factor.kind == "loop":
                assert factor.period is not None
                values[:, k] = values[:, k].remainder(factor.period)
        target = torch.device(device) if device is not None else torch.device("cpu")
        images = torch.empty((values.shape[0], *self.image_shape), dtype=torch.uint8, device=target)
        # small chunks keep a CPU render inside the cache; accelerators like big batches
        chunk = CPU_CHUNK if target.type == "cpu" else DEVICE_CHUNK
        for start in range(0, values.shape[0], chunk):
            part = values[start : start + chunk].to(device=target, dtype=torch.float32)
            to_uint8(self.draw(part), out=images[start : start + chunk])
        return images

    def sample_values(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` continuous factor values ``float64 [n, K]``: loops uniform over a period,
        segments uniform between their end grid values, point sets uniform over their points;
        a factor of one grid value held at it (a loop too: the grid data, ``model.space:
        auto`` and the metrics read it as constant)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        columns = []
        for factor in self.spec:
            grid = torch.tensor(factor.values, dtype=torch.float64)
            if factor.kind == "points":
                pick = torch.randint(grid.numel(), (n,), generator=generator)
                columns.append(grid[pick])
                continue
            u = torch.rand(n, generator=generator, dtype=torch.float64)
            if factor.kind == "loop" and grid.numel() > 1:
                assert factor.period is not None
                columns.append(grid[0] + u * factor.period)
            else:
                columns.append(grid.min() + u * (grid.max() - grid.min()))
        return torch.stack(columns, dim=1)

    def __len__(self) -> int:
        return int(math.prod(self.factor_sizes))

    def factors_at(self, rows: np.ndarray) -> torch.Tensor:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and ((rows < 0).any() or (rows >= len(self)).any()):
            raise IndexError(f"rows out of range for a dataset of {len(self)} items")
        return self.factor_values(unravel_flat(rows, self.factor_sizes))

    def images_at(self, rows: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
        return self.render(self.factors_at(rows), device=device)
