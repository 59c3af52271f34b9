"""Latent geometry: one-dimensional factors with low-energy priors, and their product.

Declare a space in one line::

    from prodvae.spaces import ProductSpace
    space = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * points(4, 3.0, 0.5)")
"""

from prodvae.spaces.base import (
    FACTORS,
    GROUND_TRUTH,
    PRIOR_SAMPLES,
    Factor,
    make_factor,
    register_factor,
)
from prodvae.spaces.euclidean import Euclidean
from prodvae.spaces.kinds import KINDS, Kind, Topology, check_kind, is_circular, is_discrete
from prodvae.spaces.loop import Loop
from prodvae.spaces.parse import parse_factors
from prodvae.spaces.point_set import PointSet
from prodvae.spaces.product import Divergence, ProductSpace
from prodvae.spaces.reading import Reading
from prodvae.spaces.segment import Segment
from prodvae.spaces.tilted import Tilted


def parse_space(text: str) -> ProductSpace:
    """Shorthand for :meth:`ProductSpace.parse`."""
    return ProductSpace.parse(text)


__all__ = [
    "FACTORS",
    "PRIOR_SAMPLES",
    "GROUND_TRUTH",
    "KINDS",
    "Divergence",
    "Euclidean",
    "Factor",
    "Kind",
    "Loop",
    "PointSet",
    "ProductSpace",
    "Reading",
    "Segment",
    "Tilted",
    "Topology",
    "check_kind",
    "is_circular",
    "is_discrete",
    "make_factor",
    "parse_factors",
    "parse_space",
    "register_factor",
]
