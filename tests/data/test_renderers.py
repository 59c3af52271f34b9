"""Renderer-specific facts: antialiased areas, no rotational symmetry, landmark of the orbit."""

import math

import pytest
import torch

from prodvae.data import get_dataset
from prodvae.data.sprites import MAX_RADIUS, SHAPES


@pytest.fixture(scope="module")
def sprites():
    return get_dataset("sprites")


def centred(shape, rotation=0.0, hue=0.0):
    return torch.tensor([[shape, 1.0, rotation, hue, 0.5, 0.5]], dtype=torch.float64)


@pytest.mark.parametrize(
    "name, unit_area",
    [("half_disc", math.pi * 0.9**2 / 2), ("ell", 0.5 * 1.6 + 1.1 * 0.5 - 0.3 * 0.5)],
)
@pytest.mark.parametrize("rotation", [0.0, 0.7])
def test_sprite_coverage_integrates_to_the_exact_area(sprites, name, unit_area, rotation):
    image = sprites.render(centred(SHAPES.index(name), rotation))[0]
    red = image[0].double() / 255  # hue 0 has full red
    pixel = 2.0 / 64
    expected = unit_area * MAX_RADIUS**2 / pixel**2
    assert red.sum().item() == pytest.approx(expected, rel=0.01)
    partial = ((image[0] > 0) & (image[0] < 255)).sum()
    assert partial > 10  # antialiased edge, not a binary mask


@pytest.mark.parametrize("shape", range(len(SHAPES)))
@pytest.mark.parametrize("fold", [2, 3, 4])
def test_no_sprite_has_rotational_symmetry(sprites, shape, fold):
    a = sprites.render(centred(shape, 0.3))[0].float()
    b = sprites.render(centred(shape, 0.3 + 2 * math.pi / fold))[0].float()
    assert (a - b).abs().sum() / a.sum() > 0.2  # a good share of the sprite moves


def test_hue_runs_round_the_colour_circle(sprites):
    hues = torch.tensor([0.0, 1 / 3, 2 / 3])
    images = torch.cat([sprites.render(centred(0, 0.0, h)) for h in hues.tolist()])
    dominant = images.flatten(2).float().sum(-1).argmax(1)
    assert dominant.tolist() == [0, 1, 2]  # red, green, blue


def test_torus_hands_are_told_apart():
    torus = get_dataset("torus")
    swapped = torus.render(torch.tensor([[0.5, 2.0], [2.0, 0.5]], dtype=torch.float64))
    assert (swapped[0].float() - swapped[1].float()).abs().mean() > 1.0


def test_orbit_azimuth_is_identifiable_for_a_sphere():
    orbit = get_dataset("orbit")
    sphere = orbit.spec[0].values.index(2.0)
    azimuths = torch.arange(30, dtype=torch.float64) * 2 * math.pi / 30
    values = torch.tensor([[sphere, 0.2, 0.6, 1.0, 0.0, 0.5]], dtype=torch.float64).repeat(30, 1)
    values[:, 4] = azimuths
    images = orbit.render(values).float().flatten(1) / 255
    distance = torch.cdist(images, images) / math.sqrt(images.shape[1])
    assert distance[~torch.eye(30, dtype=torch.bool)].min() > 0.01
