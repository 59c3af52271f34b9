"""A linear starting layout for the codes: principal components of the images.

A loop's encoder can settle on a map that does not go once round its factor (folded onto an
arc, or cutting across the ring's centre for part of the turn; Esmaeili et al., NeurIPS 2023),
and which way it goes is decided in the first hundred steps, by chance. On the ``torus`` dial
with one hand moving, about 6 seeds in 16 went once round; the held-out loss did not tell them
from the others (``benchmarks/README.md``). The images themselves hold a map that does: images
of a rotating pattern have a covariance that is unchanged by the rotation, so their principal
components come in (cos kθ, sin kθ) pairs, and the first pair of smooth-enough images is the
first harmonic, k = 1 (on the dial's 32 px images: circular alignment 0.97 and 0.98 for the
two hands). :class:`Anchor` pulls the posterior means toward such a layout for the first steps
of training and then lets go, as t-SNE and UMAP embeddings start from PCA to keep the global
structure that random starts lose (Kobak & Linderman, Nature Biotechnology 2021).

With several factors the leading components mix them (on the dial, the first four split
0.67/0.57 between the hands). Pairs of images that differ in one factor separate them: the
difference of a pair lies in the changed factor's subspace, so :func:`pair_subspaces` finds
one subspace per latent factor by k-subspace clustering of the pairs' differences (Bradley &
Mangasarian 2000), using the same weak supervision as Ada-GVAE. The clusters come in no
particular order; where the pairs say which factor they change (``changed: known``, latent
factor k = factor k) that account is used instead: factor k's subspace is spanned by the
leading directions of the differences of the pairs that change it alone
(:func:`changed_subspaces`), so block k starts on factor k's own layout and not on another
factor's, which the pairs would then have to undo. Without pairs the components are taken in
order, which leaves factors mixed where their variances are close.

A linear layout only holds a loop whose images turn like a pattern; a hue cycle of a moving
sprite, or a camera orbit, need not put any plane of the images on a ring: the fitted
coordinates' radii about the centre vary as much as those of a uniformly filled disc,
coefficient of variation ``sqrt(1/8) ~= 0.354``, or more (a ring of width ``w`` and radius
``R`` has about ``w / R``, a Gaussian blob of noise 0.52). Such a plane can still hold the
factor: where the pairs say what they change, it is the plane in which the factor's own pairs
move the images, and a block started there carries the factor (a sprite's hue, whose block
pairs alone never teach: the decoder ignores an idle block, and an ignored block gets no
gradient), which the ring prior then spreads round its ring. So a loop whose plane holds no
ring is anchored when its pairs move the images in it at least :data:`SPECIFIC` times as much
as the other pairs do (:func:`plane_specificity`), and left unanchored otherwise -- without
pairs that say what they change, or for a factor the images barely show, the plane is noise;
the log names each such loop (:attr:`Anchor.anchored`).
:func:`anchor_images` draws the training images (and pairs) a layout is fitted on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset, sample_pairs
from prodvae.spaces import ProductSpace

log = logging.getLogger(__name__)

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
#: A segment's start holds its factor only if the pairs that keep the factor keep its
#: coordinate: their mean squared difference there, over twice the coordinate's variance
#: (:func:`kept_spread`), is under this. Two images drawn at random give 1, a start that
#: reads the factor alone 0. The built-in data's segments give 0.04 to 0.26 (orbit's scale
#: the most); a zoom into four photographs (``benchmarks/unseen.py``'s ``real`` file), whose
#: one linear direction reads the zoom one way for one photograph and the other way for the
#: rest, 0.45 to 0.52 -- a start that folds the segment by photograph, which training kept
#: in one seed of five.
KEPT = 0.35
#: Training images (and pairs, for objectives trained on pairs) a layout is fitted on.
ANCHOR_IMAGES, ANCHOR_PAIRS = 1024, 2048


def _flat(images: Tensor, name: str) -> Tensor:
    """Images ``[n, C, H, W]`` as finite float64 rows ``[n, C*H*W]``."""
    if images.dim() != 4:
        raise ValueError(f"anchor: {name} must be images [n, C, H, W], got {list(images.shape)}")
    rows = images.reshape(images.shape[0], -1).double()
    if not torch.isfinite(rows).all():
        raise ValueError(f"anchor: {name} contain NaN or infinite values")
    return rows


def principal_directions(rows: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Mean ``[d]`` and the ``k`` leading principal directions ``[d, k]`` of ``rows [n, d]``."""
    if not 1 <= k <= min(rows.shape):
        raise ValueError(
            f"anchor: {k} components need at least {k} images of at least {k} values, "
            f"got {list(rows.shape)}"
        )
    mean = rows.mean(0)
    _, _, vt = torch.linalg.svd(rows - mean, full_matrices=False)
    return mean, vt[:k].T


