"""The standard disentanglement conv net (Burgess et al. 2018; Locatello et al. 2019).

Encoder: 4x4 stride-2 convolutions (32, 32, 64, 64 channels at 64 px; one stage per halving
down to 4x4) with ReLU, then a 256-unit fully connected layer. Decoder: the mirror image.
Images of other sides are halved the same way until the smaller side is under 8
(:func:`~prodvae.models.backbones.registry.map_sizes`: 28 px ends at 7x7, 96 px at 6x6, 64x48
at 8x6), and each transposed convolution grows its map to the side before it.

``encoder_activation="leaky_relu"`` (slope 0.2) replaces the encoder's ReLUs. On images that
barely differ from one another (a fixed dial with two small hands) a ReLU unit is either on
for every image or off for every image, and an off unit never recovers: on ``torus`` at 32 px
(width 16, 128 hidden units) 58 of the 128 hidden units are off for all images at
initialisation and 94 after 250 steps, and the units left are taken up by whichever factor is
learned first -- the other one's R² from the features falls from about 0.6 to 0.02 while the
conv features still carry it (R² >= 0.87). Leaky units stay alive; with ``product``'s HSIC
penalty the encoder then keeps both hands (R² 0.99), without it not always (see
``benchmarks/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from prodvae.models.backbones.registry import (
    Backbone,
    check_positive_int,
    map_sizes,
    register_backbone,
)

#: Encoder activations by name.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
}


def _channels(width: int, levels: int) -> list[int]:
    """``width`` for the first two stages, ``2 * width`` after (32, 32, 64, 64 at width 32)."""
    return [width if i < 2 else 2 * width for i in range(levels)]


class BurgessEncoder(nn.Module):
    """``[batch, C, H, W]`` → ``[batch, hidden_dim]``."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        width: int,
        hidden_dim: int,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        sizes = map_sizes(*image_shape[1:])
        channels = _channels(width, len(sizes) - 1)
        layers: list[nn.Module] = []
        previous = image_shape[0]
        for out in channels:
            layers += [nn.Conv2d(previous, out, 4, stride=2, padding=1), ACTIVATIONS[activation]()]
            previous = out
        h, w = sizes[-1]
        layers += [nn.Flatten(), nn.Linear(previous * h * w, hidden_dim), ACTIVATIONS[activation]()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class BurgessDecoder(nn.Module):
    """``[batch, latent_dim]`` → logits ``[batch, C, H, W]``."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, width: int, hidden_dim: int
    ) -> None:
        super().__init__()
        sizes = map_sizes(*image_shape[1:])[::-1]
        channels = _channels(width, len(sizes) - 1)[::-1]
        (h, w) = sizes[0]
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, channels[0] * h * w),
            nn.ReLU(),
            nn.Unflatten(1, (channels[0], h, w)),
        ]
        outs = channels[1:] + [image_shape[0]]
        for i, (inp, out) in enumerate(zip(channels, outs)):
            # one more pixel where the encoder's halving rounded an odd side down
            (h, w), (to_h, to_w) = sizes[i], sizes[i + 1]
            extra = (to_h - 2 * h, to_w - 2 * w)
            layers.append(
                nn.ConvTranspose2d(inp, out, 4, stride=2, padding=1, output_padding=extra)
            )
            if i < len(outs) - 1:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


@register_backbone("burgess")
def burgess(
    image_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    width: int = 32,
    hidden_dim: int = 256,
    encoder_activation: str = "relu",
) -> Backbone:
    """The standard conv encoder/decoder; ``width`` is the first stage's channel count."""
    check_positive_int("burgess", "width", width)
    check_positive_int("burgess", "hidden_dim", hidden_dim)
    if encoder_activation not in ACTIVATIONS:
        raise ValueError(
            f"burgess: encoder_activation must be one of {', '.join(ACTIVATIONS)}, "
            f"got {encoder_activation!r}"
        )
    encoder = BurgessEncoder(image_shape, width, hidden_dim, encoder_activation)
    decoder = BurgessDecoder(image_shape, latent_dim, width, hidden_dim)
    return Backbone(encoder, decoder, hidden_dim)
