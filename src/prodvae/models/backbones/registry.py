"""The backbone registry: encoder/decoder trunks that a config names by key."""

from __future__ import annotations

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

#: The smallest side (pixels) a backbone takes: one stride-2 stage down to a 4-pixel map.
MIN_IMAGE_SIDE = 8


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
    """Raise ``ValueError`` unless ``image_shape`` is ``(C, H, W)``: positive integers with
    both sides at least :data:`MIN_IMAGE_SIDE`."""
    shape = tuple(image_shape)
    ok = len(shape) == 3 and all(isinstance(s, int) and not isinstance(s, bool) for s in shape)
    if not ok or shape[0] < 1 or min(shape[1:]) < MIN_IMAGE_SIDE:
        raise ValueError(
            f"image_shape must be (channels, height, width): positive integers with both sides "
            f"at least {MIN_IMAGE_SIDE} pixels, got {image_shape!r}"
        )


def map_sizes(height: int, width: int, *, round_up: bool = False) -> list[tuple[int, int]]:
    """The sides ``(h, w)`` of a stride-2 trunk's maps on ``height x width`` images, from the
    image itself down to its last map.

    Each stage halves both sides, rounding down (a 4x4 convolution of stride 2 and padding 1)
    or up (``round_up``: a 3x3 one), while the smaller side is at least 8, so the last map's
    smaller side is 4 to 7: 4x4 at 32, 64 and 128 pixels (3, 4 and 5 stages), 7x7 at 28, 6x6
    at 48 and 96, 8x6 at 64x48. A decoder mirrors the list, growing each map to the sides
    before it (twice its own, or one more where halving rounded).
    """
    sizes = [(height, width)]
    while min(sizes[-1]) >= MIN_IMAGE_SIDE:
        h, w = sizes[-1]
        sizes.append((-(-h // 2), -(-w // 2)) if round_up else (h // 2, w // 2))
    return sizes


def check_positive_int(owner: str, param: str, value: Any) -> None:
    """Raise ``ValueError`` naming ``param`` unless ``value`` is an int >= 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}: {param} must be a positive integer, got {value!r}")


def upsample_to(before: tuple[int, int], after: tuple[int, int]) -> nn.Upsample:
    """Nearest-neighbour upsampling of a ``before`` map to ``after``
    (:func:`map_sizes` reversed): by 2 where ``after`` is twice ``before``, else to its size."""
    if after == (2 * before[0], 2 * before[1]):
        return nn.Upsample(scale_factor=2, mode="nearest")
    return nn.Upsample(size=after, mode="nearest")
