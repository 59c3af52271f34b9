"""Weak supervision from pairs (Locatello et al., ICML 2020: Ada-GVAE and Ada-ML-VAE).

For a pair of images sharing all but a few ground-truth factors, the latent *factors*
(a loop's two coordinates together, not single dimensions) whose posteriors barely differ
are taken as shared: δ_f = KL(q(z_f|x1) ‖ q(z_f|x2)), threshold ½(max_f δ_f + min_f δ_f),
shared where δ_f < threshold. Shared factors of both posteriors are replaced by their
average (Ada-GVAE: μ = ½(μ1 + μ2), σ² = ½(σ1² + σ2²)) or by the normalised product of the
two Gaussians (Ada-ML-VAE). Isotropic posteriors stay isotropic either way.
:class:`WeakOptions` adds the choice (``weak``) to an ELBO objective's options.

Detecting the changed factors lets a latent factor hold two ground-truth factors: a loop
block's two coordinates can carry a sprite's x and y, and every pair that moves either then
changes that one block, which the threshold accepts. The data knows which factors a pair
changes (it drew them); with ``changed: known`` that account decides instead (change
pairing, Shu et al., ICLR 2020): latent factor ``k`` stands for ground-truth factor ``k``
(the order ``model.space: auto`` builds), it is shared exactly when the pair keeps factor
``k``, so the changes of each factor have one block of their own.

Averaging the shared factors only makes their difference within a pair useless to the
decoder; it does not stop a block from also following a factor the pair changes (a sprite's
x block that flips direction with y). :func:`pair_consistency` measures that difference
directly: the squared distance between a pair's two means over each shared block, in units of
the block prior's mean squared spread. Its converse, :func:`pair_separation`, keeps the two
means of a changed points factor (and, when asked, ring factor) at least a margin apart (a
block that sits at one point satisfies consistency for free); :func:`pair_geometry` orders a
ring's values by how close their images are. On a points block whose posterior is
``point_logits`` (a softmax over its points), :func:`pair_assignment` reads the pair as a
same-or-different label for that softmax.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from prodvae.models import VAE, Posterior
from prodvae.models.posteriors import PointLogitsPosterior
from prodvae.objectives.likelihoods import LikelihoodOptions
from prodvae.objectives.options import OptionError, check_choice
from prodvae.registry import Registry
from prodvae.spaces import Loop, PointSet, ProductSpace
from prodvae.spaces.tilted import safe_norm

#: Ways to merge two Gaussian posteriors: ``fn(mu1, logvar1, mu2, logvar2) -> (mu, logvar)``.
AGGREGATIONS: Registry[Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]] = (
    Registry("aggregation")
)


@AGGREGATIONS.register("ada_gvae")
def average(mu1: Tensor, logvar1: Tensor, mu2: Tensor, logvar2: Tensor) -> tuple[Tensor, Tensor]:
    """Mean of the means, mean of the variances."""
    var = 0.5 * (logvar1.exp() + logvar2.exp())
    return 0.5 * (mu1 + mu2), var.log()


@AGGREGATIONS.register("ada_ml_vae")
def product(mu1: Tensor, logvar1: Tensor, mu2: Tensor, logvar2: Tensor) -> tuple[Tensor, Tensor]:
    """Normalised product of the two Gaussians: precisions add."""
    precision1, precision2 = (-logvar1).exp(), (-logvar2).exp()
    logvar = -torch.log(precision1 + precision2)
    mu = logvar.exp() * (precision1 * mu1 + precision2 * mu2)
    return mu, logvar


#: Pairs changing a ring factor a batch needs before :func:`pair_geometry` reads it: fewer
#: give a correlation that is mostly noise.
GEOMETRY_MIN_PAIRS = 4

#: How a pair's shared factors are decided (:attr:`WeakOptions.changed`).
CHANGED = ("detect", "known")


@dataclass(frozen=True, kw_only=True)
class WeakOptions(LikelihoodOptions):
    """Likelihood options and ``weak``: ``none`` (single images) or an aggregation in
    :data:`AGGREGATIONS` (``ada_gvae``, ``ada_ml_vae``) to train on pairs."""

    weak: str = "none"
    #: ``detect``: shared factors found by the KL threshold (Ada-GVAE); ``known``: the
    #: pairs' own account of what they change (latent factor k = ground-truth factor k).
    changed: str = "detect"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("weak", self.weak, ("none", *AGGREGATIONS))
        check_choice("changed", self.changed, CHANGED)
        if self.changed == "known" and self.weak == "none":
            raise OptionError("changed", "known needs pairs: set weak to an aggregation")


class PairPosteriors(NamedTuple):
    """Both posteriors after merging, and which factors were shared ``bool [batch, factors]``."""

    first: Posterior
    second: Posterior
    shared: Tensor


def factor_kl(space: ProductSpace, first: Posterior, second: Posterior) -> Tensor:
    """``KL(q1 ‖ q2)`` of diagonal Gaussians per factor, ``[batch, num_factors]``."""
    ratio = first.logvar - second.logvar
    per_dim = 0.5 * (ratio.exp() + (first.mu - second.mu) ** 2 / second.logvar.exp() - 1 - ratio)
    return torch.stack([per_dim[:, s].sum(-1) for s in space.slices], dim=-1)


def shared_factors(delta: Tensor) -> Tensor:
    """``bool [batch, factors]``: factors below the pair's mid-range threshold of ``delta``."""
    threshold = 0.5 * (
        delta.max(dim=-1, keepdim=True).values + delta.min(dim=-1, keepdim=True).values
    )
    return delta < threshold


