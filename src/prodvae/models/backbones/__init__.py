"""Encoder/decoder trunks, each registered by name next to its definition."""

from prodvae.models.backbones import burgess, nvae, resnet  # noqa: F401  (registers them)
from prodvae.models.backbones.registry import (
    BACKBONES,
    MIN_IMAGE_SIDE,
    Backbone,
    backbone_options,
    check_image_shape,
    make_backbone,
    map_sizes,
    register_backbone,
)

__all__ = [
    "BACKBONES",
    "MIN_IMAGE_SIDE",
    "Backbone",
    "backbone_options",
    "check_image_shape",
    "make_backbone",
    "map_sizes",
    "register_backbone",
]
