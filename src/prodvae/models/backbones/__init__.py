"""Encoder/decoder trunks, each registered by name next to its definition."""

from prodvae.models.backbones import burgess, nvae, resnet  # noqa: F401  (registers them)
from prodvae.models.backbones.registry import (
    BACKBONES,
    IMAGE_SIZES,
    Backbone,
    backbone_options,
    check_image_shape,
    make_backbone,
    register_backbone,
)

__all__ = [
    "BACKBONES",
    "IMAGE_SIZES",
    "Backbone",
    "backbone_options",
    "check_image_shape",
    "make_backbone",
    "register_backbone",
]