def pair_subspaces(
    differences: Tensor,
    dims: Sequence[int],
    restarts: int = 10,
    iterations: int = 50,
    generator: torch.Generator | None = None,
) -> list[Tensor]:
    """One orthonormal basis ``[q, dims[f]]`` per factor, from pair differences ``[n, q]``.

    k-subspace clustering: each difference is assigned to the subspace that holds most of its
    energy, and each subspace is refitted as the leading eigenvectors of its differences'
    second moments; the best of ``restarts`` random starts (least energy left outside the
    assigned subspaces) is kept.
    """
    q = differences.shape[1]
    if sum(dims) > q:
        raise ValueError(f"anchor: subspaces of dimensions {list(dims)} do not fit in {q}")
    d = differences.double()
    best: tuple[float, list[Tensor]] | None = None
    for _ in range(restarts):
        start = torch.linalg.qr(torch.randn(q, q, generator=generator, dtype=d.dtype))[0]
        bases = list(start.split(list(dims) + [q - sum(dims)], dim=1)[: len(dims)])
        for _ in range(iterations):
            energy = torch.stack([(d @ b).pow(2).sum(-1) for b in bases], dim=-1)
            owner = energy.argmax(-1)
            refitted = []
            for f, b in enumerate(bases):
                mine = d[owner == f]
                if len(mine) < dims[f]:  # an empty cluster keeps its basis
                    refitted.append(b)
                    continue
                refitted.append(torch.linalg.eigh(mine.T @ mine)[1][:, -dims[f] :])
            bases = refitted
        energy = torch.stack([(d @ b).pow(2).sum(-1) for b in bases], dim=-1)
        left = (d.pow(2).sum(-1) - energy.max(-1).values).sum().item()
        if best is None or left < best[0]:
            best = (left, bases)
    assert best is not None
    return best[1]


def changed_subspaces(differences: Tensor, changed: Tensor, dims: Sequence[int]) -> list[Tensor]:
    """One orthonormal basis ``[q, dims[f]]`` per factor from pair differences ``[m, q]`` and
    ``changed`` (bool ``[m, factors]``): the leading right singular vectors of the differences
    of the pairs that change factor ``f`` and no other. A factor with fewer than ``dims[f]``
    such pairs gets a zero basis (left unanchored, and named in the log)."""
    _check_changed(differences, changed, dims)
    alone = _alone(changed)
    bases = []
    for f, dim in enumerate(dims):
        basis = _leading_directions(differences[alone[:, f]], dim)
        if basis is None:
            log.warning(
                "anchor: %d pairs change factor %d alone (%d needed): its codes are left "
                "unanchored",
                int(alone[:, f].sum()),
                f,
                dim,
            )
            basis = torch.zeros(differences.shape[1], dim, dtype=torch.float64)
        bases.append(basis)
    return bases


def _check_changed(differences: Tensor, changed: Tensor, dims: Sequence[int]) -> None:
    """Raise unless ``changed`` is a flag ``[m, factors]`` per pair of ``differences [m, q]``."""
    if changed.dim() != 2 or changed.shape != (differences.shape[0], len(dims)):
        raise ValueError(
            f"anchor: changed must be bool [{differences.shape[0]}, {len(dims)}] (a flag per "
            f"pair and factor), got {list(changed.shape)}"
        )


def _alone(changed: Tensor) -> Tensor:
    """bool ``[m, factors]``: the factor each pair changes, for the pairs that change one."""
    changed = changed.bool()
    return changed & (changed.sum(-1, keepdim=True) == 1)


def _leading_directions(rows: Tensor, dim: int) -> Tensor | None:
    """The ``dim`` leading right singular vectors ``[q, dim]`` (float64) of ``rows [m, q]``;
    None with fewer than ``dim`` rows."""
    if len(rows) < dim:
        return None
    _, _, vt = torch.linalg.svd(rows.double(), full_matrices=False)
    return vt[:dim].T


