"""A stripped-down Stable Diffusion autoencoder trunk (Rombach et al. 2022), vector latent.

GroupNorm + SiLU residual blocks, stride-2 convolutions to downsample, nearest-neighbour
upsampling, optional self-attention in the middle. Unlike the original, which emits a feature
map, the encoder flattens its last 4x4 map so that a linear head can produce a vector latent;
the decoder starts from a linear map back to that 4x4 map. Other image sides end at the
map :func:`~prodvae.models.backbones.registry.map_sizes` gives (halving rounded up, 7x7 at
28 px), which the decoder grows back to the image's sides.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from prodvae.models.backbones.registry import (
    Backbone,
    check_positive_int,
    map_sizes,
    register_backbone,
    upsample_to,
)


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 32 groups that divide ``channels``."""
    return nn.GroupNorm(math.gcd(channels, 32), channels)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv3x3 twice plus a skip (1x1 conv when channels change)."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            group_norm(channels_in),
            nn.SiLU(),
            nn.Conv2d(channels_in, channels_out, 3, padding=1),
            group_norm(channels_out),
            nn.SiLU(),
            nn.Conv2d(channels_out, channels_out, 3, padding=1),
        )
        same = channels_in == channels_out
        self.skip = nn.Identity() if same else nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.body(x)


class SelfAttention(nn.Module):
    """Single-head self-attention over the positions of a ``[batch, C, H, W]`` map."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).transpose(-1, -2).unbind(1)
        attended = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        return x + self.out(attended.transpose(-1, -2).reshape(b, c, h, w))


def _middle(channels: int, use_attention: bool) -> nn.Sequential:
    attention: nn.Module = SelfAttention(channels) if use_attention else nn.Identity()
    return nn.Sequential(ResBlock(channels, channels), attention, ResBlock(channels, channels))


def _channels(width: int, levels: int) -> list[int]:
    """Channels per resolution: width x (1, 2, 4, 4, ...)."""
    return [width * min(2**i, 4) for i in range(levels)]


def _encoder(image_shape, width, num_blocks, use_attention) -> nn.Sequential:
    channels = _channels(width, len(map_sizes(*image_shape[1:], round_up=True)) - 1)
    layers: list[nn.Module] = [nn.Conv2d(image_shape[0], width, 3, padding=1)]
    previous = width
    for out in channels:
        layers += [ResBlock(previous if i == 0 else out, out) for i in range(num_blocks)]
        layers.append(nn.Conv2d(out, out, 3, stride=2, padding=1))
        previous = out
    layers += [_middle(previous, use_attention), group_norm(previous), nn.SiLU()]
    layers += [nn.Conv2d(previous, previous, 3, padding=1), nn.Flatten()]
    return nn.Sequential(*layers)


def _decoder(image_shape, latent_dim, width, num_blocks, use_attention) -> nn.Sequential:
    sizes = map_sizes(*image_shape[1:], round_up=True)[::-1]
    channels = _channels(width, len(sizes) - 1)[::-1]
    first, (h, w) = channels[0], sizes[0]
    layers: list[nn.Module] = [nn.Linear(latent_dim, first * h * w), nn.Unflatten(1, (first, h, w))]
    layers += [nn.Conv2d(first, first, 3, padding=1), _middle(first, use_attention)]
    previous = first
    for out, (before, after) in zip(channels, zip(sizes, sizes[1:])):
        layers += [ResBlock(previous if i == 0 else out, out) for i in range(num_blocks)]
        layers += [upsample_to(before, after), nn.Conv2d(out, out, 3, padding=1)]
        previous = out
    layers += [group_norm(previous), nn.SiLU(), nn.Conv2d(previous, image_shape[0], 3, padding=1)]
    return nn.Sequential(*layers)


@register_backbone("resnet")
def resnet(
    image_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    width: int = 32,
    num_blocks: int = 1,
    use_attention: bool = True,
) -> Backbone:
    """Residual trunk; features are the flattened last 4x4 map (``4 * width * 16`` at 64 px)."""
    check_positive_int("resnet", "width", width)
    check_positive_int("resnet", "num_blocks", num_blocks)
    if not isinstance(use_attention, bool):
        raise ValueError(f"resnet: use_attention must be a bool, got {use_attention!r}")
    encoder = _encoder(image_shape, width, num_blocks, use_attention)
    decoder = _decoder(image_shape, latent_dim, width, num_blocks, use_attention)
    sizes = map_sizes(*image_shape[1:], round_up=True)
    (h, w) = sizes[-1]
    feature_dim = _channels(width, len(sizes) - 1)[-1] * h * w
    return Backbone(encoder, decoder, feature_dim)
