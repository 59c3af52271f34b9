"""Semi-supervision: pull a latent factor's posterior mean toward a labelled value.

Labels are float64 ``[batch, K]`` with NaN where an image is unlabelled. A ``label_map``
``{label column: latent factor index}`` says which latent factor each labelled ground-truth
factor drives. :func:`supervised_pull` takes label values in the latent factor's intrinsic
coordinate: a point index (0 … num_points - 1), a segment position in [-L, L], a loop angle
in radians, a Euclidean (dim 1) value. The trainer's labels are the data's factor values (a
hue in [0, 1), a position in [0, 1], an index or a value of a shape): :func:`latent_labels`
maps them there from each factor's :class:`~prodvae.data.FactorSpec`: onto a points factor,
the index of the nearest grid value; a loop's values as turns of its period times its
images' symmetry (a square turned by a quarter turn is the same image, so the same target)
-- onto a ring, that many turns of it, onto a segment or a Euclidean factor once round
stretched over [-L, L] or [-1, 1]; a range that is not a loop stretched over [-L, L] or
[-1, 1] likewise, or over half a turn of a ring (its ends kept apart); a kind registered
elsewhere gets the data's values as they are. :func:`supervised_pull` called directly (not
through the trainer, which prepares the objective on the data) takes its labels as latent
coordinates already. The pull is the energy of a Gaussian of the
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


def latent_coordinate(
    value: Tensor, spec: FactorSpec, factor: Factor, fold: Tensor | int = 1
) -> Tensor:
    """A ground-truth factor's values ``value [n]`` (NaN where unlabelled, kept) in the
    intrinsic coordinate of the latent ``factor`` it supervises, ``[n]`` (see the module's
    docstring). A loop's values count turns of its period, times ``fold`` (``[n]`` or one
    number: the images' symmetry, so that two values that draw the same image get the same
    target); any other factor's values are placed by its grid, and without two grid values
    they are kept as they are."""
    grid = spec.values
    if spec.kind == "loop":
        assert spec.period is not None
        start = grid[0] if grid else 0.0
        turns = (value - start) * fold / spec.period
        if isinstance(factor, Loop):
            return 2 * math.pi * turns
        unit = torch.remainder(turns, 1.0)  # once round the loop as [0, 1)
    elif len(grid) < 2:
        return value
    else:
        low, high = min(grid), max(grid)
        unit = (value - low) / (high - low)  # the grid's range as [0, 1]
    if isinstance(factor, PointSet) and grid:
        return torch.where(value.isnan(), value, grid_index(spec, value).to(value.dtype))
    if isinstance(factor, Segment):
        return (2 * unit - 1) * factor.half_length
    if isinstance(factor, Loop):
        return unit * math.pi  # half a turn: the two ends of a range stay apart
    if isinstance(factor, Euclidean):
        return 2 * unit - 1
    return value  # a kind of its own: its label_target reads the data's values


def image_folds(labels: Tensor, specs: Sequence[FactorSpec], column: int) -> Tensor | int:
    """How many times factor ``column``'s images repeat in one period, for each row of
    ``labels`` (``symmetry_given``: by the value of the factor it names) or for all
    (``symmetry``)."""
    spec = specs[column]
    if spec.symmetry_given is None:
        return spec.symmetry
    name, folds = spec.symmetry_given
    other = next(k for k, s in enumerate(specs) if s.name == name)
    index = grid_index(specs[other], labels[:, other])
    return torch.tensor(folds, dtype=labels.dtype, device=labels.device)[index]


def grid_index(spec: FactorSpec, value: Tensor) -> Tensor:
    """The index of the grid value nearest each of ``value [n]``, round the loop for a loop
    (:meth:`~prodvae.data.FactorSpec.index_of`), ``int64 [n]`` on ``value``'s device."""
    index = spec.index_of(value.detach().cpu().numpy())
    return torch.from_numpy(index).to(value.device)


def check_labelled_factors(
    specs: Sequence[FactorSpec], space: ProductSpace, label_map: Mapping[int, int]
) -> None:
    """Raise ``ValueError`` naming the first label column that the data lacks, that takes one
    value, that has more values than its points factor has points, or whose symmetry names
    a factor the data lacks."""
    names = [s.name for s in specs]
    for column, index in label_map.items():
        if not 0 <= column < len(specs):
            raise ValueError(
                f"label_map: column {column} is not a factor of the data "
                f"({len(specs)} factors: {', '.join(names)})"
            )
        spec, factor = specs[column], space.factors[index]
        if spec.size == 1:
            raise ValueError(
                f"label_map: column {column} ({spec.name}) takes one value: nothing to learn"
            )
        if isinstance(factor, PointSet) and spec.size > factor.num_points:
            raise ValueError(
                f"label_map: column {column} ({spec.name}) takes {spec.size} values, latent "
                f"factor {index} has {factor.num_points} points"
            )
        if spec.symmetry_given is not None and spec.symmetry_given[0] not in names:
            raise ValueError(
                f"label_map: column {column} ({spec.name}) repeats by factor "
                f"{spec.symmetry_given[0]!r}, which the data lacks"
            )


def latent_labels(
    labels: Tensor,
    specs: Sequence[FactorSpec],
    space: ProductSpace,
    label_map: Mapping[int, int],
) -> Tensor:
    """The data's factor values ``labels [batch, K]`` with every column of ``label_map`` in
    its latent factor's intrinsic coordinate (:func:`latent_coordinate`, a loop's turns
    times its images' :func:`image_folds`); ``specs`` are the data's K factors."""
    if labels.shape[1] != len(specs):
        raise ValueError(
            f"latent_labels: labels have {labels.shape[1]} columns, the data {len(specs)} factors"
        )
    columns = list(labels.unbind(1))
    for column, index in label_map.items():
        folds = image_folds(labels, specs, column)
        columns[column] = latent_coordinate(
            labels[:, column], specs[column], space.factors[index], folds
        )
    return torch.stack(columns, 1)
