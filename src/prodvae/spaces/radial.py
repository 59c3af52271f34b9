"""Radial mathematics of the tilted prior (Floto, Kremer and Nica, ICLR 2023).

The tilted density on R^d is p(z) ∝ exp(-|z|²/2 + τ|z|); its mode set is the sphere of
radius τ. The ring prior of a :class:`~prodvae.spaces.Loop` is the same density in the
rescaled coordinate z / width. Everything here is shared by both.

* :func:`log_tilted_integral` -- ``log ∫ exp(-|z|²/2 + τ|z|) dz``, exact for integer d.
* :func:`mean_norm` -- E|z| for z ~ N(m, s² I_d) (the non-central chi mean), differentiable.
* :func:`sample_tilted` -- exact samples by rejection on the radius.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

# Above this x = |m|²/(2s²) the non-central chi mean uses its asymptotic series.
_ASYMPTOTIC_FROM = 100.0
_NUM_SERIES_TERMS = 256
_NUM_ASYMPTOTIC_TERMS = 12


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def log_tilted_integral(dim: int, tau: float) -> float:
    """``log ∫_{R^dim} exp(-|z|²/2 + tau |z|) dz`` for ``tau >= 0``.

    Written as the sphere area times the radial integral
    ``∫_0^∞ r^{d-1} e^{-r²/2 + τ r} dr = e^{τ²/2} Σ_k C(d-1, k) τ^{d-1-k} J_k``, where
    ``J_k = ∫_{-τ}^∞ u^k e^{-u²/2} du`` obeys ``J_k = (-τ)^{k-1} e^{-τ²/2} + (k-1) J_{k-2}``.
    Every term of the sum is non-negative, so it is evaluated in log space without
    cancellation.
    """
    log_sphere = math.log(2.0) + 0.5 * dim * math.log(math.pi) - math.lgamma(dim / 2)
    tail = math.exp(-0.5 * tau * tau)
    moments = [math.sqrt(2 * math.pi) * _normal_cdf(tau), tail]
    for k in range(2, dim):
        moments.append((-tau) ** (k - 1) * tail + (k - 1) * moments[k - 2])
    log_terms = []
    for k in range(dim):
        power = dim - 1 - k
        if moments[k] <= 0.0 or (tau == 0.0 and power > 0):
            continue
        log_binomial = math.lgamma(dim) - math.lgamma(k + 1) - math.lgamma(power + 1)
        log_power = power * math.log(tau) if power > 0 else 0.0
        log_terms.append(log_binomial + log_power + math.log(moments[k]))
    peak = max(log_terms)
    log_radial = peak + math.log(sum(math.exp(t - peak) for t in log_terms)) + 0.5 * tau * tau
    return log_sphere + log_radial


def _hyp1f1_series(x: Tensor, b: float) -> Tensor:
    """1F1(-1/2; b; -x) by Kummer's transform: a sum of positive terms, for moderate x."""
    n = torch.arange(_NUM_SERIES_TERMS, dtype=x.dtype, device=x.device)
    log_ratio = torch.lgamma(b + 0.5 + n) - torch.lgamma(b + n) - torch.lgamma(n + 1)
    log_ratio = log_ratio - math.lgamma(b + 0.5) + math.lgamma(b)
    x = x.clamp_min(torch.finfo(x.dtype).tiny)
    log_terms = log_ratio + n * torch.log(x).unsqueeze(-1) - x.unsqueeze(-1)
    return torch.logsumexp(log_terms, dim=-1).exp()


def _hyp1f1_asymptotic(x: Tensor, b: float) -> Tensor:
    """1F1(-1/2; b; -x) ≈ Γ(b)/Γ(b+1/2) √x Σ_s (-1/2)_s (1/2-b)_s / (s! x^s) for large x."""
    total = torch.ones_like(x)
    term = torch.ones_like(x)
    for s in range(_NUM_ASYMPTOTIC_TERMS):
        term = term * ((-0.5 + s) * (0.5 - b + s) / (s + 1)) / x
        total = total + term
    scale = math.exp(math.lgamma(b) - math.lgamma(b + 0.5))
    return scale * torch.sqrt(x) * total


def mean_norm(mean_sq_norm: Tensor, var: Tensor, dim: int) -> Tensor:
    """E|z| for z ~ N(m, var·I_dim), given ``|m|²`` and ``var`` (broadcastable tensors).

    ``E|z| = s √2 Γ((d+1)/2) / Γ(d/2) · 1F1(-1/2; d/2; -|m|²/(2s²))``. Both branches are
    evaluated on clamped inputs so that gradients stay finite everywhere.
    """
    b = dim / 2
    x = mean_sq_norm / (2 * var)
    low = _hyp1f1_series(x.clamp(max=_ASYMPTOTIC_FROM), b)
    high = _hyp1f1_asymptotic(x.clamp(min=_ASYMPTOTIC_FROM), b)
    hyp = torch.where(x < _ASYMPTOTIC_FROM, low, high)
    scale = math.sqrt(2.0) * math.exp(math.lgamma((dim + 1) / 2) - math.lgamma(b))
    return torch.sqrt(var) * scale * hyp


def tilted_kl(mu: Tensor, logvar: Tensor, tau: float) -> Tensor:
    """Exact KL(N(mu, e^logvar I) || tilted(τ)) for an isotropic posterior.

    ``mu`` is ``[batch, d]``, ``logvar`` ``[batch]``. With ``log Z`` the log of
    :func:`log_tilted_integral`,
    ``KL = log Z + (|μ|² + dσ²)/2 - τ E|z| - d/2 (log 2π + 1) - d log σ``.
    """
    dim = mu.shape[-1]
    var = logvar.exp()
    sq_norm = (mu * mu).sum(-1)
    expected_energy = 0.5 * (sq_norm + dim * var)
    if tau > 0:
        expected_energy = expected_energy - tau * mean_norm(sq_norm, var, dim)
    entropy = 0.5 * dim * (math.log(2 * math.pi) + 1.0 + logvar)
    return log_tilted_integral(dim, tau) + expected_energy - entropy


def sample_tilted_radius(
    n: int, dim: int, tau: float, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """``n`` radii with density ∝ r^{d-1} exp(-r²/2 + τ r) on r > 0 (float64, ``[n]``).

    Rejection from N(m, 1) truncated to r > 0 with m = (τ + √(τ² + 4(d-1)))/2, the mode;
    accept when log U < (d-1) log(r/m) + (τ - m)(r - m). Acceptance is above 0.8.
    """
    mode = 0.5 * (tau + math.sqrt(tau * tau + 4 * (dim - 1)))
    radii = torch.empty(0, dtype=torch.float64, device=device)
    while radii.numel() < n:
        need = max(2 * (n - radii.numel()), 16)
        r = mode + torch.randn(need, generator=generator, dtype=torch.float64, device=device)
        log_u = torch.rand(need, generator=generator, dtype=torch.float64, device=device).log()
        log_ratio = (tau - mode) * (r - mode)
        if dim > 1:
            log_ratio = log_ratio + (dim - 1) * torch.log(r.clamp_min(1e-300) / mode)
        accepted = r[(r > 0) & (log_u < log_ratio)]
        radii = torch.cat([radii, accepted])
    return radii[:n]


def sample_tilted(
    n: int, dim: int, tau: float, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """``n`` exact samples of the tilted prior in R^dim, float64 ``[n, dim]``."""
    direction = torch.randn(n, dim, generator=generator, dtype=torch.float64, device=device)
    direction = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    return direction * sample_tilted_radius(n, dim, tau, generator, device).unsqueeze(-1)
