"""Shared machinery of the interventional scores (FactorVAE, BetaVAE): batches that hold one
factor and draw the others, encoded in chunks, and kind-aware spreads and differences
(circular variance and wrapped differences for loop coordinates).

On a grid a batch is grid cells that share one factor's value, the others uniform over their
values (:class:`GridCells`, as disentanglement_lib draws them). Any other labelled dataset --
a user's photographs, a grid with rows missing -- holds no cell for most combinations, so a
batch is rows that share one factor's *level* (its value, or its bin where the other scores
bin it: :func:`~prodvae.data.factor_bins.scored_factors`), drawn uniformly among the rows at
that level, the level that of a row drawn at random (:class:`RowCells`): the other factors
come as the data hold them beside that level, not independently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from prodvae.data.factor_bins import scored_factors
from prodvae.metrics.circular import circular_std, circular_variance, wrapped_difference
from prodvae.metrics.groups import IntrinsicCodes, LatentGroup, intrinsic_codes, latent_groups
from prodvae.spaces import is_circular

#: Images per call of ``encode``.
ENCODE_BATCH = 4096

Encode = Callable[[torch.Tensor], Any]


def make_generator(generator: torch.Generator | None, seed: int) -> torch.Generator:
    """``generator`` if given, else a CPU generator seeded with ``seed``."""
    return generator if generator is not None else torch.Generator().manual_seed(int(seed))


def varying_factor_indices(dataset: Any) -> np.ndarray:
    """Grid factors with more than one value (fixing a constant factor tells nothing)."""
    if not getattr(dataset, "is_grid", False):
        raise ValueError("interventional scores need a grid dataset (dataset.is_grid is False)")
    sizes = np.asarray(dataset.factor_sizes)
    varying = np.flatnonzero(sizes > 1)
    if varying.size == 0:
        raise ValueError("dataset has no factor with more than one value")
    return varying


def encode_factors(dataset: Any, encode: Encode, indices: torch.Tensor) -> np.ndarray:
    """Ambient codes ``[n, D]`` (float64) of the images at grid ``indices [n, K]``."""
    chunks = []
    for start in range(0, indices.shape[0], ENCODE_BATCH):
        chunks.append(
            encoded(encode, dataset.images_from_factors(indices[start : start + ENCODE_BATCH]))
        )
    return np.concatenate(chunks, axis=0)


def encoded(encode: Encode, images: torch.Tensor) -> np.ndarray:
    """Ambient codes ``float64 [n, D]`` of ``images [n, C, H, W]``, without gradients."""
    with torch.no_grad():
        codes = encode(images)
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu().double().numpy()
    return np.asarray(codes, dtype=np.float64).reshape(images.shape[0], -1)


def encode_intrinsic(
    dataset: Any, encode: Encode, indices: torch.Tensor, groups: tuple[LatentGroup, ...] | None
) -> IntrinsicCodes:
    """Intrinsic codes of the images at ``indices`` (plain 1-D codes without ``groups``)."""
    ambient = encode_factors(dataset, encode, indices)
    return intrinsic_codes(ambient, groups or latent_groups(ambient.shape[1]))


def spread(values: np.ndarray, kinds: tuple[str, ...], axis: int) -> np.ndarray:
    """Per-column spread along ``axis``: variance (ddof 1), circular variance for loops."""
    out = np.var(values, axis=axis, ddof=1)
    loops = np.array([is_circular(k) for k in kinds])
    if loops.any():
        out[..., loops] = circular_variance(values[..., loops], axis=axis)
    return out


def scale(values: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
    """Per-column scale ``[M]`` of ``values [n, M]``: std, circular std for loops."""
    out = np.std(values, axis=0, ddof=1)
    loops = np.array([is_circular(k) for k in kinds])
    if loops.any():
        out[loops] = circular_std(values[:, loops], axis=0)
    return out


def abs_difference(a: np.ndarray, b: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
    """``|a - b|`` per column, the wrapped difference for loop columns."""
    out = np.abs(a - b)
    loops = np.array([is_circular(k) for k in kinds])
    if loops.any():
        out[..., loops] = np.abs(wrapped_difference(a[..., loops], b[..., loops]))
    return out


def fixed_factor_batches(
    dataset: Any, num_batches: int, batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_batches`` batches of grid indices ``[num_batches, batch_size, K]`` in which one
    varying factor per batch (returned, ``[num_batches]``) is held at one value."""
    varying = torch.from_numpy(varying_factor_indices(dataset))
    fixed = varying[torch.randint(len(varying), (num_batches,), generator=generator)]
    indices = dataset.sample_factors(num_batches * batch_size, generator)
    indices = indices.reshape(num_batches, batch_size, -1).clone()
    rows = torch.arange(num_batches)
    indices[rows, :, fixed] = indices[rows, 0, fixed][:, None]
    return fixed, indices