class Anchor:
    """A linear map from images to a starting layout of the codes, ``target(x) [n, dim]``.

    Each factor's block is an affine image of its principal coordinates, shifted to the
    prior's mean and scaled so that its mean squared spread equals the prior's (for a ring of
    radius R: centred, root mean square radius about R). Fit with :meth:`fit`. ``anchored``
    ``[dim]`` (bool) marks the code dimensions the layout holds (default: all); the others are
    left to training (:meth:`gap`).
    """

    def __init__(
        self, mean: Tensor, weight: Tensor, offset: Tensor, anchored: Tensor | None = None
    ) -> None:
        self.mean, self.weight, self.offset = mean, weight, offset
        self.anchored = (
            torch.ones(weight.shape[1], dtype=torch.bool) if anchored is None else anchored
        )
        self._converted: dict[tuple[torch.device, torch.dtype], tuple[Tensor, ...]] = {}

    @classmethod
    def fit(
        cls,
        space: ProductSpace,
        images: Tensor,
        pairs: tuple[Tensor, Tensor] | None = None,
        generator: torch.Generator | None = None,
        changed: Tensor | None = None,
    ) -> Anchor:
        """Principal directions of ``images [n, C, H, W]`` in [0, 1], one group per factor.

        ``pairs`` (first and second images ``[m, C, H, W]`` of pairs that differ in a few
        factors) splits the leading ``space.dim`` components into one subspace per factor
        (:func:`pair_subspaces`); without it factor ``f`` takes the next ``dim_f`` components.
        ``changed`` (bool ``[m, num_factors]``, the pairs' own account of what they change,
        latent factor ``f`` = the ``f``-th factor) gives factor ``f`` the leading directions of
        the differences of the pairs that change it alone (:func:`changed_subspaces`), in the
        space's order, instead of clustering.
        """
        if not isinstance(space, ProductSpace):
            raise ValueError(f"anchor: space must be a ProductSpace, got {type(space).__name__}")
        rows = _flat(images, "images")
        dims = [f.dim for f in space.factors]
        specific: list[float] | None = None
        if pairs is None:
            if changed is not None:
                raise ValueError("anchor: changed needs the pairs it describes")
            mean, directions = principal_directions(rows, space.dim)
            blocks = list(directions.split(dims, dim=1))
        else:
            first, second = (_flat(p, "pairs") for p in pairs)
            if first.shape != second.shape or first.shape[1] != rows.shape[1]:
                raise ValueError(
                    f"anchor: pairs must be two equal batches of images like images "
                    f"{list(images.shape[1:])}, got {list(pairs[0].shape)} and "
                    f"{list(pairs[1].shape)}"
                )
            if changed is None:
                mean, directions = principal_directions(torch.cat([rows, first, second]), space.dim)
                bases = pair_subspaces((first - second) @ directions, dims, generator=generator)
                blocks = [directions @ b for b in bases]
            else:
                mean = torch.cat([rows, first, second]).mean(0)
                differences = first - second
                blocks = changed_subspaces(differences, changed, dims)
                specific = plane_specificity(differences, changed, dims)
        projected = [(rows - mean) @ b for b in blocks]
        kept = None if specific is None else kept_spread(first - second, changed, blocks, projected)
        weights, offsets, anchored = [], [], []
        for index, (factor, block, coords) in enumerate(zip(space.factors, blocks, projected)):
            ratio = None if specific is None else specific[index]
            holds = bool(block.abs().sum() > 0) and _holds_layout(index, factor, coords, ratio)
            if holds and kept is not None and factor.reading.kinds == ("segment",):
                holds = _kept(index, factor, kept[index])
            anchored.append(torch.full((factor.dim,), holds))
            centre, spread = factor.moments()
            variance = (coords - coords.mean(0)).pow(2).sum(-1).mean()
            scale = (spread / variance).sqrt() if variance > 0 else variance  # 0: no layout
            weights.append(block * scale)
            offsets.append(centre - coords.mean(0) * scale)
        return cls(mean, torch.cat(weights, dim=1), torch.cat(offsets), torch.cat(anchored))

    def gap(self, codes: Tensor, images: Tensor) -> Tensor:
        """Mean squared distance ``[]`` of ``codes [n, dim]`` to the layout of ``images``,
        over the anchored dimensions."""
        mask = self.anchored.to(codes.device, codes.dtype)
        return ((codes - self(images)).pow(2) * mask).sum(-1).mean()

    def __call__(self, images: Tensor) -> Tensor:
        """Targets ``[n, dim]`` for images ``[n, C, H, W]`` (in the images' dtype and device)."""
        rows = images.reshape(images.shape[0], -1)
        if rows.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"anchor: fitted on images of {self.mean.shape[0]} values, got {list(images.shape)}"
            )
        key = (images.device, images.dtype)
        if key not in self._converted:  # once per device and dtype, not once per step
            self._converted[key] = tuple(
                t.to(images.device, images.dtype) for t in (self.mean, self.weight, self.offset)
            )
        mean, weight, offset = self._converted[key]
        return (rows - mean) @ weight + offset


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
    _check_changed(differences, changed, dims)
    d, changed = differences.double(), changed.bool()
    alone = _alone(changed)
    halves = torch.arange(len(d), device=d.device) % 2 == 0
    ratios = []
    for f, dim in enumerate(dims):
        scores = []
        for fit, read in ((halves, ~halves), (~halves, halves)):
            basis = _leading_directions(d[fit & alone[:, f]], dim)
            if basis is None or not bool((read & alone[:, f]).any()):
                break
            energy = (d[read] @ basis).pow(2).sum(-1)
            own, others = energy[alone[read, f]], energy[~changed[read, f]]
            if not len(others) or float(others.mean()) == 0.0:
                scores.append(math.inf)
            else:
                scores.append(float(own.mean() / others.mean()))
        ratios.append(sum(scores) / 2 if len(scores) == 2 else 0.0)
    return ratios


