"""How much each latent unit tells about each ground-truth factor: normalised MI.

A latent *unit* is one intrinsic coordinate: a loop (or a 2-D tilted block) is one unit,
its angle, never two unrelated ambient numbers; a point set is the index of its nearest
point; a segment is its code; each axis of a Euclidean block is a unit of its own. The
association of ground-truth factor ``k`` with unit ``u`` is ``I(f_k; u) / H(f_k)`` in [0, 1]
(the NMI of InfoMEC, Hsu et al. 2023), with codes in 20 equal-width bins as in
disentanglement_lib's MIG and factors as grid class indices.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from prodvae.data import FactorSpec
from prodvae.data.factor_bins import factor_matrix
from prodvae.spaces import ProductSpace
from prodvae.viz.canvas import Box, FigureFile, add_axes_px, figure_style, new_figure, save_png

NUM_BINS = 20
#: Narrowest heat map figure in pixels (room for the title).
MIN_WIDTH = 440


class LatentUnits(NamedTuple):
    """Intrinsic latent coordinates of a batch of codes."""

    names: list[str]  # [U], e.g. "z0 loop angle"
    values: np.ndarray  # [N, U] float64
    factor_of_unit: list[int]  # [U] latent factor each unit belongs to
    periodic: list[bool]  # [U] True for angles in (-pi, pi]
    discrete: list[bool]  # [U] True for point indices


def latent_units(space: ProductSpace, codes: Tensor | np.ndarray) -> LatentUnits:
    """The latent units of ``codes [N, dim]`` (posterior means) in factor order."""
    codes = torch.as_tensor(np.asarray(codes), dtype=torch.float64)
    if codes.dim() != 2 or codes.shape[1] != space.dim:
        raise ValueError(f"codes must have shape [N, {space.dim}], got {list(codes.shape)}")
    if not torch.isfinite(codes).all():
        raise ValueError("codes contain non-finite values")
    names, columns, owners, periodic, discrete = [], [], [], [], []
    for index, (factor, block) in enumerate(zip(space.factors, space.split(codes))):
        reading = factor.reading
        if reading.is_angle:
            parts = [("angle", torch.atan2(block[:, 1], block[:, 0]))]
        elif reading.is_index:
            parts = [("point", factor.coordinate(block).to(torch.float64))]
        elif factor.dim == 1:
            parts = [("value", block[:, 0])]
        else:
            parts = [(f"axis {axis}", block[:, axis]) for axis in range(factor.dim)]
        for part, column in parts:
            names.append(f"z{index} {factor.name} {part}")
            columns.append(column.numpy())
            owners.append(index)
            periodic.append(reading.is_angle)
            discrete.append(reading.is_index)
    values = np.stack(columns, axis=1) if columns else np.zeros((len(codes), 0))
    return LatentUnits(names, values, owners, periodic, discrete)


def discretize(values: np.ndarray, low: float, high: float, num_bins: int = NUM_BINS) -> np.ndarray:
    """Equal-width bin indices ``[N]`` in ``0..num_bins-1`` over ``[low, high]``."""
    if not high > low:
        return np.zeros(len(values), dtype=np.int64)
    scaled = (values - low) / (high - low) * num_bins
    return np.clip(np.floor(scaled), 0, num_bins - 1).astype(np.int64)


def unit_classes(units: LatentUnits) -> np.ndarray:
    """Each unit as class indices ``[N, U]``: bins (angles over a full turn) or point indices."""
    classes = np.zeros(units.values.shape, dtype=np.int64)
    for u in range(units.values.shape[1]):
        column = units.values[:, u]
        if units.discrete[u]:
            classes[:, u] = np.unique(column, return_inverse=True)[1]
        elif units.periodic[u]:
            classes[:, u] = discretize(column, -math.pi, math.pi)
        else:
            classes[:, u] = discretize(column, float(column.min()), float(column.max()))
    return classes


def factor_classes(factors: Tensor | np.ndarray, spec: tuple[FactorSpec, ...]) -> np.ndarray:
    """Ground-truth factor values ``[N, K]`` as class indices ``[N, K]``.

    Grid factors map to the nearest grid value; factors without listed values are binned
    (loops over one period).
    """
    values = factor_matrix(factors, spec, "factors")
    classes = np.zeros(values.shape, dtype=np.int64)
    for k, factor in enumerate(spec):
        column = values[:, k]
        if factor.values:
            classes[:, k] = factor.index_of(column)
        elif factor.period is not None:
            classes[:, k] = discretize(np.mod(column, factor.period), 0.0, factor.period)
        else:
            classes[:, k] = discretize(column, float(column.min()), float(column.max()))
    return classes


def entropy(classes: np.ndarray) -> float:
    """Empirical entropy in nats of class indices ``[N]``."""
    p = np.bincount(classes) / len(classes)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information in nats between class indices ``a [N]`` and ``b [N]``."""
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= len(a)
    outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    nonzero = joint > 0
    return float(max(0.0, (joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])).sum()))


