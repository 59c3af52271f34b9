"""``python -m benchmarks.unseen`` writes labelled files of pictures turned, recoloured and
moved: loops whose orbits the recipe reads from the images, one of them with near repeats."""

import math

import numpy as np
import pytest
import torch
from benchmarks import unseen

from prodvae.data import FactorSpec, from_file
from prodvae.metrics.circular import circular_alignment
from prodvae.objectives.anchor import SPECIFIC, Anchor, anchor_images, plane_specificity
from prodvae.objectives.orbit_pull import orbit_frames
from prodvae.objectives.orbits import orbit_angles, orbit_cells
from prodvae.train.build import auto_space


def test_the_files_hold_the_factors_they_say_and_their_loops_read_round(tmp_path):
    colour = [name for name in unseen.FILES if name != "binary"]  # binary: its own test
    unseen.main(["--out", str(tmp_path), "--files", *colour])
    photo, symmetric, real = (
        from_file(tmp_path / f"{name}.npz") for name in ("photo", "symmetric", "real")
    )
    assert photo.is_grid and photo.factor_sizes == (36, 12, 5)
    assert symmetric.is_grid and symmetric.factor_sizes == (3, 24, 8, 12)
    assert real.is_grid and real.factor_sizes == (4, 36, 5, 5)
    assert photo.image_shape == symmetric.image_shape == real.image_shape == (3, 32, 32)
    assert [f.symmetry for f in symmetric.spec] == [1, 3, 1, 1]
    assert [f.kind for f in real.spec] == ["points", "loop", "segment", "segment"]
    for data in (photo, symmetric, real):
        for k, factor in enumerate(data.spec):
            if factor.kind != "loop":
                continue
            cell = torch.zeros(data.num_factors, dtype=torch.long)
            cell[0] = data.factor_sizes[0] - 1  # not the first value of the first factor
            orbit = data.images_from_factors(orbit_cells(cell, k, data.factor_sizes[k]))
            truth = np.asarray(factor.values) * factor.symmetry
            assert circular_alignment(orbit_angles(orbit).numpy(), truth) > 0.99, factor.name
    # the symmetric turn's views a third of a turn apart: near repeats, never the same pixels
    cell = torch.tensor([0, 0, 0, 0])
    turn = symmetric.images_from_factors(orbit_cells(cell, 1, 24)).double()
    apart = (turn[:8] - turn[8:16]).pow(2).sum((1, 2, 3))
    beside = (turn[:8] - turn[1:9]).pow(2).sum((1, 2, 3))
    assert bool((apart > 0).all()) and float(apart.max()) < 0.1 * float(beside.min())
    # the scattered file: the real crops, each row at values of its own
    scattered = from_file(tmp_path / "scattered.npz")
    values = scattered.factors_at(np.arange(len(scattered))).numpy()
    assert not scattered.is_grid and values.shape == (4000, 4)
    assert [f.kind for f in scattered.spec] == [f.kind for f in real.spec]
    assert set(values[:, 0]) == {0.0, 1.0, 2.0, 3.0}
    assert all(len(np.unique(values[:, k])) == 4000 for k in (1, 2, 3))  # no value twice
    for k, (low, high) in zip((1, 2, 3), ((0, 2 * math.pi), (0.5, 1.0), (-0.3, 0.3))):
        assert low <= values[:, k].min() and values[:, k].max() < high
    photos = from_file(tmp_path / "scattered_photo.npz")
    turned = photos.factors_at(np.arange(len(photos))).numpy()
    assert not photos.is_grid and turned.shape == (4000, 3)
    assert [f.kind for f in photos.spec] == [f.kind for f in photo.spec]
    assert all(len(np.unique(turned[:, k])) == 4000 for k in range(3))
    t, h, r = turned[7]
    shown = unseen.view(unseen.picture(0), 32, turn=t, hue=h, radius=r)
    assert np.array_equal(photos.images_at(np.array([7]))[0].permute(1, 2, 0), shown)
    crops = [unseen.crop(*where) for where in unseen.CROPS]
    for row in (0, 1234, 3999):
        c, t, z, x = values[row]
        shown = unseen.view(crops[int(c)], 32, turn=t, zoom=z, shift=x)
        assert np.array_equal(scattered.images_at(np.array([row]))[0].permute(1, 2, 0), shown)


