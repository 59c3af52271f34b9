"""``torus``: a dial with two independent hands, the smallest dataset with two full loops.

The factor space is a torus S^1 x S^1: the angle of a long thin orange hand and the angle of
a short thick blue hand, both measured clockwise from twelve o'clock, period ``2*pi``. The
hands differ in length, width and colour, so every pair of angles gives a different image,
including when the hands overlap.
"""

from __future__ import annotations

import math

import torch

from prodvae.data.procedural import (
    ProceduralDataset,
    check_image_size,
    check_sizes,
    grid_values,
)
from prodvae.data.raster import coverage, length, pixel_grid
from prodvae.data.registry import register_dataset
from prodvae.data.spec import FactorSpec

BACKGROUND = (0.08, 0.08, 0.1)
FACE = (0.22, 0.22, 0.25)
LONG_HAND = (1.0, 0.6, 0.1)  # colour, then length and half-width below (image half-widths)
SHORT_HAND = (0.25, 0.55, 1.0)
LONG_SHAPE = (0.85, 0.09)
SHORT_SHAPE = (0.5, 0.14)


def hand_distance(
    points: torch.Tensor, angle: torch.Tensor, shape: tuple[float, float]
) -> torch.Tensor:
    """Signed distance ``[n, H, W]`` from pixels ``[H, W, 2]`` to hands at ``angle [n]``.

    A hand is a capsule from the centre along ``(sin a, cos a)`` (clockwise from up).
    """
    reach, half_width = shape
    x, y = points[..., 0], points[..., 1]  # [H, W]: planes are faster than [..., 2]
    sin, cos = torch.sin(angle)[:, None, None], torch.cos(angle)[:, None, None]
    along = (x * sin + y * cos).clamp_(0.0, reach)  # [n, H, W]
    return length(x - along * sin, y - along * cos).sub_(half_width)


@register_dataset("torus")
class Torus(ProceduralDataset):
    """Two-hand dial; factors ``long_hand`` and ``short_hand`` (loops, radians).

    Args:
        image_size: height and width in pixels.
        factor_sizes: grid sizes of the two angles (default ``(40, 40)``).
    """

    def __init__(self, image_size: int = 64, factor_sizes: tuple[int, int] | None = None) -> None:
        sizes = check_sizes(factor_sizes, (40, 40))
        spec = tuple(
            FactorSpec(name, "loop", grid_values("loop", size, 0.0, 2 * math.pi), 2 * math.pi)
            for name, size in zip(("long_hand", "short_hand"), sizes)
        )
        super().__init__(spec, check_image_size(image_size))

    def draw(self, values: torch.Tensor) -> torch.Tensor:
        points = pixel_grid(self.image_size, device=values.device)
        pixel = 2.0 / self.image_size
        dial = coverage(points.norm(dim=-1) - 0.95, pixel)  # [H, W]
        image = torch.lerp(_colour(BACKGROUND, values), _colour(FACE, values), dial)
        image = image.expand(values.shape[0], -1, -1, -1)
        for column, colour, shape in ((1, SHORT_HAND, SHORT_SHAPE), (0, LONG_HAND, LONG_SHAPE)):
            alpha = coverage(hand_distance(points, values[:, column], shape), pixel)[:, None]
            # one lerp is several times faster than the same blend in three operations
            image = torch.lerp(image, _colour(colour, values).expand_as(image), alpha)
        return image


def _colour(rgb: tuple[float, float, float], like: torch.Tensor) -> torch.Tensor:
    """An RGB colour as a ``[3, 1, 1]`` tensor on the device of ``like``."""
    return torch.tensor(rgb, device=like.device, dtype=like.dtype).view(3, 1, 1)
