"""Contract of every procedural dataset: grid access, determinism, loop closure, identifiability."""

import math

import numpy as np
import pytest
import torch

from prodvae.data import DATASETS, ProceduralDataset, get_dataset
from prodvae.data.grid import unravel_flat

SMALL = {
    "torus": dict(image_size=32, factor_sizes=(6, 5)),
    "sprites": dict(image_size=32, factor_sizes=(4, 2, 6, 3, 2, 2)),
    "orbit": dict(image_size=32, factor_sizes=(4, 3, 2, 2, 6, 2)),
}
PROCEDURAL = sorted(
    n for n, f in DATASETS.items() if isinstance(f, type) and issubclass(f, ProceduralDataset)
)


def test_every_procedural_dataset_is_covered():
    assert PROCEDURAL == sorted(SMALL)


@pytest.fixture(scope="module", params=PROCEDURAL)
def dataset(request):
    return get_dataset(request.param, **SMALL[request.param])


def test_shapes_and_dtypes(dataset):
    assert len(dataset) == math.prod(dataset.factor_sizes) and dataset.is_grid
    assert dataset.is_procedural and dataset.num_factors == len(dataset.spec)
    image, factors = dataset[len(dataset) - 1]
    assert image.dtype == torch.uint8 and image.shape == (3, 32, 32)
    assert factors.dtype == torch.float64 and factors.shape == (dataset.num_factors,)


def test_item_matches_grid_access(dataset):
    rows = np.array([0, 7, len(dataset) - 1])
    indices = unravel_flat(rows, dataset.factor_sizes)
    images = dataset.images_from_factors(indices)
    assert torch.equal(images, dataset.render(dataset.factor_values(indices)))
    values = dataset.factor_values(indices)
    for row, image, factors in zip(rows, images, values):
        item = dataset[int(row)]
        assert torch.equal(item.image, image) and torch.equal(item.factors, factors)


def test_rendering_is_deterministic_and_batch_invariant(dataset):
    values = dataset.sample_values(150, torch.Generator().manual_seed(0))
    whole = dataset.render(values)
    assert torch.equal(whole, dataset.render(values))
    parts = torch.cat(
        [dataset.render(values[:1]), dataset.render(values[1:90]), dataset.render(values[90:])]
    )
    assert torch.equal(whole, parts)


def test_sample_values_are_reproducible_and_in_range(dataset):
    a = dataset.sample_values(400, torch.Generator().manual_seed(5))
    assert torch.equal(a, dataset.sample_values(400, torch.Generator().manual_seed(5)))
    for k, factor in enumerate(dataset.spec):
        grid = torch.tensor(factor.values, dtype=torch.float64)
        if factor.kind == "points":
            assert torch.isin(a[:, k], grid).all()
        elif factor.kind == "segment":
            assert grid.min() <= a[:, k].min() and a[:, k].max() <= grid.max()
        else:  # off-grid values cover the whole period
            assert a[:, k].max() - a[:, k].min() > 0.9 * factor.period


def test_sample_factors_are_in_range(dataset):
    indices = dataset.sample_factors(300, torch.Generator().manual_seed(2))
    assert indices.dtype == torch.long
    assert (indices >= 0).all() and (indices < torch.tensor(dataset.factor_sizes)).all()


def loop_columns(dataset):
    return [k for k, f in enumerate(dataset.spec) if f.kind == "loop"]


def test_loop_closes_after_one_period(dataset):
    base = dataset.sample_values(20, torch.Generator().manual_seed(1))
    for k in loop_columns(dataset):
        period = dataset.spec[k].period
        at_zero, at_period = base.clone(), base.clone()
        at_zero[:, k], at_period[:, k] = 0.0, period
        assert torch.equal(dataset.render(at_zero), dataset.render(at_period))
        shifted = base.clone()
        shifted[:, k] += period
        gap = (dataset.render(shifted).int() - dataset.render(base).int()).abs()
        assert gap.max() <= 1  # off-grid values: at most one rounding step apart


def test_every_loop_value_gives_a_different_image(dataset):
    """Identifiability: along each loop, with the other factors fixed, no two images agree."""
    base = dataset.sample_values(4, torch.Generator().manual_seed(3))
    for k in loop_columns(dataset):
        period = dataset.spec[k].period
        steps = torch.arange(24, dtype=torch.float64) * period / 24
        for row in base:
            values = row.repeat(24, 1)
            values[:, k] = steps
            images = dataset.render(values).float().flatten(1)
            distance = torch.cdist(images, images)
            off_diagonal = distance[~torch.eye(24, dtype=torch.bool)]
            assert off_diagonal.min() > 0, (dataset.spec[k].name, row)


@pytest.mark.parametrize("bad", [torch.zeros(3, 1), torch.full((2, 6), float("nan"))])
def test_render_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="values"):
        get_dataset("sprites", **SMALL["sprites"]).render(bad)


@pytest.mark.parametrize("name", PROCEDURAL)
def test_bad_options_are_rejected(name):
    with pytest.raises(ValueError, match="factor_sizes"):
        get_dataset(name, factor_sizes=(0,) * len(SMALL[name]["factor_sizes"]))
    with pytest.raises(ValueError, match="factor_sizes"):
        get_dataset(name, factor_sizes=(2,))
    with pytest.raises(ValueError, match="image_size"):
        get_dataset(name, image_size=-4)


def test_unknown_dataset_or_option_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        get_dataset("nope")
    with pytest.raises(ValueError, match="image_sise"):
        get_dataset("torus", image_sise=32)


def test_defaults_are_comparable_to_dsprites_and_shapes3d():
    assert 400_000 <= len(get_dataset("sprites")) <= 2_000_000
    assert len(get_dataset("orbit")) == 480_000


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", PROCEDURAL)
def test_gpu_render_matches_cpu(name):
    dataset = get_dataset(name, **SMALL[name])
    values = dataset.sample_values(64, torch.Generator().manual_seed(0))
    gpu = dataset.render(values, device="cuda")
    assert gpu.device.type == "cuda"
    assert (gpu.cpu().int() - dataset.render(values).int()).abs().float().mean() < 0.05


def test_a_factor_of_one_value_is_held_at_it():
    """Rotation and hue of sprites at one grid value each: every rendered sample keeps them
    (before, a loop of one value was drawn over its whole period, while ``model.space: auto``
    leaves it out as constant)."""
    held = get_dataset("sprites", image_size=32, factor_sizes=(4, 2, 1, 1, 2, 2))
    values = held.sample_values(200, torch.Generator().manual_seed(0))
    for k in (2, 3):
        assert torch.equal(values[:, k], torch.full((200,), held.spec[k].values[0]).double())
    assert values[:, 4].unique().numel() > 100  # the others still vary
