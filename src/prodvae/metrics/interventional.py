"""Shared machinery of the interventional scores: drawing factor batches from a grid
dataset, encoding them in chunks, and kind-aware spreads and differences (circular
variance and wrapped differences for loop coordinates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

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