def encode_rows(dataset: Any, encode: Encode, rows: np.ndarray) -> np.ndarray:
    """Ambient codes ``float64 [n, D]`` of the images at dataset ``rows [n]``."""
    chunks = [
        encoded(encode, dataset.images_at(rows[start : start + ENCODE_BATCH]))
        for start in range(0, len(rows), ENCODE_BATCH)
    ]
    return np.concatenate(chunks, axis=0)


class GridCells:
    """A grid's draws for the interventional scores: grid indices ``[..., K]``."""

    def __init__(self, dataset: Any) -> None:
        self.dataset, self.num_factors = dataset, dataset.num_factors
        varying_factor_indices(dataset)  # a grid with a factor to hold

    def random(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` cells, each factor uniform over its values ``[n, K]``."""
        return self.dataset.sample_factors(n, generator)

    def fixed_batches(
        self, num_batches: int, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`fixed_factor_batches`."""
        return fixed_factor_batches(self.dataset, num_batches, batch_size, generator)

    def partners(
        self, fixed: torch.Tensor, first: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Batches like ``first [B, n, K]`` drawn afresh but for each batch's held factor."""
        second = self.dataset.sample_factors(first.shape[0] * first.shape[1], generator)
        second = second.reshape(first.shape)
        rows = torch.arange(first.shape[0])
        second[rows, :, fixed] = first[rows, :, fixed]
        return second

    def encode(
        self, encode: Encode, cells: torch.Tensor, groups: tuple[LatentGroup, ...] | None
    ) -> IntrinsicCodes:
        """Intrinsic codes of the images at ``cells [..., K]``, flattened to ``[n, M]``."""
        return encode_intrinsic(self.dataset, encode, cells.reshape(-1, cells.shape[-1]), groups)


class RowCells:
    """Any labelled dataset's draws for the interventional scores (the module docstring): row
    numbers ``[...]``, held factors at the levels the other scores read them at."""

    def __init__(self, dataset: Any) -> None:
        if len(dataset) == 0:
            raise ValueError("interventional scores: the dataset holds no rows")
        values = dataset.factors_at(np.arange(len(dataset))).numpy()
        levels, _ = scored_factors(values, tuple(dataset.spec))
        self.dataset, self.num_factors = dataset, dataset.num_factors
        varying = [k for k in range(levels.shape[1]) if len(np.unique(levels[:, k])) > 1]
        if not varying:
            raise ValueError("dataset has no factor with more than one value")
        self.varying = torch.tensor(varying)
        # per factor: the rows in order of its level, and where each row's level starts and
        # how many rows hold it
        self._order, self._start, self._count = {}, {}, {}
        for k in varying:
            order = np.argsort(levels[:, k], kind="stable")
            ordered = levels[order, k]
            self._order[k] = order
            self._start[k] = np.searchsorted(ordered, levels[:, k], side="left")
            self._count[k] = np.searchsorted(ordered, levels[:, k], side="right") - self._start[k]

    def random(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` rows drawn uniformly ``[n]``."""
        return torch.randint(len(self.dataset), (n,), generator=generator)

    def _at_level_of(
        self, rows: torch.Tensor, fixed: torch.Tensor, size: int, generator: torch.Generator
    ) -> torch.Tensor:
        """For each of ``rows [B]``, ``size`` rows drawn uniformly among those that share its
        level of factor ``fixed[b]`` ``[B, size]``."""
        within = torch.rand(len(rows), size, generator=generator, dtype=torch.float64).numpy()
        drawn = np.empty((len(rows), size), dtype=np.int64)
        for b, (row, k) in enumerate(zip(rows.tolist(), fixed.tolist())):
            start, count = self._start[k][row], self._count[k][row]
            drawn[b] = self._order[k][start + (within[b] * count).astype(np.int64)]
        return torch.from_numpy(drawn)

    def fixed_batches(
        self, num_batches: int, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``num_batches`` batches of rows ``[num_batches, batch_size]`` that share one varying
        factor's level (the factor returned, ``[num_batches]``; the level a random row's)."""
        fixed = self.varying[torch.randint(len(self.varying), (num_batches,), generator=generator)]
        seeds = self.random(num_batches, generator)
        return fixed, self._at_level_of(seeds, fixed, batch_size, generator)

    def partners(
        self, fixed: torch.Tensor, first: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Batches like ``first [B, n]`` drawn afresh at each batch's level of its held
        factor."""
        return self._at_level_of(first[:, 0], fixed, first.shape[1], generator)

    def encode(
        self, encode: Encode, rows: torch.Tensor, groups: tuple[LatentGroup, ...] | None
    ) -> IntrinsicCodes:
        """Intrinsic codes of the images at ``rows [...]``, flattened to ``[n, M]``."""
        ambient = encode_rows(self.dataset, encode, rows.reshape(-1).numpy())
        return intrinsic_codes(ambient, groups or latent_groups(ambient.shape[1]))


def cells_of(dataset: Any) -> GridCells | RowCells:
    """The interventional draws of ``dataset``: grid cells on a grid, else rows."""
    return GridCells(dataset) if getattr(dataset, "is_grid", False) else RowCells(dataset)
