"""How unevenly each loop's codes cover its ring: the aggregate posterior against the prior.

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
"""

from __future__ import annotations

import torch
from torch import Tensor

from prodvae.spaces import ProductSpace, is_circular

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