def association_matrix(factor_ids: np.ndarray, unit_ids: np.ndarray) -> np.ndarray:
    """``[K, U]`` matrix of ``I(f_k; u) / H(f_k)`` (0 for a constant factor)."""
    if len(factor_ids) != len(unit_ids) or len(factor_ids) == 0:
        raise ValueError(
            f"factors ({len(factor_ids)}) and codes ({len(unit_ids)}) must have the same, "
            "non-zero number of rows"
        )
    num_factors, num_units = factor_ids.shape[1], unit_ids.shape[1]
    matrix = np.zeros((num_factors, num_units))
    for k in range(num_factors):
        h = entropy(factor_ids[:, k])
        if h > 0:
            for u in range(num_units):
                matrix[k, u] = mutual_information(factor_ids[:, k], unit_ids[:, u]) / h
    return np.clip(matrix, 0.0, 1.0)


class Association(NamedTuple):
    """The ground-truth x latent association and each latent factor's best match."""

    matrix: np.ndarray  # [K, U]
    factor_names: list[str]  # [K] "name (kind)"
    units: LatentUnits
    best_factor: list[int]  # [num latent factors] ground-truth factor with the highest NMI


def associate(
    space: ProductSpace,
    codes: Tensor | np.ndarray,
    factors: Tensor | np.ndarray,
    spec: tuple[FactorSpec, ...],
) -> Association:
    """Normalised MI between every ground-truth factor and every latent unit."""
    units = latent_units(space, codes)
    matrix = association_matrix(factor_classes(factors, spec), unit_classes(units))
    owners = np.asarray(units.factor_of_unit)
    best = [int(matrix[:, owners == f].max(axis=1).argmax()) for f in range(space.num_factors)]
    names = [f"{factor.name} ({factor.kind})" for factor in spec]
    return Association(matrix, names, units, best)


def plot_association(association: Association, path: Path | str) -> FigureFile:
    """Heat map of the association matrix, ground-truth factors by latent units, annotated."""
    matrix = association.matrix
    num_factors, num_units = matrix.shape
    cell = 46
    left, top, right, bottom = 150, 56, 90, 130
    box = Box(left, top, cell * num_units, cell * num_factors)
    with figure_style():
        width = max(MIN_WIDTH, left + int(box.width) + right)
        fig = new_figure(width, top + int(box.height) + bottom)
        axes = add_axes_px(fig, box)
        image = axes.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        for (k, u), value in np.ndenumerate(matrix):
            colour = "black" if value > 0.6 else "white"
            axes.text(u, k, f"{value:.2f}", ha="center", va="center", color=colour, fontsize=8)
        axes.set_xticks(range(num_units), association.units.names, rotation=45, ha="right")
        axes.set_yticks(range(num_factors), association.factor_names)
        axes.set_xlabel("latent unit")
        axes.set_ylabel("ground-truth factor")
        fig.suptitle(
            "Ground truth x latent association\n"
            "normalised mutual information I(factor; unit) / H(factor)",
            fontsize=10,
        )
        colorbar_box = Box(left + box.width + 14, top, 14, box.height)
        bar = fig.colorbar(image, cax=add_axes_px(fig, colorbar_box))
        bar.set_label("NMI")
        return save_png(fig, path)