def merge_pair(
    space: ProductSpace,
    first: Posterior,
    second: Posterior,
    aggregation: str,
    changed: Tensor | None = None,
) -> PairPosteriors:
    """Replace the shared factors of both posteriors by their aggregate.

    Shared: the factors that ``changed`` (bool ``[batch, num_factors]``, the pairs' own
    account, latent factor k = ground-truth factor k) says each pair keeps; without it, the
    factors below the pair's KL threshold (:func:`shared_factors`).
    """
    if changed is None:
        shared = shared_factors(factor_kl(space, first, second).detach())
    else:
        if changed.dim() != 2 or changed.shape[0] != first.mu.shape[0]:
            raise ValueError(
                f"changed: expected bool [{first.mu.shape[0]}, factors] for "
                f"{first.mu.shape[0]} pairs, got {list(changed.shape)}"
            )
        if changed.shape[1] != space.num_factors:
            raise ValueError(
                f"changed: known needs one latent factor per ground-truth factor (in the "
                f"data's order, as model.space: auto builds); the data has "
                f"{changed.shape[1]} factors, the space {space.num_factors}"
            )
        shared = ~changed.bool()
    mu, logvar = AGGREGATIONS[aggregation](first.mu, first.logvar, second.mu, second.logvar)
    columns = torch.zeros_like(first.mu, dtype=torch.bool)
    for i, s in enumerate(space.slices):
        columns[:, s] = shared[:, i : i + 1]
    merged = [
        Posterior(torch.where(columns, mu, p.mu), torch.where(columns, logvar, p.logvar))
        for p in (first, second)
    ]
    return PairPosteriors(merged[0], merged[1], shared)


def prior_spreads(space: ProductSpace) -> tuple[float, ...]:
    """Each factor prior's mean squared distance from its mean (:meth:`Factor.moments`)."""
    return tuple(float(factor.moments()[1]) for factor in space.factors)


