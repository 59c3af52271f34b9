"""The backbone registry: encoder/decoder trunks that a config names by key."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from torch import nn

from prodvae.registry import Registry


class Backbone(NamedTuple):
    """An encoder/decoder pair.

    ``encoder``: images ``[batch, C, H, W]`` → features ``[batch, feature_dim]``.
    ``decoder``: latent vectors ``[batch, latent_dim]`` → logits ``[batch, C, H, W]``.
    """

    encoder: nn.Module
    decoder: nn.Module
    feature_dim: int


BackboneBuilder = Callable[..., Backbone]

#: Registered backbone builders by name (``"burgess"``, ``"resnet"``, ``"nvae"``).
BACKBONES: Registry[BackboneBuilder] = Registry("backbone")

#: Image sizes every backbone supports (square images, 1 or more channels).
IMAGE_SIZES: tuple[int, ...] = (32, 64, 128)


def register_backbone(name: str) -> Callable[[BackboneBuilder], BackboneBuilder]:
    """Decorator: make a builder ``fn(image_shape, latent_dim, *, options...)`` nameable."""
    return BACKBONES.register(name)


def backbone_options(name: str) -> dict[str, Any]:
    """The options of backbone ``name`` and their defaults."""
    return BACKBONES.options(name, num_positional=2)


def make_backbone(
    name: str, image_shape: tuple[int, int, int], latent_dim: int, **options: Any
) -> Backbone:
    """Build backbone ``name``, checking option names, the image shape and the latent size."""
    BACKBONES.check_options(name, options, num_positional=2)
    check_image_shape(image_shape)
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    return BACKBONES[name](tuple(image_shape), latent_dim, **options)


def check_image_shape(image_shape: tuple[int, ...]) -> None:
    """Raise ``ValueError`` unless ``image_shape`` is ``(C, S, S)``, S in :data:`IMAGE_SIZES`."""
    shape = tuple(image_shape)
    ok = len(shape) == 3 and all(isinstance(s, int) and s > 0 for s in shape)
    if not ok or shape[1] != shape[2] or shape[1] not in IMAGE_SIZES:
        raise ValueError(
            f"image_shape must be (channels, size, size) with size in {IMAGE_SIZES}, "
            f"got {image_shape!r}"
        )


def num_levels(size: int) -> int:
    """Stride-2 stages that take ``size`` pixels down to 4."""
    return int(math.log2(size)) - 2


def check_positive_int(owner: str, param: str, value: Any) -> None:
    """Raise ``ValueError`` naming ``param`` unless ``value`` is an int >= 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}: {param} must be a positive integer, got {value!r}")
