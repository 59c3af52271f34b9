"""Traversals follow each factor's topology; the grid and the GIF are laid out as documented."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence
from tests.tolerances import float_tol

from prodvae.viz.animation import LABEL_HEIGHT, write_traversal_gif
from prodvae.viz.tiles import PAD, display_scale
from prodvae.viz.traversals import plot_traversals, traverse_space


class Recorder:
    """A decoder that remembers the codes it was given."""

    def __init__(self, decode):
        self.decode, self.codes = decode, []

    def __call__(self, z):
        self.codes.append(z.clone())
        return self.decode(z)


def _rows(space, decode, num_steps=9, base=None):
    return {t.path.label.split(":")[0]: t for t in traverse_space(space, decode, num_steps, base)}


def test_one_row_per_factor_and_per_euclidean_axis(space, decode):
    rows = _rows(space, decode)
    assert list(rows) == [
        "z0 loop",
        "z1 segment",
        "z2 points",
        "z3 euclidean axis 0",
        "z3 euclidean axis 1",
    ]
    assert rows["z0 loop"].path.topology == "loop"
    assert "radius=3" in rows["z0 loop"].path.label


def test_loop_goes_once_around_and_its_last_frame_is_its_first(space, decode):
    loop = _rows(space, decode, num_steps=9)["z0 loop"]
    block = loop.path.codes[:, 0:2]
    # float64 codes and angles: a few roundings of their size (3, 2 pi, 360 degrees)
    on_ring, evenly, degrees = (float_tol(np.float64, size, 8) for size in (3, 2 * math.pi, 360))
    np.testing.assert_allclose(block.norm(dim=1), 3.0, rtol=0, atol=on_ring)
    angles = np.unwrap(np.arctan2(block[:, 1].numpy(), block[:, 0].numpy()))
    np.testing.assert_allclose(np.diff(angles), 2 * math.pi / 8, rtol=0, atol=evenly)  # once
    np.testing.assert_allclose(loop.path.positions, np.arange(9) * 45.0, rtol=0, atol=degrees)
    # one picture (angles 0 and 2 pi) rendered twice in float32 values <= 1: a rounding apart
    same = float_tol(np.float32, 1.0, 1)
    np.testing.assert_allclose(loop.images[0], loop.images[-1], rtol=0, atol=same)
    # and the loop really moves the picture in between
    assert np.abs(loop.images[4] - loop.images[0]).max() > 0.5


def test_point_set_segment_and_euclidean_paths(space, decode):
    rows = _rows(space, decode, num_steps=5)
    points = rows["z2 points"].path
    np.testing.assert_allclose(points.codes[:, 3], [-4.5, -1.5, 1.5, 4.5])
    np.testing.assert_array_equal(points.positions, [0, 1, 2, 3])
    segment = rows["z1 segment"].path.codes[:, 2]
    np.testing.assert_allclose(segment, np.linspace(-2.0, 2.0, 5))
    for axis in (0, 1):
        sweep = rows[f"z3 euclidean axis {axis}"].path.codes[:, 4:6]
        np.testing.assert_allclose(sweep[:, axis], np.linspace(-2.0, 2.0, 5))
        np.testing.assert_allclose(sweep[:, 1 - axis], 0.0)


def test_other_factors_stay_at_the_base(space, decode):
    base = torch.tensor([0.0, -3.0, 1.0, 1.5, 0.7, -0.2], dtype=torch.float64)
    recorder = Recorder(decode)
    traversals = traverse_space(space, recorder, num_steps=5, base=base)
    (codes,) = recorder.codes
    assert codes.dtype == torch.float32 and codes.shape == (5 + 5 + 4 + 5 + 5, 6)
    segment_row = traversals[1].path.codes
    np.testing.assert_allclose(segment_row[:, [0, 1, 3, 4, 5]], base[[0, 1, 3, 4, 5]].expand(5, 5))
    # within a Euclidean block, the axis not swept keeps its base value
    np.testing.assert_allclose(traversals[3].path.codes[:, 5], -0.2)
    np.testing.assert_allclose(traversals[4].path.codes[:, 4], 0.7)


def test_bad_arguments_raise(space, decode):
    with pytest.raises(ValueError, match="num_steps"):
        traverse_space(space, decode, num_steps=1)
    with pytest.raises(ValueError, match="returned 3 images"):
        traverse_space(space, lambda z: decode(z)[:3], num_steps=5)
    with pytest.raises(ValueError, match="base"):
        traverse_space(space, decode, base=torch.full((6,), math.nan))


def test_grid_png_has_a_row_per_traversal(space, decode, tmp_path):
    traversals = traverse_space(space, decode, num_steps=7)
    full = plot_traversals(traversals, tmp_path / "all.png")
    two = plot_traversals(traversals[:2], tmp_path / "two.png")
    with Image.open(full.path) as image:
        assert image.size == (full.width, full.height)
    row_height = (full.height - two.height) / 3
    assert row_height == int(row_height) and row_height > display_scale(16) * 16
    assert full.width == two.width
    again = plot_traversals(traverse_space(space, decode, num_steps=7), tmp_path / "again.png")
    assert again.path.read_bytes() == full.path.read_bytes()


def _gif_frames(path):
    with Image.open(path) as image:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(image)]


def test_gif_closes_on_itself_for_the_loop(space, decode, tmp_path):
    traversals = traverse_space(space, decode, num_steps=9)
    gif = write_traversal_gif(traversals, tmp_path / "traversals.gif")
    frames = _gif_frames(gif.path)
    scale, tile = display_scale(16), 16 + PAD
    assert len(frames) == 9
    assert frames[0].shape == (LABEL_HEIGHT + scale * (16 + 2 * PAD), scale * (5 * tile + PAD), 3)
    assert (gif.width, gif.height) == frames[0].shape[1::-1]

    def tile_of(frame, column):
        left = scale * (PAD + column * tile)
        return frame[LABEL_HEIGHT:, left : left + scale * 16]

    np.testing.assert_array_equal(tile_of(frames[0], 0), tile_of(frames[-1], 0))  # loop closes
    assert not np.array_equal(tile_of(frames[0], 0), tile_of(frames[4], 0))
    assert not np.array_equal(tile_of(frames[0], 1), tile_of(frames[-1], 1))  # segment: end to end
    again = write_traversal_gif(traverse_space(space, decode, 9), tmp_path / "again.gif")
    assert again.path.read_bytes() == gif.path.read_bytes()
