"""The fixed embedding in which image distances are measured.

Pixel distances between images of a moving object stop growing once the object no longer
overlaps itself, which hides how far apart two values are. Blurring lets distances keep
growing over longer moves. The embedding of a path's images ``uint8 [n, C, H, W]``:

1. scale to ``[0, 1]`` and average-pool to at most :data:`SIZE` pixels a side;
2. four blocks: the image, and the image blurred by Gaussians of standard deviation 1/16,
   1/8 and 1/4 of its (smaller) side, with mirrored borders;
3. each block divided by the root-mean-square distance of the path's images from their mean
   in that block (so that every scale weighs alike), and the blocks concatenated.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: Images larger than this a side are pooled down to it first.
SIZE = 32
#: Blur widths as fractions of the image's side.
BLURS = (1 / 16, 1 / 8, 1 / 4)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """``images [n, C, H, W]`` blurred by a Gaussian of ``sigma`` pixels (separably, with
    mirrored borders)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    radius = min(radius, images.shape[-1] - 1, images.shape[-2] - 1)
    taps = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-(taps**2) / (2 * sigma * sigma))
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    out = F.pad(images, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


def embed_images(images: torch.Tensor) -> np.ndarray:
    """The embedding ``float64 [n, D]`` of one path's images ``uint8 [n, C, H, W]`` (see the
    module docstring)."""
    if images.ndim != 4:
        raise ValueError(f"images must have shape [n, C, H, W], got {tuple(images.shape)}")
    x = images.detach().to("cpu", torch.float32) / 255.0
    height, width = x.shape[-2:]
    if max(height, width) > SIZE:
        x = F.adaptive_avg_pool2d(x, (min(height, SIZE), min(width, SIZE)))
    side = min(x.shape[-2:])
    blocks = [x] + [gaussian_blur(x, side * fraction) for fraction in BLURS]
    parts = []
    for block in blocks:
        flat = block.flatten(1).double()
        spread = float((flat - flat.mean(0)).pow(2).sum(1).mean().sqrt())
        parts.append(flat / spread if spread > 0 else flat)
    return torch.cat(parts, dim=1).numpy()