def split_pair_codes(
    name: str, space: ProductSpace, codes: Tensor, shared: Tensor
) -> tuple[Tensor, Tensor]:
    """The first and second images' means ``[batch, dim]`` of ``codes [2 * batch, dim]``,
    after checking them and ``shared`` (bool ``[batch, num_factors]``) against ``space``;
    ``name`` heads the error."""
    batch = shared.shape[0] if shared.dim() else 0
    if shared.dim() != 2 or shared.shape[1] != space.num_factors:
        raise ValueError(
            f"{name}: expected shared [{batch}, {space.num_factors}], got {list(shared.shape)}"
        )
    if codes.dim() != 2 or codes.shape != (2 * batch, space.dim):
        raise ValueError(
            f"{name}: expected codes [{2 * batch}, {space.dim}] for {batch} pairs, "
            f"got {list(codes.shape)}"
        )
    return codes[:batch], codes[batch:]


def pair_consistency(
    space: ProductSpace,
    codes: Tensor,
    shared: Tensor,
    spreads: tuple[float, ...] | None = None,
) -> Tensor:
    """How far the encoder's means move over the blocks a pair shares, ``[]``.

    ``codes [2 * batch, dim]``: the means of the first images, then of the second;
    ``shared`` (bool ``[batch, num_factors]``): the factors each pair keeps. Per block, the
    squared distance ``‖μ1 − μ2‖²`` over the pairs that share it, divided by the prior's mean
    squared spread about its mean (``spreads``, :func:`prior_spreads` when None), summed over
    blocks and averaged over pairs: 0 when every shared block is equal within its pairs, 2 in
    expectation for a shared block whose two means are independent draws from its prior.
    """
    first, second = split_pair_codes("pair_consistency", space, codes, shared)
    spreads = prior_spreads(space) if spreads is None else spreads
    total = codes.new_zeros(())
    for k, (s, spread) in enumerate(zip(space.slices, spreads)):
        distance = (first[:, s] - second[:, s]).pow(2).sum(-1)
        total = total + (distance * shared[:, k]).mean() / spread
    return total


def pair_separation(
    space: ProductSpace,
    codes: Tensor,
    shared: Tensor,
    ring_turn: float = 0.0,
    skip: Collection[int] = (),
) -> Tensor:
    """How far short of a margin apart a pair's codes fall on the points (and, with
    ``ring_turn`` > 0, ring) factors it changes, ``[]``.

    A pair that changes a factor holds two different values of it, which belong at two
    different places of its block. Per points factor (:class:`~prodvae.spaces.PointSet`), over
    the pairs that change it: ``relu(spacing − |μ1 − μ2|)² / spacing²``; per ring factor
    (:class:`~prodvae.spaces.Loop`) when ``ring_turn`` > 0, the same with the chord between
    the two means projected onto the ring (their radii left out) against the chord of
    ``ring_turn`` of a turn. Averaged over pairs and summed over factors: 0 when the two
    means are a margin or more apart, 1 when they coincide. Unlike the prior's wells, which
    hold a code in the well it started in, this pushes two values that share a well apart
    whatever the barrier between wells; on a ring it undoes a block that sits at one angle,
    or a ring folded so that two values meet (which averaging and :func:`pair_consistency`
    both leave alone). A margin of ``1 / n`` of a turn leaves evenly spaced values of a loop
    of up to ``n`` values at their true distance and pushes closer ones apart.
    ``codes`` and ``shared`` as for :func:`pair_consistency`; the factors in ``skip`` are
    left out (points blocks that :func:`pair_assignment` reads: on a mean between the points
    of a softmax, a margin would hold a value back from passing another's point on its way
    to an empty one).
    """
    first, second = split_pair_codes("pair_separation", space, codes, shared)
    total = codes.new_zeros(())
    for k, (factor, s) in enumerate(zip(space.factors, space.slices)):
        if k in skip:
            continue
        a, b = first[:, s], second[:, s]
        if isinstance(factor, PointSet):
            gap, margin = (a - b).abs().sum(-1), factor.spacing
        elif isinstance(factor, Loop) and ring_turn > 0:
            gap = ring_chord(factor, a, b)
            margin = 2 * factor.radius * math.sin(math.pi * ring_turn)
        else:
            continue
        short = torch.relu(margin - gap) / margin
        total = total + (short.pow(2) * ~shared[:, k]).mean()
    return total


