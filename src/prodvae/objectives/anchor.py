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
the log names each such loop (:attr:`Anchor.anchored`). A segment's start is one direction
of the images, and where the images change with the factor differently across another's
values (a zoom into crops of two photographs) that direction can read it one way for some of
them and the other way for the rest: a start folded by the other factor. The pairs that keep
the factor show it, since they must keep its coordinate (:func:`kept_spread`); the log names
a segment whose start they move :data:`KEPT` or more of what two images at random do. Its
codes start there all the same: left unstarted, such a block folded in training by itself
about as often as training failed to undo the folded start (``benchmarks/README.md``).
:func:`anchor_images` draws the training images (and pairs) a layout is fitted on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset, sample_pairs
from prodvae.objectives.anchor_checks import (
    KEPT,
    RING_SPREAD,
    SPECIFIC,
    changes_alone,
    check_changed,
    holds_layout,
    kept_spread,
    leading_directions,
    plane_specificity,
    warn_unkept,
)
from prodvae.spaces import ProductSpace

log = logging.getLogger(__name__)

__all__ = [
    "ANCHOR_IMAGES",
    "ANCHOR_PAIRS",
    "KEPT",
    "RING_SPREAD",
    "SPECIFIC",
    "ANCHOR_SIDE",
    "Anchor",
    "anchor_images",
    "anchor_view",
    "changed_subspaces",
    "kept_spread",
    "pair_subspaces",
    "plane_specificity",
    "principal_directions",
]

#: Training images (and pairs, for objectives trained on pairs) a layout is fitted on.
ANCHOR_IMAGES, ANCHOR_PAIRS = 1024, 2048

#: The longest side (pixels) of the images a layout is read from: larger images are averaged
#: down first (:func:`anchor_view`), as a start needs only their coarse layout; at 256 px the
#: fit's images and pairs would take 16 GB as float64 rows.
ANCHOR_SIDE = 64


def anchor_view(images: Tensor) -> Tensor:
    """``images [n, C, H, W]`` averaged over ``f x f`` blocks, ``f`` the least whole factor
    that brings the longer side to :data:`ANCHOR_SIDE` or under (128 px to 64, 96 to 48, 256
    to 64; a last, partial block averages what it holds); the same tensor where it already is
    (every image of 64 px or fewer)."""
    height, width = images.shape[-2:]
    factor = -(-max(height, width) // ANCHOR_SIDE)
    if factor == 1:
        return images
    size = (-(-height // factor), -(-width // factor))
    return torch.nn.functional.adaptive_avg_pool2d(images, size)


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
    check_changed(differences, changed, dims)
    only = changes_alone(changed)
    bases = []
    for f, dim in enumerate(dims):
        basis = leading_directions(differences[only[:, f]], dim)
        if basis is None:
            log.warning(
                "anchor: %d pairs change factor %d alone (%d needed): its codes are left "
                "unanchored",
                int(only[:, f].sum()),
                f,
                dim,
            )
            basis = torch.zeros(differences.shape[1], dim, dtype=torch.float64)
        bases.append(basis)
    return bases


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
        rows = _flat(anchor_view(images), "images")
        dims = [f.dim for f in space.factors]
        specific: list[float] | None = None
        if pairs is None:
            if changed is not None:
                raise ValueError("anchor: changed needs the pairs it describes")
            mean, directions = principal_directions(rows, space.dim)
            blocks = list(directions.split(dims, dim=1))
        else:
            first, second = (_flat(anchor_view(p), "pairs") for p in pairs)
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
        # with the pairs' account of what they change (``differences`` set just above)
        kept = None if specific is None else kept_spread(differences, changed, blocks, projected)
        weights, offsets, anchored = [], [], []
        for index, (factor, block, coords) in enumerate(zip(space.factors, blocks, projected)):
            ratio = None if specific is None else specific[index]
            holds = bool(block.abs().sum() > 0) and holds_layout(index, factor, coords, ratio)
            if holds and kept is not None and factor.reading.kinds == ("segment",):
                warn_unkept(index, factor, kept[index])
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
        """Targets ``[n, dim]`` for images ``[n, C, H, W]`` (in the images' dtype and device),
        read as the layout was fitted (:func:`anchor_view`)."""
        rows = anchor_view(images).reshape(images.shape[0], -1)
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


def anchor_images(
    dataset: GroundTruthDataset,
    generator: torch.Generator,
    with_pairs: bool,
    num_changed: int | None = 1,
) -> tuple[Tensor, tuple[Tensor, Tensor] | None, Tensor | None]:
    """``ANCHOR_IMAGES`` training images ``[n, C, H, W]`` in [0, 1] (as :func:`anchor_view`
    reads them), drawn with ``generator``, and, ``with_pairs``, the two images ``[m, C, H, W]``
    of ``ANCHOR_PAIRS`` pairs that change ``num_changed`` factors
    (:func:`~prodvae.data.sample_pairs`: grid cells, or matched rows of any labelled dataset),
    drawn next with the same generator, and which factors each pair changes (bool ``[m, K]``,
    the dataset's factors; None without pairs)."""
    rows = torch.randint(len(dataset), (ANCHOR_IMAGES,), generator=generator).numpy()
    images = _read_view(dataset, rows)
    if not with_pairs:
        return images, None, None
    pair = sample_pairs(dataset, ANCHOR_PAIRS, num_changed, generator)
    first, second = (_read_view(dataset, rows.numpy()) for rows in (pair.rows1, pair.rows2))
    return images, (first, second), pair.changed


def _read_view(dataset: GroundTruthDataset, rows, chunk: int = 256) -> Tensor:
    """The images at ``rows`` in [0, 1], as :func:`anchor_view` reads them, a chunk at a time
    (so that large images are never all held as floats)."""
    parts = [
        anchor_view(dataset.images_at(rows[start : start + chunk]).float() / 255)
        for start in range(0, len(rows), chunk)
    ]
    return torch.cat(parts)
