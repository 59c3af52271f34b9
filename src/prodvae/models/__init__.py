"""Models: encoder/decoder backbones and the VAE that joins them to a product space.

>>> from prodvae.spaces import ProductSpace
>>> model = build_vae(ProductSpace.parse("loop * segment"), "burgess", (1, 32, 32), width=8)
>>> model.space.dim
3
"""

from prodvae.models.backbones import (
    BACKBONES,
    MIN_IMAGE_SIDE,
    Backbone,
    backbone_options,
    make_backbone,
    register_backbone,
)
from prodvae.models.posteriors import (
    POSTERIORS,
    PosteriorFamily,
    make_posterior,
    register_posterior,
)
from prodvae.models.vae import VAE, Posterior, VAEOutput, build_vae

__all__ = [
    "BACKBONES",
    "MIN_IMAGE_SIDE",
    "POSTERIORS",
    "VAE",
    "Backbone",
    "Posterior",
    "PosteriorFamily",
    "VAEOutput",
    "backbone_options",
    "build_vae",
    "make_backbone",
    "make_posterior",
    "register_backbone",
    "register_posterior",
]
