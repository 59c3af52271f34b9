"""Minibatch-stratified estimates of the KL decomposition (Chen et al., NeurIPS 2018).

For Gaussian posteriors q(z|x) and a batch of size B drawn from N training images, the
aggregate posterior q(z_i) is estimated by Σ_j w_ij q(z_i|x_j) with minibatch-stratified
weights: w_ii = 1/N, one other entry per row (N - M)/(N M) and the remaining M - 1 entries
1/M, where M = B - 1. ``blocks`` group ambient dimensions into units: single dimensions for
β-TCVAE, latent factors for the block-wise penalty of the product objective.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor


class KLDecomposition(NamedTuple):
    """Batch means of the index-code MI, the total correlation and the dimension-wise KL."""

    mutual_information: Tensor
    total_correlation: Tensor
    dimension_kl: Tensor


def log_density_matrix(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """``log N(z_i[d]; mu_j[d], exp(logvar_j[d]))`` for all pairs, ``[batch, batch, dim]``."""
    diff = z[:, None, :] - mu[None, :, :]
    return -0.5 * (diff**2 / logvar.exp()[None] + logvar[None] + math.log(2 * math.pi))


def log_stratified_weights(batch_size: int, dataset_size: int, like: Tensor) -> Tensor:
    """``log w [batch, batch]`` of minibatch-stratified sampling."""
    if batch_size < 3:
        raise ValueError(f"total correlation: batch size must be >= 3, got {batch_size}")
    if dataset_size < batch_size:
        raise ValueError(
            f"total correlation: dataset_size ({dataset_size}) must be >= batch size ({batch_size})"
        )
    m, n = batch_size - 1, dataset_size
    weights = torch.full((batch_size, batch_size), 1 / m, dtype=like.dtype, device=like.device)
    index = torch.arange(batch_size, device=like.device)
    weights[index, (index + 1) % batch_size] = (n - m) / (n * m)
    weights[index, index] = 1 / n
    return weights.log()


def _log_aggregate(log_q: Tensor, log_w: Tensor) -> Tensor:
    """``log Σ_j w_ij exp(log_q[i, j])``, ``[batch]``."""
    return torch.logsumexp(log_w + log_q, dim=1)


def block_log_marginals(
    z: Tensor, mu: Tensor, logvar: Tensor, blocks: Sequence[slice], dataset_size: int
) -> tuple[Tensor, Tensor, Tensor]:
    """``(log q(z|x), log q(z), Σ_b log q(z_b))``, each ``[batch]``."""
    log_q = log_density_matrix(z, mu, logvar)
    log_w = log_stratified_weights(z.shape[0], dataset_size, z)
    conditional = log_q.diagonal(dim1=0, dim2=1).sum(0)
    joint = _log_aggregate(log_q.sum(-1), log_w)
    marginals = sum(_log_aggregate(log_q[:, :, b].sum(-1), log_w) for b in blocks)
    return conditional, joint, marginals


def total_correlation(
    z: Tensor, mu: Tensor, logvar: Tensor, blocks: Sequence[slice], dataset_size: int
) -> Tensor:
    """Estimated ``KL(q(z) ‖ Π_b q(z_b))`` over the blocks, a scalar tensor."""
    _, joint, marginals = block_log_marginals(z, mu, logvar, blocks, dataset_size)
    return (joint - marginals).mean()


def kl_decomposition(
    z: Tensor,
    mu: Tensor,
    logvar: Tensor,
    log_prior: Tensor,
    blocks: Sequence[slice],
    dataset_size: int,
) -> KLDecomposition:
    """Split ``E[log q(z|x) - log p(z)]`` into MI + TC + dimension-wise KL.

    ``log_prior``: ``log p(z)`` per sample, ``[batch]``.
    """
    conditional, joint, marginals = block_log_marginals(z, mu, logvar, blocks, dataset_size)
    return KLDecomposition(
        (conditional - joint).mean(), (joint - marginals).mean(), (marginals - log_prior).mean()
    )


def dimension_blocks(dim: int) -> tuple[slice, ...]:
    """One block per ambient dimension."""
    return tuple(slice(i, i + 1) for i in range(dim))


def as_float64(*tensors: Tensor) -> list[Tensor]:
    """Promote to float64 on devices that have it (the log-sum-exps lose precision in float32)."""
    return [t.double() if t.device.type != "mps" else t for t in tensors]


__all__ = [
    "KLDecomposition",
    "as_float64",
    "block_log_marginals",
    "dimension_blocks",
    "kl_decomposition",
    "log_density_matrix",
    "log_stratified_weights",
    "total_correlation",
]
