"""Semi-supervision: pull a latent factor's posterior mean toward a labelled value.

Labels are float64 ``[batch, K]`` with NaN where an image is unlabelled. A ``label_map``
``{label column: latent factor index}`` says which latent factor each labelled ground-truth
factor drives. :func:`supervised_pull` takes label values in the latent factor's intrinsic
coordinate: a point index (0 … num_points - 1), a segment position in [-L, L], a loop angle
in radians, a Euclidean (dim 1) value. The trainer's labels are the data's factor values (a
hue in [0, 1), a position in [0, 1], an index or a value of a shape): :func:`latent_labels`
maps them there from each factor's :class:`~prodvae.data.FactorSpec` -- a loop's values by
``2π / period``; onto a points factor, the index of the nearest grid value; onto a segment,
the grid's range stretched over [-L, L]; onto a ring, a range that is not a loop over half
a turn (its ends kept apart); onto a Euclidean factor, over [-1, 1]; a kind registered
elsewhere gets the data's values as they are. The pull is the energy of a Gaussian of the
factor's width around the target, ``‖mu_f - target‖² / (2 width²)`` (width 1 for
Euclidean). Each factor kind gives its target and width
(:meth:`~prodvae.spaces.Factor.label_target`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from prodvae.data import FactorSpec
from prodvae.spaces import Euclidean, Factor, Loop, PointSet, ProductSpace, Segment


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


def latent_coordinate(value: Tensor, spec: FactorSpec, factor: Factor) -> Tensor:
    """A ground-truth factor's values ``value [n]`` (NaN where unlabelled, kept) in the
    intrinsic coordinate of the latent ``factor`` it supervises, ``[n]`` (see the module's
    docstring). A factor without grid values, or with one, keeps its values as they are
    (a loop's need only its period)."""
    grid = torch.tensor(spec.values, dtype=value.dtype, device=value.device)
    if isinstance(factor, Loop) and spec.kind == "loop":
        assert spec.period is not None
        return value * (2 * math.pi / spec.period)
    if len(grid) < 2:
        return value
    if isinstance(factor, PointSet):
        gap = value[:, None] - grid
        if spec.period is not None:
            gap = torch.remainder(gap + spec.period / 2, spec.period) - spec.period / 2
        index = gap.abs().argmin(-1).to(value.dtype)
        return torch.where(value.isnan(), value, index)
    low, high = grid.min(), grid.max()
    unit = (value - low) / (high - low)  # the grid's range as [0, 1]
    if isinstance(factor, Segment):
        return (2 * unit - 1) * factor.half_length
    if isinstance(factor, Loop):
        return unit * math.pi
    if isinstance(factor, Euclidean):
        return 2 * unit - 1
    return value  # a kind of its own: its label_target reads the data's values


def latent_labels(
    labels: Tensor,
    specs: Sequence[FactorSpec],
    space: ProductSpace,
    label_map: Mapping[int, int],
) -> Tensor:
    """The data's factor values ``labels [batch, K]`` with every column of ``label_map`` in
    its latent factor's intrinsic coordinate (:func:`latent_coordinate`); ``specs`` are the
    data's K factors."""
    if labels.shape[1] != len(specs):
        raise ValueError(
            f"latent_labels: labels have {labels.shape[1]} columns, the data {len(specs)} factors"
        )
    columns = list(labels.unbind(1))
    for column, index in label_map.items():
        columns[column] = latent_coordinate(columns[column], specs[column], space.factors[index])
    return torch.stack(columns, 1)