def check_point_logits(owner: str, model: VAE, key: str = "assignment_weight") -> None:
    """Refuse a model with a points block that does not share its code among its points
    (``key``'s term reads them, as :func:`pair_assignment` does; a space without points blocks
    asks nothing)."""
    plain = [
        k
        for k, (family, factor) in enumerate(zip(model.posteriors, model.space.factors))
        if isinstance(factor, PointSet) and not isinstance(family, PointLogitsPosterior)
    ]
    if plain:
        raise ValueError(
            f"{owner}: {key} > 0 reads the points blocks' logits, but factor "
            f"{plain[0]} has posterior {model.posteriors[plain[0]].name!r}: build the model "
            "with point_logits for points (model.options.posterior: {points: point_logits})"
        )


def pair_assignment(log_shares: dict[int, Tensor], shared: Tensor) -> Tensor:
    """How unlikely the pairs' point assignments are, ``[]``: for each points factor ``k`` of
    ``log_shares`` (the log of its softmax over points ``[2 * batch, num_points]``, first
    images then second: :meth:`~prodvae.models.VAE.encode_with_shares`), ``s = sum_j p1_j
    p2_j``, the chance that the two images fall at one point, and the binary cross-entropy of
    ``s`` against the pair keeping the factor (``shared[:, k]``): ``-log s`` for a pair that
    keeps it, ``-log(1 - s)`` for one that changes it, averaged over pairs and summed over
    factors. A pair thus teaches a classifier of the factor's values (the pairwise likelihood
    of Hsu et al., ICLR 2019). Both logs are log-sums of ``p1_j p2_l`` over ``j = l`` and
    ``j != l``, exact however sure the two images are: two values sure of one point still
    pull apart, where ``pair_separation`` on a mean between points, or ``1 - s`` rounded to
    0, would leave them. 0 when every pair is assigned with certainty as it should be,
    ``log 2`` a pair when ``s = 1/2``.

    The ``[batch, points, points]`` table of ``log p1_j p2_l`` is summed as it is while it
    holds at most :data:`JOINT_ELEMENTS` entries (the recipe's four points); past that (a
    hundred classes, an orbit of many values) ``sum_{l != j} p2_l`` is read from prefix and
    suffix log-sums instead, equally exact, in memory linear in the points."""
    batch = shared.shape[0]
    total = shared.new_zeros((), dtype=torch.float32)
    for k, logp in log_shares.items():
        if logp.dim() != 2 or logp.shape[0] != 2 * batch:
            raise ValueError(
                f"pair_assignment: expected log-shares [{2 * batch}, points] for factor {k}, "
                f"got {list(logp.shape)}"
            )
        first, second = logp[:batch], logp[batch:]
        if batch * logp.shape[1] ** 2 <= JOINT_ELEMENTS:
            joint = first[:, :, None] + second[:, None, :]  # log p1_j p2_l
            same = torch.eye(logp.shape[1], dtype=torch.bool, device=logp.device)
            log_same = joint.masked_fill(~same, -torch.inf).flatten(1).logsumexp(-1)
            log_apart = joint.masked_fill(same, -torch.inf).flatten(1).logsumexp(-1)
        else:
            log_same = (first + second).logsumexp(-1)
            log_apart = (first + log_sum_of_others(second)).logsumexp(-1)
        keep = shared[:, k]
        total = total - torch.where(keep, log_same, log_apart).mean()
    return total


#: Entries of :func:`pair_assignment`'s ``[pairs, points, points]`` table above which it
#: sums ``p1_j p2_l`` through :func:`log_sum_of_others` instead (2^22: 16 MB of float32).
JOINT_ELEMENTS = 2**22


