"""Kernel dependence between latent factors: HSIC with Gaussian kernels (Gretton et al. 2005).

For a batch of codes split into factors, ``HSIC(z_a, z_b) = tr(K_a H K_b H) / n²`` (the
biased V-statistic), with ``K_a[i, j] = exp(-|z_a,i - z_a,j|² / (2 h²))`` and ``H`` the
centring matrix. It is 0 in the population exactly when the factors are independent (the
Gaussian kernel is characteristic); the V-statistic of ``n`` independent samples is positive
and of order ``1/n``. Unlike a total-correlation estimate it needs no density of the
aggregate posterior, so it stays finite and smooth when posteriors are narrow.

On the two-hand dial (``benchmarks/torus_loops.py``) it keeps two loop blocks from taking up
the same hand, which nothing in Ada-GVAE pairs penalises. It does not see every dependence
that matters to disentanglement: a block following ``θ1 + θ2`` is pairwise independent of
one following ``θ1``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import Tensor


def centred_gram(x: Tensor, bandwidth: float) -> Tensor:
    """``H K H`` for the Gaussian kernel of ``bandwidth`` on the rows of ``x [n, d]``."""
    squared = (x[:, None, :] - x[None, :, :]).pow(2).sum(-1)
    gram = (-squared / (2 * bandwidth**2)).exp()
    return gram - gram.mean(0, keepdim=True) - gram.mean(1, keepdim=True) + gram.mean()


def hsic(x: Tensor, y: Tensor, bandwidth: float) -> Tensor:
    """Biased HSIC estimate between paired samples ``x [n, d]`` and ``y [n, e]``."""
    if x.dim() != 2 or y.dim() != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"hsic: expected [n, d] and [n, e], got {list(x.shape)} and {list(y.shape)}"
        )
    if not bandwidth > 0:
        raise ValueError(f"hsic: bandwidth must be > 0, got {bandwidth!r}")
    n = x.shape[0]
    return (centred_gram(x, bandwidth) * centred_gram(y, bandwidth)).sum() / n**2


def factor_hsic(codes: Tensor, slices: Sequence[slice], bandwidth: float) -> Tensor:
    """Mean HSIC over all pairs of latent factors (``codes [n, dim]`` split by ``slices``)."""
    if len(slices) < 2:
        return codes.new_zeros(())
    grams = [centred_gram(codes[:, s], bandwidth) for s in slices]
    pairs = list(itertools.combinations(grams, 2))
    n = codes.shape[0]
    return sum((a * b).sum() for a, b in pairs) / (len(pairs) * n**2)
