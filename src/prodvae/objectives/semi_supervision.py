"""Semi-supervision: pull a latent factor's posterior mean toward a labelled value.

Labels are float64 ``[batch, K]`` with NaN where an image is unlabelled. A ``label_map``
``{label column: latent factor index}`` says which latent factor each labelled ground-truth
factor drives. Label values must already be the latent factor's intrinsic coordinate: a
point index (0 … num_points - 1), a segment position in [-L, L], a loop angle in radians,
a Euclidean (dim 1) value. The pull is the energy of a Gaussian of the factor's width
around the target, ``‖mu_f - target‖² / (2 width²)`` (width 1 for Euclidean).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from prodvae.spaces import Factor, ProductSpace

Target = Callable[[Factor, Tensor], Tensor]
#: Label value ``[n]`` → target point ``[n, dim]``, per factor topology.
TARGETS: dict[str, Target] = {}


def register_target(topology: str) -> Callable[[Target], Target]:
    def decorate(fn: Target) -> Target:
        TARGETS[topology] = fn
        return fn

    return decorate


@register_target("points")
def point_target(factor: Factor, value: Tensor) -> Tensor:
    index = value.round().long().clamp(0, factor.num_points - 1)
    return factor.points.to(value)[index][:, None]


@register_target("segment")
def segment_target(factor: Factor, value: Tensor) -> Tensor:
    return value.clamp(-factor.half_length, factor.half_length)[:, None]


@register_target("loop")
def loop_target(factor: Factor, value: Tensor) -> Tensor:
    return factor.radius * torch.stack([torch.cos(value), torch.sin(value)], dim=-1)


@register_target("euclidean")
def euclidean_target(factor: Factor, value: Tensor) -> Tensor:
    if factor.dim != 1:
        raise ValueError(f"semi-supervision: a Euclidean factor must have dim 1, got {factor.dim}")
    return value[:, None]


def check_label_map(space: ProductSpace, label_map: Mapping[int, int]) -> None:
    """Raise ``ValueError`` unless every target factor exists and can be supervised."""
    for column, index in label_map.items():
        if not 0 <= index < space.num_factors:
            raise ValueError(
                f"label_map: latent factor {index} (for label column {column}) is out of "
                f"range [0, {space.num_factors})"
            )
        factor = space.factors[index]
        if factor.topology not in TARGETS:
            raise ValueError(f"label_map: cannot supervise a {factor.name!r} factor")
        if factor.topology == "euclidean" and factor.dim != 1:
            raise ValueError("label_map: a supervised Euclidean factor must have dim 1")


def supervised_pull(
    space: ProductSpace, mu: Tensor, labels: Tensor, label_map: Mapping[int, int]
) -> Tensor:
    """Sum over supervised factors of the pull, summed over labelled rows / batch size."""
    total = mu.new_zeros(())
    parts = space.split(mu)
    for column, index in label_map.items():
        if column >= labels.shape[1]:
            raise ValueError(f"label_map: label column {column} >= labels width {labels.shape[1]}")
        factor, value = space.factors[index], labels[:, column]
        labelled = ~torch.isnan(value)
        if not labelled.any():
            continue
        target = TARGETS[factor.topology](factor, value[labelled].to(mu.dtype))
        width = getattr(factor, "width", 1.0)
        distance = ((parts[index][labelled] - target) ** 2).sum(-1)
        total = total + (distance / (2 * width**2)).sum() / mu.shape[0]
    return total
