"""Small deterministic stand-ins for the viz tests: a decoder, a model and a grid dataset."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from prodvae.data import FactorSpec
from prodvae.spaces import ProductSpace

IMAGE_SIZE = 16


def render_codes(z: torch.Tensor, space: ProductSpace) -> torch.Tensor:
    """A smooth, deterministic decoder ``[n, dim] -> [n, 3, 16, 16]`` in [0, 1].

    Red: a blob at the angle of the first 2-D block; green: a horizontal bar whose
    brightness follows the first 1-D block; blue: a level that follows the remaining code.
    """
    z = z.to(torch.float64)
    n = z.shape[0]
    axis = torch.linspace(-1.0, 1.0, IMAGE_SIZE, dtype=torch.float64)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    blocks = space.split(z)
    plane = next((b for b in blocks if b.shape[1] == 2), torch.zeros(n, 2, dtype=torch.float64))
    line = next((b for b in blocks if b.shape[1] == 1), torch.zeros(n, 1, dtype=torch.float64))
    angle = torch.atan2(plane[:, 1], plane[:, 0])
    cx, cy = 0.6 * torch.cos(angle), 0.6 * torch.sin(angle)
    dist2 = (xx - cx[:, None, None]) ** 2 + (yy - cy[:, None, None]) ** 2
    red = torch.exp(-dist2 / 0.05)
    green = torch.sigmoid(line[:, 0])[:, None, None] * (yy.abs() < 0.2)
    blue = torch.sigmoid(z.sum(dim=1) / 4)[:, None, None].expand(n, IMAGE_SIZE, IMAGE_SIZE)
    return torch.stack([red, green, blue], dim=1).to(torch.float32)


class ToyModel(torch.nn.Module):
    """``space``, ``codes`` (a fixed linear map of the image) and ``reconstruct``."""

    def __init__(self, space: ProductSpace, image_shape=(3, IMAGE_SIZE, IMAGE_SIZE)) -> None:
        super().__init__()
        self.space = space
        generator = torch.Generator().manual_seed(1)
        self.encoder = torch.nn.Linear(int(np.prod(image_shape)), space.dim)
        with torch.no_grad():
            self.encoder.weight.copy_(torch.randn(self.encoder.weight.shape, generator=generator))
            self.encoder.bias.zero_()

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1)) / 10

    def reconstruct(self, z: torch.Tensor) -> torch.Tensor:
        return render_codes(z, self.space)


class ToyGrid:
    """A factor grid: hue (loop, 8 values, period 1), scale (segment, 4), shape (points, 3)."""

    spec = (
        FactorSpec("hue", "loop", tuple(np.arange(8) / 8), 1.0),
        FactorSpec("scale", "segment", (0.5, 0.75, 1.0, 1.25)),
        FactorSpec("shape", "points", (0.0, 1.0, 2.0)),
    )
    factor_sizes = (8, 4, 3)
    is_grid = True
    image_shape = (3, IMAGE_SIZE, IMAGE_SIZE)

    def __len__(self) -> int:
        return int(np.prod(self.factor_sizes))

    def sample_factors(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.stack(
            [torch.randint(size, (n,), generator=generator) for size in self.factor_sizes], 1
        )

    def factor_values(self, indices: torch.Tensor) -> torch.Tensor:
        columns = [
            torch.tensor(s.values, dtype=torch.float64)[indices[:, k]]
            for k, s in enumerate(self.spec)
        ]
        return torch.stack(columns, 1)

    def images_from_factors(self, indices: torch.Tensor) -> torch.Tensor:
        values = self.factor_values(indices)
        angle = 2 * math.pi * values[:, 0]
        z = torch.stack([torch.cos(angle), torch.sin(angle), values[:, 1], values[:, 2]], 1)
        space = ProductSpace.parse("loop * segment * points(3)")
        return (render_codes(z, space) * 255).round().to(torch.uint8)


@pytest.fixture
def space() -> ProductSpace:
    return ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * points(4, 3, 0.5) * euclidean(2)")


@pytest.fixture
def decode(space):
    return lambda z: render_codes(z, space)


@pytest.fixture(scope="module")
def toy_model() -> ToyModel:
    return ToyModel(ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * points(3, 3, 0.5)"))


@pytest.fixture(scope="module")
def toy_grid() -> ToyGrid:
    return ToyGrid()
