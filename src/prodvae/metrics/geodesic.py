"""Geometry of the codes: geodesic stress against the ground-truth manifold, and the
distance of the codes to the prior's low-energy set.

Geodesic stress (Kruskal stress-1, as van Hulst et al. 2026 use it) compares distances
between random pairs of samples on the true product manifold with those on the latent one,
after the best global scale ``a``: ``sqrt(sum (a d_latent - d_true)^2 / sum d_true^2)``
in ``[0, 1]`` (0: isometric up to scale). Both are product (root-sum-square) metrics:

- true factor: a segment by its value rescaled to ``[0, 1]``; a loop by the wrapped arc on a
  circle of circumference 1; a point set by 0/1 (same value or not);
- latent factor, as its :class:`~prodvae.spaces.Reading` says: a loop (a ``ring``) by
  ``radius * wrapped angle``, a point set (``snap``) by the distance between its points,
  a segment or Euclidean block by its Euclidean distance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from prodvae.metrics._checks import as_codes, as_grid_indices
from prodvae.metrics.circular import wrapped_difference
from prodvae.metrics.groups import LatentGroup, angle
from prodvae.metrics.registry import MetricInputs, register_metric
from prodvae.spaces import is_circular, is_discrete

#: Random pairs used for the stress (exact and fast).
NUM_PAIRS = 20000


def true_distances(factors: np.ndarray, spec: tuple[Any, ...], i: np.ndarray, j: np.ndarray):
    """Product-manifold distances ``[P]`` between ground-truth rows ``i`` and ``j``."""
    squared = np.zeros(len(i))
    for k, factor in enumerate(spec):
        values = np.asarray(factor.values, dtype=np.float64)[factors[:, k]]
        if is_circular(factor.kind):
            step = wrapped_difference(
                2 * np.pi * values[i] / factor.period, 2 * np.pi * values[j] / factor.period
            ) / (2 * np.pi)
        elif is_discrete(factor.kind):
            step = (factors[i, k] != factors[j, k]).astype(np.float64)
        else:
            span = np.ptp(np.asarray(factor.values)) or 1.0
            step = (values[i] - values[j]) / span
        squared += step**2
    return np.sqrt(squared)


def latent_distances(codes: np.ndarray, groups: tuple[LatentGroup, ...], i, j) -> np.ndarray:
    """Product-manifold distances ``[P]`` between latent rows ``i`` and ``j``."""
    squared = np.zeros(len(i))
    for group in groups:
        block = codes[:, group.columns]
        reading = group.factor.reading
        if reading.ring is not None:
            theta = angle(block)
            squared += (reading.ring * wrapped_difference(theta[i], theta[j])) ** 2
        elif reading.snap:
            with torch.no_grad():
                snapped = group.factor.project(torch.from_numpy(block)).double().numpy()
            squared += ((snapped[i] - snapped[j]) ** 2).sum(axis=1)
        else:
            squared += ((block[i] - block[j]) ** 2).sum(axis=1)
    return np.sqrt(squared)


def kruskal_stress(latent: np.ndarray, true: np.ndarray) -> float:
    """Stress-1 after the best scale of ``latent``: ``sqrt(1 - <l,t>^2 / (|l|^2 |t|^2))``."""
    norm = float((latent**2).sum() * (true**2).sum())
    if norm == 0:
        return 1.0
    return float(np.sqrt(max(0.0, 1.0 - float(latent @ true) ** 2 / norm)))


def geodesic_stress(
    codes: np.ndarray,
    factors: np.ndarray,
    spec: tuple[Any, ...],
    groups: tuple[LatentGroup, ...],
    num_pairs: int = NUM_PAIRS,
    seed: int = 0,
) -> dict[str, float]:
    """``{"geodesic_stress"}`` of ambient ``codes [N, D]`` against ``factors [N, K]``."""
    ambient = as_codes(codes)
    indices = as_grid_indices(factors, spec)
    if len(ambient) != len(indices):
        raise ValueError(f"codes has {len(ambient)} rows, factors {len(indices)}")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(ambient), size=num_pairs)
    j = rng.integers(0, len(ambient), size=num_pairs)
    stress = kruskal_stress(
        latent_distances(ambient, groups, i, j), true_distances(indices, spec, i, j)
    )
    return {"geodesic_stress": stress}


def prior_distance(codes: np.ndarray, space: Any) -> dict[str, float]:
    """Mean Euclidean distance of ``codes [N, D]`` to ``space.project(codes)``, overall
    (``prior_distance``) and per latent factor (``prior_distance.<index>``)."""
    ambient = torch.from_numpy(as_codes(codes))
    with torch.no_grad():
        gap = (ambient - space.project(ambient)).double().numpy()
    scores = {"prior_distance": float(np.linalg.norm(gap, axis=1).mean())}
    for index, columns in enumerate(space.slices):
        scores[f"prior_distance.{index}"] = float(np.linalg.norm(gap[:, columns], axis=1).mean())
    return scores


@register_metric("geometry", suites=("topology",))
def _geometry_metric(inputs: MetricInputs) -> dict[str, float]:
    if inputs.spec is None:
        raise ValueError("geodesic stress needs the dataset's factor specs")
    scores = geodesic_stress(
        inputs.ambient_train, inputs.factors_train, inputs.spec, inputs.groups, seed=inputs.seed
    )
    if inputs.space is not None:
        scores.update(prior_distance(inputs.ambient_train, inputs.space))
    return scores
