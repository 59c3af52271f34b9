"""The standard disentanglement conv net (Burgess et al. 2018; Locatello et al. 2019).

Encoder: 4x4 stride-2 convolutions (32, 32, 64, 64 channels at 64 px; one stage per halving
down to 4x4) with ReLU, then a 256-unit fully connected layer. Decoder: the mirror image.
"""

from __future__ import annotations

from torch import Tensor, nn

from prodvae.models.backbones.registry import (
    Backbone,
    check_positive_int,
    num_levels,
    register_backbone,
)


def _channels(width: int, levels: int) -> list[int]:
    """``width`` for the first two stages, ``2 * width`` after (32, 32, 64, 64 at width 32)."""
    return [width if i < 2 else 2 * width for i in range(levels)]


class BurgessEncoder(nn.Module):
    """``[batch, C, S, S]`` → ``[batch, hidden_dim]``."""

    def __init__(self, image_shape: tuple[int, int, int], width: int, hidden_dim: int) -> None:
        super().__init__()
        channels = _channels(width, num_levels(image_shape[1]))
        layers: list[nn.Module] = []
        previous = image_shape[0]
        for out in channels:
            layers += [nn.Conv2d(previous, out, 4, stride=2, padding=1), nn.ReLU()]
            previous = out
        layers += [nn.Flatten(), nn.Linear(previous * 16, hidden_dim), nn.ReLU()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class BurgessDecoder(nn.Module):
    """``[batch, latent_dim]`` → logits ``[batch, C, S, S]``."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, width: int, hidden_dim: int
    ) -> None:
        super().__init__()
        channels = _channels(width, num_levels(image_shape[1]))[::-1]
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, channels[0] * 16),
            nn.ReLU(),
            nn.Unflatten(1, (channels[0], 4, 4)),
        ]
        outs = channels[1:] + [image_shape[0]]
        for i, (inp, out) in enumerate(zip(channels, outs)):
            layers.append(nn.ConvTranspose2d(inp, out, 4, stride=2, padding=1))
            if i < len(outs) - 1:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


@register_backbone("burgess")
def burgess(
    image_shape: tuple[int, int, int], latent_dim: int, *, width: int = 32, hidden_dim: int = 256
) -> Backbone:
    """The standard conv encoder/decoder; ``width`` is the first stage's channel count."""
    check_positive_int("burgess", "width", width)
    check_positive_int("burgess", "hidden_dim", hidden_dim)
    encoder = BurgessEncoder(image_shape, width, hidden_dim)
    decoder = BurgessDecoder(image_shape, latent_dim, width, hidden_dim)
    return Backbone(encoder, decoder, hidden_dim)
