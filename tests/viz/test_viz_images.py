"""Image checking, the reconstruction grid and deterministic, atomic figure files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from prodvae.viz.reconstructions import plot_reconstructions, reconstruction_grid
from prodvae.viz.tiles import PAD, as_images, display_scale


def _images(n: int, seed: int = 0, size: int = 16) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_as_images_converts_uint8_and_grey():
    grey = torch.full((2, 1, 4, 4), 255, dtype=torch.uint8)
    out = as_images(grey)
    assert out.shape == (2, 4, 4, 3)
    assert np.all(out == 1.0)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (torch.zeros(3, 16, 16), "shape"),
        (torch.zeros(2, 2, 16, 16), "shape"),
        (torch.full((1, 3, 4, 4), float("nan")), "non-finite"),
        (torch.full((1, 3, 4, 4), 1.5), r"\[0, 1\]"),
    ],
)
def test_as_images_rejects_bad_input_naming_it(bad, message):
    with pytest.raises(ValueError, match=f"inputs.*{message}|{message}"):
        as_images(bad, "inputs")


def test_reconstruction_grid_puts_inputs_over_reconstructions():
    inputs, recon = _images(3, 0), _images(3, 1)
    grid = reconstruction_grid(inputs, recon)
    assert grid.shape == (2 * (16 + PAD) + PAD, 3 * (16 + PAD) + PAD, 3)
    for i in range(3):
        left = PAD + i * (16 + PAD)
        top_tile = grid[PAD : PAD + 16, left : left + 16]
        bottom_tile = grid[2 * PAD + 16 : 2 * PAD + 32, left : left + 16]
        np.testing.assert_array_equal(top_tile, inputs[i].permute(1, 2, 0).numpy())
        np.testing.assert_array_equal(bottom_tile, recon[i].permute(1, 2, 0).numpy())


def test_reconstruction_figure_size_follows_the_number_of_images(tmp_path):
    small = plot_reconstructions(_images(4), _images(4, 1), tmp_path / "four.png")
    large = plot_reconstructions(_images(8), _images(8, 1), tmp_path / "eight.png")
    for figure in (small, large):
        with Image.open(figure.path) as image:
            assert image.size == (figure.width, figure.height)
    # four more 16-pixel tiles, each enlarged by the display scale, and nothing else
    assert large.width - small.width == 4 * display_scale(16) * (16 + PAD)
    assert large.height == small.height


def test_reconstruction_png_is_deterministic(tmp_path):
    first = plot_reconstructions(_images(6), _images(6, 1), tmp_path / "a.png")
    second = plot_reconstructions(_images(6), _images(6, 1), tmp_path / "b.png")
    other = plot_reconstructions(_images(6), _images(6, 2), tmp_path / "c.png")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.path.read_bytes() != other.path.read_bytes()


def test_mismatched_reconstructions_raise_and_keep_the_old_file(tmp_path):
    path = tmp_path / "recon.png"
    plot_reconstructions(_images(4), _images(4, 1), path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="differ in shape"):
        plot_reconstructions(_images(4), _images(5, 1), path)
    assert path.read_bytes() == before
