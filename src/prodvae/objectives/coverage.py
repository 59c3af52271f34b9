"""How unevenly loop blocks cover their rings, points blocks their points and segment blocks
their segments: the aggregate posterior against the prior.

The ELBO's KL is paid sample by sample, and a ring prior charges the same wherever on the ring
a code sits: nothing in it asks a loop block to use its whole ring. A segment factor (a
position) can then settle on an arc of a loop block, and a loop factor find no loop left.
The ring prior is uniform in angle, so the aggregate posterior of a loop block should be too;
for angles of density ``p``, ``KL(p || uniform) ~= sum_k |E exp(i k phi)|^2`` to second order
(Fourier coefficients ``c_k`` of ``p``). :func:`loop_coverage` estimates the first
``harmonics`` terms on a batch without bias (``(|sum exp(i k phi)|^2 - n) / (n (n - 1))``
per term): an arc of a quarter ring scores ``(2 sqrt 2 / pi)^2 ~= 0.81`` at ``k = 1``, a
whole ring 0 up to sampling noise. Only a block that uses its whole ring is free of it, as a
loop factor does and a segment factor cannot without a tear.

A points prior likewise charges the same in every well, and nothing in it fills an empty well:
two values can share one while another stays empty (orbit's four shapes, two astride the
first well and the last empty). :func:`points_coverage` measures how unevenly a points block's
codes share its points.

A segment prior is flat along its segment, so nothing in it stops a segment block from
shrinking to a stretch of it or to one place: on orbit (seed 3 of the recipe) the medians of
the scale block's codes at every scale lay within 0.02 of its centre (half length 2), and
sprites' scale used a third of its segment. Its uniform density has no cosine terms in the
position along it: :func:`segment_coverage` estimates, as :func:`loop_coverage` does, the
squared first ``harmonics`` coefficients ``c_k = E cos(k pi (u + 1) / 2)`` of the codes'
positions ``u`` in units of the half length (``u`` in ``[-1, 1]`` on the segment): every code
at the centre scores 1, at an end 2, on the middle third 0.68, on one half 0.41, the whole
segment 0. Like the points coverage it assumes a factor's values are spread evenly over their
range (a grid's are).
It is ``product``'s ``segment_coverage_weight``, apart from ``coverage_weight`` and not in the
recipe: at weight 20 it kept orbit's scale (seed 3: 0.99 against 0.45) but delayed sprites'
shape (seeds 0 and 3: 0.35 and 0.14 against 0.66 and 0.57; ``benchmarks/README.md``).

:func:`segment_spread` acts only on a block that has shrunk: the square of how far the
standard deviation of its positions ``u`` on a batch falls short of :data:`SPREAD_FLOOR`, in
units of the floor; exactly 0 (so no gradient at all) for a block spread wider. A block
uniform along its segment has a deviation of ``1 / sqrt 3 ~= 0.58``; the recipe's segment
blocks that read their factors end at 0.19 to 0.61, and the one found shrunk to a point
(the ``scattered`` file's zoom, seed 2) at 0.005 and 0.014 (two versions of the recipe). It
is ``product``'s ``segment_spread_weight``, in the recipe: it trains nine of the recipe's ten
sprites and orbit runs to the same numbers and recovers that zoom (``benchmarks/README.md``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from prodvae.spaces import PointSet, ProductSpace, Segment, is_circular

#: Fourier terms of the angle density that are penalised.
HARMONICS = 2


def loop_coverage(codes: Tensor, space: ProductSpace, harmonics: int = HARMONICS) -> Tensor:
    """Sum over loop blocks and ``k = 1..harmonics`` of unbiased ``|c_k|^2`` of the angles of
    ``codes [n, dim]``; 0 when the space has no loop."""
    n = codes.shape[0]
    total = codes.new_zeros(())
    if n < 2:
        raise ValueError(f"loop coverage needs a batch of at least 2 codes, got {n}")
    for factor, block in zip(space.factors, space.split(codes)):
        if not is_circular(factor.topology):
            continue
        phi = torch.atan2(block[:, 1], block[:, 0])
        for k in range(1, harmonics + 1):
            resultant = torch.cos(k * phi).sum() ** 2 + torch.sin(k * phi).sum() ** 2
            total = total + (resultant - n) / (n * (n - 1))
    return total


def points_coverage(
    codes: Tensor, space: ProductSpace, log_shares: dict[int, Tensor] | None = None
) -> Tensor:
    """Sum over points blocks (:class:`~prodvae.spaces.PointSet`) of how unevenly the codes
    ``[n, dim]`` fill its points: each code shared among the points by a softmax of its
    squared distances (a Gaussian kernel of standard deviation half a spacing, so a code
    between two wells counts for both, and moves), the batch's share of each point ``q_j``,
    and ``K / (K - 1)`` times ``sum_j q_j^2 - 1 / K`` estimated without bias
    (``(S_j^2 - sum_i p_ij^2) / (n (n - 1))`` for ``q_j^2``, rows drawn independently). In the
    population it is 0 when every point holds as many codes (a little above: the kernel leaks
    shares to the neighbours, less at the ends; 5e-5 for four points), 0.72 when an end point
    of four holds them all (0.52 a middle one); 0 for a space without points. Its gradient
    moves codes from crowded points toward empty ones, which the pair separation term cannot
    do for two values astride one well when the values next to them hold the wells beside it.
    It asks for equal shares: it assumes a factor's values are drawn equally often, one to a
    point (``model.space: auto`` gives a points factor as many points as values). A block
    in ``log_shares`` (factor index -> the log of its own softmax over its points ``[n, K]``,
    a ``point_logits`` posterior's) is shared by that softmax instead of the kernel."""
    n = codes.shape[0]
    if n < 2:
        raise ValueError(f"points coverage needs a batch of at least 2 codes, got {n}")
    total = codes.new_zeros(())
    for k, (factor, block) in enumerate(zip(space.factors, space.split(codes))):
        if not isinstance(factor, PointSet):
            continue
        if log_shares is not None and k in log_shares:
            shares = log_shares[k].exp()
        else:
            shares = point_shares(block, factor)  # [n, K]
        sums = shares.sum(0)
        squares = (sums.pow(2) - shares.pow(2).sum(0)) / (n * (n - 1))
        k = factor.num_points
        total = total + k / (k - 1) * (squares.sum() - 1 / k)
    return total


def point_shares(codes: Tensor, factor: PointSet) -> Tensor:
    """Each code ``[..., 1]`` of a points block shared among its points ``[..., K]``: a softmax
    of the squared distances (a Gaussian kernel of standard deviation half a spacing)."""
    centres = factor.points.to(codes)
    scale = factor.spacing / 2
    return torch.softmax(-((codes - centres) ** 2) / (2 * scale**2), dim=-1)


def segment_positions(codes: Tensor, space: ProductSpace, term: str) -> list[Tensor]:
    """The positions ``u = z / half_length`` ``[n]`` of ``codes [n, dim]`` along each segment
    block of ``space`` of nonzero length (``u`` in ``[-1, 1]`` on the segment); one
    ``ValueError`` naming ``term`` for a batch of fewer than 2 codes."""
    n = codes.shape[0]
    if n < 2:
        raise ValueError(f"{term} needs a batch of at least 2 codes, got {n}")
    return [
        block[:, 0] / factor.half_length
        for factor, block in zip(space.factors, space.split(codes))
        if isinstance(factor, Segment) and factor.half_length != 0
    ]


def segment_coverage(codes: Tensor, space: ProductSpace, harmonics: int = HARMONICS) -> Tensor:
    """Sum over segment blocks and ``k = 1..harmonics`` of unbiased ``c_k^2``
    (``((sum c)^2 - sum c^2) / (n (n - 1))``), the cosine coefficients ``c_k = E cos(k pi (u +
    1) / 2)`` of the positions ``u = z / half_length`` of ``codes [n, dim]`` along their
    segment; 0 when the space has no segment (or only segments of length 0)."""
    n = codes.shape[0]
    total = codes.new_zeros(())
    for u in segment_positions(codes, space, "segment coverage"):
        angle = torch.pi * (u + 1) / 2
        for k in range(1, harmonics + 1):
            c = torch.cos(k * angle)
            total = total + (c.sum() ** 2 - c.pow(2).sum()) / (n * (n - 1))
    return total


#: The standard deviation of a segment block's positions (in half lengths) below which
#: :func:`segment_spread` pushes its codes apart: a sixth of a uniform block's.
SPREAD_FLOOR = 0.1


def segment_spread(codes: Tensor, space: ProductSpace, floor: float = SPREAD_FLOOR) -> Tensor:
    """Sum over segment blocks of ``max(0, 1 - s / floor)^2``, where ``s`` is the standard
    deviation over the batch of the positions ``u = z / half_length`` of ``codes [n, dim]``
    along the block's segment; 0 when the space has no segment (or only segments of length
    0), and exactly 0 for every block with ``s >= floor``."""
    if not floor > 0:
        raise ValueError(f"segment spread needs a floor > 0, got {floor}")
    total = codes.new_zeros(())
    for u in segment_positions(codes, space, "segment spread"):
        variance = u.var()
        # finite where every code is equal: torch's std has a 0 / 0 gradient there
        spread = (variance + torch.finfo(variance.dtype).tiny).sqrt()
        total = total + torch.relu(1 - spread / floor).square()
    return total


#: How much sharper than the softmax the balanced targets are (the power of its shares).
SHARPNESS = 2.0
#: Sinkhorn iterations for the balanced targets.
ITERATIONS = 3


def balanced_targets(
    log_shares: Tensor, sharpness: float = SHARPNESS, iterations: int = ITERATIONS
) -> Tensor:
    """The batch's softmax over points ``[n, K]`` (its log) raised to ``sharpness`` and
    rescaled by ``iterations`` Sinkhorn-Knopp rounds toward an even split (each point's
    column summing to ``n / K``; each code's row to 1, which the last round makes exact),
    without gradient ``[n, K]``: each code's target point, drawn from what the softmax
    already tells apart, with every point given its share of codes."""
    log_q = sharpness * log_shares.detach()
    if log_q.dtype in (torch.float16, torch.bfloat16):  # Sinkhorn in float32 at least
        log_q = log_q.float()
    n, k = log_q.shape
    for _ in range(iterations):
        log_q = log_q - log_q.logsumexp(0, keepdim=True) + math.log(n / k)
        log_q = log_q - log_q.logsumexp(1, keepdim=True)
    return log_q.exp()


def points_balance(log_shares: dict[int, Tensor]) -> Tensor:
    """Sum over the ``point_logits`` blocks in ``log_shares`` (factor index -> the log of its
    softmax ``[n, K]``) of the mean ``KL(q_i || p_i)`` of each code's softmax ``p_i`` from its
    balanced target ``q_i`` (:func:`balanced_targets`; self-labelling as in Asano et al., ICLR
    2020, and SwAV): 0 when every code is sure of its point and the points share the codes
    evenly. Where two values share a point and another point is empty, the codes that lean
    most toward the empty one are sent to it -- a gradient ``p - q`` that does not vanish as
    the softmax saturates, as the points coverage's does."""
    total = torch.zeros(())
    for log_p in log_shares.values():
        q = balanced_targets(log_p)
        gap = torch.where(q > 0, q * (q.log() - log_p), 0.0)  # 0 log 0 = 0
        total = total.to(log_p) + gap.sum(-1).mean()
    return total