def test_a_view_zooms_into_the_middle_and_shifts_the_disc():
    image = np.zeros((64, 64, 3))
    image[..., 2] = 1.0  # blue
    image[16:48, 16:48] = (1.0, 0.0, 0.0)  # the middle half red
    whole, zoomed = unseen.view(image, 32), unseen.view(image, 32, zoom=0.5)
    inside = whole.sum(-1) > 0
    assert (zoomed.sum(-1) > 0).tolist() == inside.tolist()  # the same disc
    assert int(whole[inside, 2].max()) == 255 and int(zoomed[inside, 2].max()) == 0
    assert int(zoomed[inside, 0].min()) > 0  # only the red middle, to the disc's soft edge
    # a shift of 0.25 of half the frame is 4 pixels at 32 (exact in binary: x / 16 - 0.25 is
    # (x - 4) / 16): the same disc and picture, 4 columns right
    shifted = unseen.view(image, 32, shift=0.25)
    assert not shifted[:, :4].any()
    assert np.array_equal(shifted[:, 4:], whole[:, :-4])


def test_the_real_crops_are_the_sample_photographs_shrunk():
    from PIL import Image
    from sklearn.datasets import load_sample_image

    for name, top, left, side in unseen.CROPS:
        picture = unseen.crop(name, top, left, side, size=32)
        pixels = load_sample_image(name)[top : top + side, left : left + side]
        assert pixels.shape == (side, side, 3)  # square, inside the photograph
        box = np.asarray(Image.fromarray(pixels).resize((32, 32), Image.BOX)) / 255
        # Lanczos and box filters of the same pixels: near, not equal (ringing at edges)
        assert picture.shape == (32, 32, 3) and np.abs(picture - box).mean() < 0.05
    with pytest.raises(ValueError, match="runs off china.jpg"):
        unseen.crop("china.jpg", 300, 0, 200)  # 300 + 200 > 427 rows


def test_the_grid_runs_the_last_factor_fastest_and_a_zoom_shows_the_middle():
    spec = (
        FactorSpec("a", "segment", values=(0.5, 1.0)),
        FactorSpec("b", "points", values=(0.0, 1.0, 2.0)),
    )
    assert unseen.grid_values(spec).tolist() == [
        [0.5, 0.0],
        [0.5, 1.0],
        [0.5, 2.0],
        [1.0, 0.0],
        [1.0, 1.0],
        [1.0, 2.0],
    ]
    image = np.random.default_rng(0).uniform(size=(64, 64, 3))
    # the zoom's share of the picture: the middle half at 0.5 is what zoom 1 shows of a
    # picture cut to its middle half (the same sample points, up to the bilinear reads)
    middle = image[16:48, 16:48]
    near = unseen.view(middle, 32, zoom=63 / 31 * 0.5).astype(int)
    assert np.abs(unseen.view(image, 32, zoom=0.5).astype(int) - near).max() <= 1


def test_a_hue_turn_keeps_grey_and_goes_once_round():
    grey = np.full((4, 3), 0.5)
    assert np.allclose(unseen.hue_turned(grey, 1.0), grey, atol=1e-12)
    red = np.array([0.8, 0.5, 0.2])
    assert np.allclose(unseen.hue_turned(red, 2 * math.pi), red, atol=1e-12)
    third = unseen.hue_turned(red, 2 * math.pi / 3)  # a third of a turn: the channels shifted
    assert np.allclose(third, np.roll(red, 1), atol=1e-12)


