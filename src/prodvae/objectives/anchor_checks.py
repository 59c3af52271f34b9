"""Whether a fitted start holds its factor: the checks :class:`~prodvae.objectives.anchor.Anchor`
runs on each block's layout before it anchors the codes there.

A loop's plane is a start when its coordinates lie on a ring, or when the pairs that change
the factor single that plane out (:func:`plane_specificity`); a loop's start that fails is
left unanchored, and the log names it. A segment's direction is always a start, and the log
names one that the pairs that keep its factor do not keep (:func:`kept_spread`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
from torch import Tensor

log = logging.getLogger("prodvae.objectives.anchor")  # the anchor's own log, as users filter it

#: A loop block's fitted radii vary less than this (coefficient of variation) when it found a
#: ring: the value of a uniformly filled disc, sqrt(1/18) / (2/3).
RING_SPREAD = math.sqrt(1 / 8)
#: A loop's plane that holds no ring is still a start for it when the pairs that change the
#: factor alone move the images in it this many times as much as the other pairs do (mean
#: squared projected difference, cross-fitted: :func:`plane_specificity`). Pairs that move
#: only noise give about 1 (0.86 to 1.07 on isotropic noise), a factor the images do not show
#: 0; at 32 px sprites' hue gives 4.3 to 6.1 (the recipe's seeds 0 to 4), orbit's loops 8 to
#: 160, sprites' rotation 0.5 to 1.1. A plane singled out only a little is no start: the hue of
#: a picture that also turns and moves (``benchmarks/unseen.py``'s ``symmetric`` file) gives
#: 1.6, and its block started there was left idle by the decoder (the hue read at 0.07 after
#: training), while its orbits, read from the images, teach it (0.996). So the bar lies
#: between the weakest plane seen to start its loop and the strongest seen to fail; a loop
#: below it is left to the orbit pull (:mod:`prodvae.objectives.orbit_pull`).
SPECIFIC = 3.0
#: A segment's start reads its factor alike across the other factors when the pairs that
#: keep the factor keep its coordinate; the log names one whose pairs that change one other
#: factor move it, in mean square, this share or more of what two images at random do
#: (:func:`kept_spread`; a start that reads the factor alone gives 0). Over 13 to 15 draws of
#: the anchor's pairs at 32 px, with pairs that change one factor (the recipe's): the built-in
#: data's segments 0.04 to 0.30 (orbit's scale the most), a zoom into four crops of two
#: photographs (``benchmarks/unseen.py``'s ``real`` file), whose one direction reads the zoom
#: one way for one crop and the other way for the rest, 0.43 to 0.52. With pairs that change
#: any number of factors (``num_changed: null``) the built-in starts are noisier, up to 0.39
#: (sprites' scale), and the zoom 0.44 to 0.54.
KEPT = 0.4


def check_changed(differences: Tensor, changed: Tensor, dims: Sequence[int]) -> None:
    """Raise unless ``changed`` is a flag ``[m, factors]`` per pair of ``differences [m, q]``."""
    if changed.dim() != 2 or changed.shape != (differences.shape[0], len(dims)):
        raise ValueError(
            f"anchor: changed must be bool [{differences.shape[0]}, {len(dims)}] (a flag per "
            f"pair and factor), got {list(changed.shape)}"
        )


def changes_alone(changed: Tensor) -> Tensor:
    """bool ``[m, factors]``: the factor each pair changes, for the pairs that change one."""
    changed = changed.bool()
    return changed & (changed.sum(-1, keepdim=True) == 1)


def leading_directions(rows: Tensor, dim: int) -> Tensor | None:
    """The ``dim`` leading right singular vectors ``[q, dim]`` (float64) of ``rows [m, q]``;
    None with fewer than ``dim`` rows."""
    if len(rows) < dim:
        return None
    _, _, vt = torch.linalg.svd(rows.double(), full_matrices=False)
    return vt[:dim].T


def plane_specificity(differences: Tensor, changed: Tensor, dims: Sequence[int]) -> list[float]:
    """Per factor, how much more the pairs that change it alone move the images in its plane
    than the pairs that keep it do: the ratio of their mean squared differences projected on
    the plane (``differences [m, q]``, ``changed`` bool ``[m, factors]``, ``dims[f]`` the
    plane's dimension). Cross-fitted: the plane is fitted on every other pair
    (:func:`changed_subspaces`' directions) and the ratio read on the rest, then the other way
    round, and the two ratios averaged -- a plane read on the pairs it was fitted on holds
    more of them than of any others even when they only move noise (on isotropic noise of
    3072 values, 2048 pairs: 14 to 16; cross-fitted: 0.86 to 1.07). 0 for a factor with too
    few pairs that change it alone, ``inf`` where the other pairs do not move the plane."""
    check_changed(differences, changed, dims)
    d, changed = differences.double(), changed.bool()
    only = changes_alone(changed)
    halves = torch.arange(len(d), device=d.device) % 2 == 0
    ratios = []
    for f, dim in enumerate(dims):
        scores = []
        for fit, read in ((halves, ~halves), (~halves, halves)):
            basis = leading_directions(d[fit & only[:, f]], dim)
            if basis is None or not bool((read & only[:, f]).any()):
                break
            energy = (d[read] @ basis).pow(2).sum(-1)
            own, others = energy[only[read, f]], energy[~changed[read, f]]
            if not len(others) or float(others.mean()) == 0.0:
                scores.append(math.inf)
            else:
                scores.append(float(own.mean() / others.mean()))
        ratios.append(sum(scores) / 2 if len(scores) == 2 else 0.0)
    return ratios


def kept_spread(
    differences: Tensor, changed: Tensor, blocks: Sequence[Tensor], coords: Sequence[Tensor]
) -> list[float]:
    """Per factor, how far the pairs that change one other factor (and keep it) move its
    start ``differences [m, q] @ blocks[f]``, as a share of two images at random: their mean
    squared difference over twice the variance of the images' coordinates ``coords[f] [n,
    dim]``. Pairs that change several factors do not count, so the share does not grow with
    how many a pair changes. 0 where no such pair keeps the factor or its start is flat."""
    check_changed(differences, changed, [block.shape[1] for block in blocks])
    if len(coords) != len(blocks):
        raise ValueError(f"anchor: {len(blocks)} blocks but {len(coords)} coordinates")
    single = changes_alone(changed).any(-1)
    ratios = []
    for f, (block, coord) in enumerate(zip(blocks, coords)):
        keep = single & ~changed[:, f].bool()
        variance = float((coord - coord.mean(0)).pow(2).sum(-1).mean())
        if not bool(keep.any()) or variance == 0.0:
            ratios.append(0.0)
            continue
        moved = (differences[keep] @ block.to(differences.dtype)).pow(2).sum(-1).mean()
        ratios.append(float(moved) / (2 * variance))
    return ratios


def warn_unkept(index: int, factor, ratio: float) -> None:
    """Name in the log a segment's start that the pairs that keep its factor move
    :data:`KEPT` or more of what two images at random do (:func:`kept_spread`)."""
    if ratio < KEPT:
        return
    log.warning(
        "anchor: the pairs that keep segment factor %d (%s) move its start %.2f times as much "
        "(mean square) as two images at random do (a start that reads the factor alone: near "
        "0; %.2f or more is named here) -- likely a direction of the images that reads it one "
        "way in some images and the other way in others, as a zoom can brighten one "
        "photograph and darken another; its codes start there, and training may keep that "
        "fold: check its block against the factor for each value of the others",
        index,
        factor.name,
        ratio,
        KEPT,
    )


def holds_layout(index: int, factor, coords: Tensor, specific: float | None = None) -> bool:
    """Whether factor ``index``'s fitted coordinates ``[n, dim]`` are a start for it: always,
    except a loop whose coordinates lie on no ring (their radii spread like a filled disc's)
    and whose plane its own pairs do not single out (``specific``: :func:`plane_specificity`,
    None without pairs that say what they change)."""
    if factor.reading.ring is None:
        return True
    radii = (coords - coords.mean(0)).norm(dim=-1)
    spread = (radii.std() / radii.mean()).item()
    if spread < RING_SPREAD:
        return True
    if specific is not None and specific >= SPECIFIC:
        log.info(
            "anchor: the images hold no ring for loop factor %d (%s) (the radii of its fitted "
            "plane vary by %.2f of their mean), but its pairs move the images in that plane "
            "%.1f times as much as the other pairs do: its codes start from the plane",
            index,
            factor.name,
            spread,
            specific,
        )
        return True
    why = (
        ""
        if specific is None
        else (
            f", and its pairs move the images in it only {specific:.2f} times as much as the "
            f"other pairs do (a start: >= {SPECIFIC})"
        )
    )
    log.warning(
        "anchor: the images hold no ring for loop factor %d (%s): the radii of its fitted "
        "plane vary by %.2f of their mean (a ring: < %.2f)%s; its codes are left unanchored",
        index,
        factor.name,
        spread,
        RING_SPREAD,
        why,
    )
    return False