def kept_spread(
    differences: Tensor, changed: Tensor, blocks: Sequence[Tensor], coords: Sequence[Tensor]
) -> list[float]:
    """Per factor, how far the pairs that keep it (``changed[:, f]`` false) move its start
    ``differences [m, q] @ blocks[f]``, as a share of two images at random: their mean squared
    difference over twice the variance of the images' coordinates ``coords[f] [n, dim]``. 0
    where nothing keeps the factor or its start is flat."""
    ratios = []
    for f, (block, coord) in enumerate(zip(blocks, coords)):
        keep = ~changed[:, f].bool()
        variance = float((coord - coord.mean(0)).pow(2).sum(-1).mean())
        if not bool(keep.any()) or variance == 0.0:
            ratios.append(0.0)
            continue
        moved = (differences[keep] @ block.to(differences.dtype)).pow(2).sum(-1).mean()
        ratios.append(float(moved) / (2 * variance))
    return ratios


def _kept(index: int, factor, ratio: float) -> bool:
    """Whether a segment's start is kept by the pairs that keep its factor (:data:`KEPT`);
    the log names a start that is not, whose codes are then left unanchored."""
    if ratio < KEPT:
        return True
    log.warning(
        "anchor: the start of segment factor %d (%s) moves %.2f as much as two images at "
        "random between the images of pairs that keep the factor (a start: < %.2f): one "
        "direction of the images reads it differently across the other factors; its codes "
        "are left unanchored",
        index,
        factor.name,
        ratio,
        KEPT,
    )
    return False


def _holds_layout(index: int, factor, coords: Tensor, specific: float | None = None) -> bool:
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


def anchor_images(
    dataset: GroundTruthDataset,
    generator: torch.Generator,
    with_pairs: bool,
    num_changed: int | None = 1,
) -> tuple[Tensor, tuple[Tensor, Tensor] | None, Tensor | None]:
    """``ANCHOR_IMAGES`` training images ``[n, C, H, W]`` in [0, 1], drawn with ``generator``,
    and, ``with_pairs``, the two images ``[m, C, H, W]`` of ``ANCHOR_PAIRS`` pairs that change
    ``num_changed`` factors (:func:`~prodvae.data.sample_pairs`: grid cells, or matched rows of
    any labelled dataset), drawn next with the same generator, and which factors each pair
    changes (bool ``[m, K]``, the dataset's factors; None without pairs)."""
    rows = torch.randint(len(dataset), (ANCHOR_IMAGES,), generator=generator).numpy()
    images = dataset.images_at(rows).float() / 255
    if not with_pairs:
        return images, None, None
    pair = sample_pairs(dataset, ANCHOR_PAIRS, num_changed, generator)
    first, second = (dataset.images_at(rows.numpy()) for rows in (pair.rows1, pair.rows2))
    return images, (first.float() / 255, second.float() / 255), pair.changed