def test_a_hue_whose_plane_is_barely_singled_out_is_left_to_its_orbits(tmp_path, caplog):
    """The symmetric file's hue: a picture's colours turning while it also turns and moves.
    Its pairs single out its plane only a little (1.6 times the other pairs, under the bar),
    so the recipe's start leaves it, with the turn (no plane at all), to the orbit pull, which
    reads both from their orbits; the place, a disc going round the frame, starts on its
    plane."""
    unseen.main(["--out", str(tmp_path), "--files", "symmetric"])
    data = from_file(tmp_path / "symmetric.npz")
    images, pairs, changed = anchor_images(data, torch.Generator().manual_seed(0), True)
    space = auto_space(data)
    anchor = Anchor.fit(space, images, pairs, changed=changed)
    differences = (pairs[0] - pairs[1]).flatten(1).double()
    ratios = plane_specificity(differences, changed, [factor.dim for factor in space.factors])
    turn, hue, place = 1, 2, 3
    assert 1.2 < ratios[hue] < SPECIFIC and ratios[turn] < 1.2
    assert [bool(anchor.anchored[space.slices[k]].all()) for k in (turn, hue, place)] == [
        False,
        False,
        True,
    ]
    with caplog.at_level("INFO", logger="prodvae.objectives.orbit_pull"):
        frames = orbit_frames(data, space, [0, 1, 2, 3], anchor.anchored, 8, torch.Generator())
    assert sorted(frames) == [turn, hue]
    assert "loop block 2 (hue) is pulled toward the angles round its orbits" in caplog.text


def test_the_real_files_zoom_start_is_folded_by_crop_and_named(tmp_path, caplog):
    """The zoom's one linear direction reads the pagoda's zoom the other way from the other
    crops' (a start folded by crop, which training kept in one seed of five), and the pairs
    that keep the zoom show it: the log names the zoom, not the shift (read alike in every
    crop); both start."""
    unseen.main(["--out", str(tmp_path), "--files", "real"])
    data = from_file(tmp_path / "real.npz")
    images, pairs, changed = anchor_images(data, torch.Generator().manual_seed(0), True)
    space = auto_space(data)
    with caplog.at_level("WARNING", logger="prodvae.objectives.anchor"):
        anchor = Anchor.fit(space, images, pairs, changed=changed)
    crop, zoom, shift = 0, 2, 3
    assert anchor.anchored[space.slices[zoom]].all() and anchor.anchored[space.slices[shift]].all()
    assert f"keep segment factor {zoom} (segment) move its start" in caplog.text
    assert f"segment factor {shift}" not in caplog.text
    # the fold itself: the start's zoom coordinate against the zoom,
    # crop by crop -- one crop's one way, the other three's the other
    cells = torch.cartesian_prod(*(torch.arange(n) for n in data.factor_sizes))
    layout = anchor(data.images_from_factors(cells).float() / 255)[:, space.slices[zoom]][:, 0]
    signs = []
    for k in range(data.factor_sizes[crop]):
        mine = cells[:, crop] == k
        signs.append(float(np.sign(np.corrcoef(layout[mine].numpy(), cells[mine, zoom])[0, 1])))
    assert sorted(signs) in ([-1.0, 1.0, 1.0, 1.0], [-1.0, -1.0, -1.0, 1.0])


def test_the_binary_file_holds_dsprites_shapes_and_symmetries(tmp_path):
    from tests.discover.standard_fixtures import dsprites_sprite

    data = from_file(unseen.binary(tmp_path / "b.npz", 16, scales=2, places=2))
    assert data.is_grid and data.factor_sizes == (3, 2, 39, 2, 2)
    assert data.image_shape == (1, 16, 16)
    assert [f.kind for f in data.spec] == ["points", "segment", "loop", "segment", "segment"]
    assert data.spec[2].symmetry_given == ("shape", (4, 2, 1))
    # each pixel the mean of a 2 x 2 block of the fixture's black-and-white sprite
    rows = np.array([0, 700, len(data) - 1])
    for row, image in zip(rows, data.images_at(rows)):
        shape, scale, turn, x, y = data.factors_at(np.array([row]))[0].tolist()
        drawn = dsprites_sprite(int(shape) + 1, scale, turn, x, y, size=32).astype(float)
        pooled = drawn.reshape(16, 2, 16, 2).mean(axis=(1, 3))
        assert np.array_equal(image[0].numpy(), np.round(pooled * 255).astype(np.uint8))
