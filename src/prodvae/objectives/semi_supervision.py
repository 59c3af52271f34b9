"""Semi-supervision: pull a latent factor's posterior mean toward a labelled value.

Labels are float64 ``[batch, K]`` with NaN where an image is unlabelled. A ``label_map``
``{label column: latent factor index}`` says which latent factor each labelled ground-truth
factor drives. Label values must already be the latent factor's intrinsic coordinate: a
point index (0 … num_points - 1), a segment position in [-L, L], a loop angle in radians,
a Euclidean (dim 1) value. The pull is the energy of a Gaussian of the factor's width
around the target, ``‖mu_f - target‖² / (2 width²)`` (width 1 for Euclidean). Each factor
kind gives its target and width (:meth:`~prodvae.spaces.Factor.label_target`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from prodvae.spaces import ProductSpace


def check_label_map(space: ProductSpace, label_map: Mapping[int, int]) -> None:
    """Raise ``ValueError`` unless every target factor exists and can be supervised (it gives
    a target for an empty batch of labels)."""
    for column, index in label_map.items():
        if not 0 <= index < space.num_factors:
            raise ValueError(
                f"label_map: latent factor {index} (for label column {column}) is out of "
                f"range [0, {space.num_factors})"
            )
        try:
            space.factors[index].label_target(torch.zeros(0, dtype=torch.float64))
        except ValueError as error:
            raise ValueError(f"label_map: {error}") from None


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
        target = factor.label_target(value[labelled].to(mu.dtype))
        distance = ((parts[index][labelled] - target) ** 2).sum(-1)
        total = total + (distance / (2 * factor.label_width**2)).sum() / mu.shape[0]
    return total
