"""Shape annealing of the prior: the energy starts flat and sharpens to the target.

At step t every factor's width is multiplied by ``k(t) >= 1`` (``k`` falls to 1 by the end
of annealing); a ``Tilted`` factor's τ is divided by ``k``. Loops (and tilted spheres) are
the exception that the seed's prototype warns about: the ring's centre is a stationary
point of the KL for an isotropic posterior (by symmetry the radial force cancels), and it
attracts codes when the ring is wide compared with its radius or the posterior is wide
compared with the ring. Codes that reach it stay. So a ring is never widened beyond
``radius / min_ring_ratio`` (τ never below ``min_ring_ratio``): it keeps its hole. A wide
starting posterior can still drag an unused loop inwards; ``build_vae(initial_logvar=-4)``
starts posteriors narrow, and β warm-up (``warmup_steps``) lets codes spread before the
prior pulls them onto the ring.
"""

from __future__ import annotations

from collections.abc import Callable

from prodvae.spaces import Factor, ProductSpace

Annealer = Callable[[Factor, float, float], Factor]
#: How each factor topology is flattened by a width multiplier: ``fn(factor, k, min_ratio)``.
ANNEALERS: dict[str, Annealer] = {}


def register_annealer(topology: str) -> Callable[[Annealer], Annealer]:
    def decorate(fn: Annealer) -> Annealer:
        ANNEALERS[topology] = fn
        return fn

    return decorate


@register_annealer("points")
@register_annealer("segment")
def widen(factor: Factor, k: float, min_ratio: float) -> Factor:
    """Wells and walls: width × k (wells merge into one basin while apart by < 2 widths)."""
    return factor.replace(width=factor.width * k)


@register_annealer("loop")
def widen_ring(factor: Factor, k: float, min_ratio: float) -> Factor:
    """Ring width × k, capped at radius / min_ratio (never below the target width)."""
    cap = max(factor.width, factor.radius / min_ratio)
    return factor.replace(width=min(factor.width * k, cap))


@register_annealer("sphere")
def lower_tilt(factor: Factor, k: float, min_ratio: float) -> Factor:
    """τ / k, but not below ``min_ratio`` (nor above the target τ)."""
    return factor.replace(tau=max(factor.tau / k, min(factor.tau, min_ratio)))


@register_annealer("euclidean")
def unchanged(factor: Factor, k: float, min_ratio: float) -> Factor:
    return factor


def anneal_space(space: ProductSpace, k: float, min_ring_ratio: float) -> ProductSpace:
    """``space`` with every factor flattened by the width multiplier ``k >= 1``."""
    if k == 1.0:
        return space
    return space.map(lambda f: ANNEALERS[f.topology](f, k, min_ring_ratio))
