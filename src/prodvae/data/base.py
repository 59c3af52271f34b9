"""The ground-truth dataset protocol: images with labelled factors, and grid access.

Interventional metrics (BetaVAE, FactorVAE scores) need to draw factor multi-indices and the
images at them; :class:`GroundTruthDataset` gives that for any dataset whose factors form a
full grid, whatever its storage. (Weak-supervision pairs use the grid when there is one and
the labelled rows otherwise: :mod:`prodvae.data.pairs`.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from prodvae.data.grid import FactorGrid
from prodvae.data.spec import FactorSpec, check_distinct_names


class Sample(NamedTuple):
    """One item of a dataset."""

    image: torch.Tensor  # uint8 [C, H, W]
    factors: torch.Tensor  # float64 [K] factor values


def as_index_array(indices: np.ndarray | torch.Tensor, num_factors: int) -> np.ndarray:
    """Grid multi-indices ``[n, K]`` as an int64 numpy array, shape-checked."""
    if isinstance(indices, torch.Tensor):
        indices = indices.detach().cpu().numpy()
    array = np.asarray(indices)
    if array.ndim != 2 or array.shape[1] != num_factors:
        raise ValueError(f"indices must have shape [n, {num_factors}], got {tuple(array.shape)}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"indices must be integers, got dtype {array.dtype}")
    return array.astype(np.int64)


class GroundTruthDataset(torch.utils.data.Dataset):
    """Images ``uint8 [C, H, W]`` with factor values ``float64 [K]`` described by ``spec``.

    Subclasses implement ``__len__``, :meth:`images_at` and :meth:`factors_at`. When the
    factors form a full grid (``grid`` given), the grid methods work: ``factor_sizes``,
    :meth:`sample_factors`, :meth:`factor_values` and :meth:`images_from_factors`.
    """

    is_procedural: bool = False

    def __init__(
        self,
        spec: tuple[FactorSpec, ...],
        image_shape: tuple[int, int, int],
        grid: FactorGrid | None = None,
    ) -> None:
        self._spec = tuple(spec)
        if not self._spec:
            raise ValueError("spec must name at least one factor")
        check_distinct_names([factor.name for factor in self._spec], "spec")
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise ValueError(f"image_shape must be (C, H, W) positive, got {image_shape!r}")
        self._image_shape = tuple(int(s) for s in image_shape)
        if grid is not None:
            spec_sizes = tuple(factor.size for factor in self._spec)
            if spec_sizes != tuple(grid.sizes):
                raise ValueError(
                    f"grid sizes {tuple(grid.sizes)} do not match the spec's value counts "
                    f"{spec_sizes}"
                )
        self._grid = grid

    # --- metadata -------------------------------------------------------------------------
    @property
    def spec(self) -> tuple[FactorSpec, ...]:
        return self._spec

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)``."""
        return self._image_shape  # type: ignore[return-value]

    @property
    def num_factors(self) -> int:
        return len(self._spec)

    @property
    def is_grid(self) -> bool:
        return self._grid is not None

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return self._require_grid().sizes

    # --- storage (subclasses) -------------------------------------------------------------
    def __len__(self) -> int:
        raise NotImplementedError

    def images_at(self, rows: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
        """Images ``uint8 [n, C, H, W]`` of dataset rows ``[n]``."""
        raise NotImplementedError

    def factors_at(self, rows: np.ndarray) -> torch.Tensor:
        """Factor values ``float64 [n, K]`` of dataset rows ``[n]``."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> Sample:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        size = len(self)
        if not -size <= index < size:
            raise IndexError(f"index {index} out of range for a dataset of {size} items")
        rows = np.array([int(index) % size], dtype=np.int64)
        return Sample(image=self.images_at(rows)[0], factors=self.factors_at(rows)[0])

    # --- grid access ----------------------------------------------------------------------
    def _require_grid(self) -> FactorGrid:
        if self._grid is None:
            raise ValueError(f"{type(self).__name__}: the factors do not form a full grid")
        return self._grid

    def sample_factors(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` grid multi-indices ``long [n, K]``, each factor uniform over its values."""
        sizes = self._require_grid().sizes
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        columns = [torch.randint(size, (n,), generator=generator) for size in sizes]
        return torch.stack(columns, dim=1).long()

    def factor_values(self, indices: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Factor values ``float64 [n, K]`` at grid multi-indices ``[n, K]``."""
        grid = self._require_grid()
        array = as_index_array(indices, self.num_factors)
        bounds = np.asarray(grid.sizes)
        if array.size and ((array < 0).any() or (array >= bounds).any()):
            raise ValueError(f"indices out of range for factor sizes {grid.sizes}")
        columns = [
            np.asarray(factor.values, dtype=np.float64)[array[:, k]]
            for k, factor in enumerate(self._spec)
        ]
        return torch.from_numpy(np.stack(columns, axis=1).reshape(-1, self.num_factors))

    def rows_from_factors(self, indices: np.ndarray | torch.Tensor) -> np.ndarray:
        """Dataset rows ``int64 [n]`` at grid multi-indices ``[n, K]``."""
        return self._require_grid().rows_of(as_index_array(indices, self.num_factors))

    def images_from_factors(
        self, indices: np.ndarray | torch.Tensor, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Images ``uint8 [n, C, H, W]`` at grid multi-indices ``[n, K]``."""
        return self.images_at(self.rows_from_factors(indices), device=device)

    def __repr__(self) -> str:
        names = ", ".join(f"{f.name}:{f.kind}" for f in self._spec)
        return f"{type(self).__name__}(n={len(self)}, image_shape={self.image_shape}, [{names}])"
