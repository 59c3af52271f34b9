"""Shape annealing of the prior: the energy starts flat and sharpens to the target.

At step t every factor is flattened by a width multiplier ``k(t) >= 1`` (``k`` falls to 1 by
the end of annealing); each factor kind says how (:meth:`~prodvae.spaces.Factor.annealed`):
widths are multiplied by ``k``, a ``Tilted`` factor's τ is divided by it, a Euclidean factor
stays as it is. Loops (and tilted spheres) are the exception that the seed's prototype warns
about: the ring's centre is a stationary point of the KL for an isotropic posterior (by
symmetry the radial force cancels), and it attracts codes when the ring is wide compared
with its radius or the posterior is wide compared with the ring. Codes that reach it stay.
So a ring is never widened beyond ``radius / min_ring_ratio`` (τ never below
``min_ring_ratio``): it keeps its hole. A wide starting posterior can still drag an unused
loop inwards; ``build_vae(initial_logvar=-4)`` starts posteriors narrow, and β warm-up
(``warmup_steps``) lets codes spread before the prior pulls them onto the ring.
"""

from __future__ import annotations

from prodvae.spaces import ProductSpace


def anneal_space(space: ProductSpace, k: float, min_ring_ratio: float) -> ProductSpace:
    """``space`` with every factor flattened by the width multiplier ``k >= 1``
    (:meth:`~prodvae.spaces.Factor.annealed`: each factor kind says how it flattens)."""
    if k == 1.0:
        return space
    return space.map(lambda f: f.annealed(k, min_ring_ratio))