def log_sum_of_others(logp: Tensor) -> Tensor:
    """``log sum_{l != j} exp(logp_l)`` for each ``j`` of the last dimension, the same shape
    as ``logp``: the log-sums of the entries before ``j`` and after it (cumulative, so
    ``O(points)``), joined; exact where one entry holds nearly all the mass, where
    ``log(1 - p_j)`` would round to ``-inf``. ``-inf`` for a single entry."""
    none = torch.full_like(logp[..., :1], -torch.inf)
    before = torch.cat([none, logp.logcumsumexp(-1)[..., :-1]], -1)
    after = torch.cat([logp.flip(-1).logcumsumexp(-1).flip(-1)[..., 1:], none], -1)
    return torch.logaddexp(before, after)


def pair_geometry(space: ProductSpace, codes: Tensor, shared: Tensor, images: Tensor) -> Tensor:
    """How little a loop's spacing of its codes follows its images', ``[]``.

    Per ring factor (:class:`~prodvae.spaces.Loop`), over the pairs that change it: one minus the
    Pearson correlation between the chord between the pair's two means projected onto the
    ring and the relative distance between its two images, ``‖x1 − x2‖ / √(‖x1‖² + ‖x2‖²)``
    (which a change of colour or brightness of a whole object moves alike, whatever the
    object's size). Summed over the loop factors that at least :data:`GEOMETRY_MIN_PAIRS`
    pairs of the batch change: 0 when the chord grows linearly with the image distance, 1
    when the two are unrelated, 2 when one falls as the other grows. Consistency and
    separation make a loop block a function of its factor that keeps different values apart,
    but in any order round the ring (sprites' eight hues in a shuffled order, winding 0);
    two values whose images are close belong close on the ring, which orders them.
    ``codes`` and ``shared`` as for :func:`pair_consistency`; ``images [2 * batch, ...]``
    the first images, then the second.
    """
    first, second = split_pair_codes("pair_geometry", space, codes, shared)
    batch = shared.shape[0]
    if images.dim() < 2 or images.shape[0] != 2 * batch:
        raise ValueError(
            f"pair_geometry: expected images [{2 * batch}, ...] for {batch} pairs, "
            f"got {list(images.shape)}"
        )
    x1, x2 = images[:batch].flatten(1).to(codes), images[batch:].flatten(1).to(codes)
    tiny = torch.finfo(codes.dtype).tiny
    apart = (x1 - x2).norm(dim=-1) / (x1.pow(2).sum(-1) + x2.pow(2).sum(-1)).sqrt().clamp(min=tiny)
    total = codes.new_zeros(())
    for k, (factor, s) in enumerate(zip(space.factors, space.slices)):
        if not isinstance(factor, Loop):
            continue
        # every pair is computed and the ones that keep the factor weighted 0: no boolean
        # indexing, so no wait for the device in a training step
        changed = (~shared[:, k]).to(codes.dtype)
        chord = ring_chord(factor, first[:, s], second[:, s])
        unrelated = 1 - pearson(chord, apart, changed)
        total = total + torch.where(changed.sum() >= GEOMETRY_MIN_PAIRS, unrelated, 0.0)
    return total


def ring_chord(factor: Loop, a: Tensor, b: Tensor) -> Tensor:
    """The distance between ``a`` and ``b`` ``[n, 2]`` projected onto ``factor``'s ring,
    ``[n]``, with a finite gradient where the two projections coincide."""
    return safe_norm(factor.project(a) - factor.project(b))


def pearson(u: Tensor, v: Tensor, weights: Tensor) -> Tensor:
    """The Pearson correlation of ``u [n]`` and ``v [n]`` over the rows of nonzero
    ``weights [n]`` (each row counted by its weight), ``[]``; 0 where either is constant."""
    total = weights.sum().clamp(min=torch.finfo(weights.dtype).tiny)
    u = (u - (weights * u).sum() / total) * weights.sqrt()
    v = (v - (weights * v).sum() / total) * weights.sqrt()
    # norms with finite gradients where a column is constant (a ring block sitting still)
    norms = safe_norm(u) * safe_norm(v)
    return (u * v).sum() / norms
