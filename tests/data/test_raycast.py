"""The ``orbit`` ray caster's shortcuts change no pixel: the object window, the sky rows,
float masks; and the object sits where the geometry says."""

import math

import pytest
import torch

from prodvae.data import get_dataset, orbit, raycast
from prodvae.data.raycast import camera_rays, is_less


def awkward_values(dataset, n, seed):
    """Random factor values, a third of them pushed past the grid: tiny to huge objects
    (the camera inside some of them) and elevations from below the floor to overhead."""
    values = dataset.sample_values(n, torch.Generator().manual_seed(seed))
    third = n // 3
    values[:third, 3] = torch.linspace(0.05, 9.0, third, dtype=torch.float64)
    values[third : 2 * third, 5] = torch.linspace(-1.5, 1.5, third, dtype=torch.float64)
    return values


@pytest.mark.parametrize("size", [16, 33, 64])
def test_object_window_holds_every_pixel_the_object_covers(monkeypatch, size):
    dataset = get_dataset("orbit", image_size=size)
    values = awkward_values(dataset, 240, seed=size)
    windowed = dataset.render(values)
    monkeypatch.setattr(orbit, "pixel_window", lambda extents, n: (slice(0, n), slice(0, n)))
    whole_frame = dataset.render(values)
    assert torch.equal(windowed, whole_frame)


def test_windows_are_much_smaller_than_the_frame_on_the_grid():
    dataset = get_dataset("orbit")
    values = dataset.sample_values(64, torch.Generator().manual_seed(0))
    shape, _, _, scale, azimuth, elevation = values.float().unbind(1)
    spheres = shape == 2
    radius = 0.5 * scale[spheres]
    extents = raycast.window_extents(azimuth[spheres], elevation[spheres], radius, 2 * radius)
    rows, cols = raycast.pixel_window(extents, 64)
    assert (rows.stop - rows.start) * (cols.stop - cols.start) < 0.5 * 64 * 64


@pytest.mark.parametrize("elevation", [-0.4, 0.0, 0.1, 0.3, 1.2])
def test_sky_is_exactly_the_rising_rays(elevation):
    n, size = 8, 48
    azimuth = torch.linspace(0.0, 6.0, n)
    elevations = torch.full((n,), elevation) + torch.linspace(0.0, 0.05, n)
    rays = camera_rays(azimuth, elevations, size)
    floor_rgb = torch.full((n, 3), 0.25)  # darker than any sky channel
    image = orbit.ground(rays, floor_rgb, elevations)
    sky = torch.tensor(orbit.SKY)[:, None, None]
    is_sky = (image == sky).all(dim=1)
    assert torch.equal(is_sky, rays.dz >= 0)


def test_float_masks_compare_like_booleans_and_nan_is_false():
    a = torch.tensor([[-1.0, 0.0, 2.0, math.nan]])
    b = torch.tensor([[0.0], [3.0]])
    mask = is_less(a, b)
    assert mask.dtype == a.dtype
    assert torch.equal(mask, (a < b).to(a.dtype))
    assert is_less(a, 0.0).tolist() == [[1.0, 0.0, 0.0, 0.0]]


def test_a_sphere_seen_head_on_is_a_disc_of_the_right_size():
    """Seen level from far enough, a sphere's silhouette subtends asin(r / distance)."""
    dataset = get_dataset("orbit", image_size=128)
    scale = 1.0
    values = torch.tensor([[2, 0.0, 0.5, scale, 0.3, 0.0]], dtype=torch.float64)
    image = dataset.render(values)[0].float()
    background = dataset.render(values * torch.tensor([1, 1, 1, 1e-4, 1, 1]))[0].float()
    covered = (image - background).abs().sum(0) > 0
    r = orbit.BASE_HALF_SIZE * scale
    centre = (r - raycast.TARGET_HEIGHT, raycast.CAMERA_DISTANCE)  # height, distance
    half_angle = math.asin(r / math.hypot(*centre))
    # the silhouette of a sphere is a circle only on axis; at this small offset its width
    # across (u) is 2 tan(half angle) in tangent units to within a pixel
    width = covered.any(0).sum().item()
    expected = 2 * math.tan(half_angle) / math.tan(raycast.HALF_FIELD_OF_VIEW) * 64
    assert abs(width - expected) <= 2
