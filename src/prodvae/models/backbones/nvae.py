"""NVAE-style residual cells (Vahdat & Kautz 2020) with a squeeze-and-excitation switch.

Encoder cell: BN-Swish-conv3x3-BN-Swish-conv3x3[-SE] plus skip. Decoder cell:
BN-conv1x1 (expand)-BN-Swish-depthwise conv5x5-BN-Swish-conv1x1-BN[-SE] plus skip. The
seed saw SE blocks stop learning; ``use_se`` lets that be reproduced or refuted. This is
only the cell design of NVAE on a single-scale vector latent, not its hierarchical prior.
"""

from __future__ import annotations

from torch import Tensor, nn

from prodvae.models.backbones.registry import (
    Backbone,
    check_positive_int,
    map_sizes,
    register_backbone,
    upsample_to,
)


class SqueezeExcite(nn.Module):
    """Channel gating: global average pool → bottleneck MLP → sigmoid scale."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = max(channels // 16, 4)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, hidden),
            nn.ReLU(),
            nn.Linear(hidden, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)[:, :, None, None]


def _maybe_se(channels: int, use_se: bool) -> nn.Module:
    return SqueezeExcite(channels) if use_se else nn.Identity()


class EncoderCell(nn.Module):
    def __init__(self, channels: int, use_se: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(channels),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            _maybe_se(channels, use_se),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class DecoderCell(nn.Module):
    def __init__(self, channels: int, expansion: int, use_se: bool) -> None:
        super().__init__()
        hidden = channels * expansion
        self.body = nn.Sequential(
            nn.BatchNorm2d(channels),
            nn.Conv2d(channels, hidden, 1),
            nn.BatchNorm2d(hidden),
            nn.SiLU(),
            nn.Conv2d(hidden, hidden, 5, padding=2, groups=hidden),
            nn.BatchNorm2d(hidden),
            nn.SiLU(),
            nn.Conv2d(hidden, channels, 1),
            nn.BatchNorm2d(channels),
            _maybe_se(channels, use_se),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _channels(width: int, levels: int) -> list[int]:
    return [width * min(2**i, 4) for i in range(levels)]


def _encoder(image_shape, width, num_cells, use_se) -> nn.Sequential:
    channels = _channels(width, len(map_sizes(*image_shape[1:], round_up=True)) - 1)
    layers: list[nn.Module] = [nn.Conv2d(image_shape[0], width, 3, padding=1)]
    previous = width
    for out in channels:
        layers += [EncoderCell(previous, use_se) for _ in range(num_cells)]
        layers.append(nn.Conv2d(previous, out, 3, stride=2, padding=1))
        previous = out
    layers += [nn.SiLU(), nn.Flatten()]
    return nn.Sequential(*layers)


def _decoder(image_shape, latent_dim, width, num_cells, expansion, use_se) -> nn.Sequential:
    sizes = map_sizes(*image_shape[1:], round_up=True)[::-1]
    channels = _channels(width, len(sizes) - 1)[::-1]
    first, (h, w) = channels[0], sizes[0]
    layers: list[nn.Module] = [nn.Linear(latent_dim, first * h * w), nn.Unflatten(1, (first, h, w))]
    previous = first
    for out, (before, after) in zip(channels, zip(sizes, sizes[1:])):
        layers += [DecoderCell(previous, expansion, use_se) for _ in range(num_cells)]
        layers += [upsample_to(before, after), nn.Conv2d(previous, out, 1)]
        previous = out
    layers += [nn.BatchNorm2d(previous), nn.SiLU()]
    layers.append(nn.Conv2d(previous, image_shape[0], 3, padding=1))
    return nn.Sequential(*layers)


@register_backbone("nvae")
def nvae(
    image_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    width: int = 32,
    num_cells: int = 1,
    expansion: int = 3,
    use_se: bool = True,
) -> Backbone:
    """NVAE cells per resolution; ``use_se=False`` removes every squeeze-and-excitation gate."""
    check_positive_int("nvae", "width", width)
    check_positive_int("nvae", "num_cells", num_cells)
    check_positive_int("nvae", "expansion", expansion)
    if not isinstance(use_se, bool):
        raise ValueError(f"nvae: use_se must be a bool, got {use_se!r}")
    encoder = _encoder(image_shape, width, num_cells, use_se)
    decoder = _decoder(image_shape, latent_dim, width, num_cells, expansion, use_se)
    sizes = map_sizes(*image_shape[1:], round_up=True)
    (h, w) = sizes[-1]
    feature_dim = _channels(width, len(sizes) - 1)[-1] * h * w
    return Backbone(encoder, decoder, feature_dim)
