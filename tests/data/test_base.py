"""The dataset protocol as a torch Dataset, and FactorSpec's dSprites-style symmetry."""

import pickle

import h5py
import numpy as np
import pytest
import torch

from prodvae.data import FactorSpec, Sample, from_file, get_dataset


def test_dataloader_batches_named_samples():
    torus = get_dataset("torus", image_size=16, factor_sizes=(4, 4))
    batch = next(iter(torch.utils.data.DataLoader(torus, batch_size=5, shuffle=False)))
    assert isinstance(batch, Sample)
    assert batch.image.shape == (5, 3, 16, 16) and batch.image.dtype == torch.uint8
    assert torch.equal(batch.factors, torus.factors_at(np.arange(5)))


def test_indexing_bounds():
    torus = get_dataset("torus", image_size=8, factor_sizes=(2, 3))
    assert torch.equal(torus[-1].image, torus[5].image)
    with pytest.raises(IndexError):
        torus[6]
    with pytest.raises(TypeError):
        torus[1.5]


def test_grid_methods_check_their_input():
    torus = get_dataset("torus", image_size=8, factor_sizes=(2, 3))
    with pytest.raises(ValueError, match="shape"):
        torus.factor_values(torch.zeros(4, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="out of range"):
        torus.images_from_factors(torch.tensor([[0, 3]]))
    with pytest.raises(ValueError, match="integers"):
        torus.factor_values(torch.zeros(1, 2))


def test_lazy_h5_dataset_survives_pickling(tmp_path):
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as handle:
        handle["images"] = np.arange(4 * 2 * 2 * 1, dtype=np.uint8).reshape(4, 2, 2, 1)
        handle["factors"] = np.arange(4.0)[:, None]
        handle.attrs["factor_spec"] = '[{"name": "a", "kind": "segment"}]'
    dataset = from_file(path, lazy=True)
    first = dataset[3].image
    clone = pickle.loads(pickle.dumps(dataset))  # what a spawned DataLoader worker gets
    assert torch.equal(clone[3].image, first)


def test_symmetry_given_is_validated():
    spec = FactorSpec("orientation", "loop", (0.0, 1.0), 2.0, symmetry_given=("shape", [4, 2]))
    assert spec.symmetry_given == ("shape", (4, 2))
    with pytest.raises(ValueError, match="symmetry_given"):
        FactorSpec("x", "segment", (0.0,), symmetry_given=("shape", (2,)))
    with pytest.raises(ValueError, match="symmetry_given"):
        FactorSpec("o", "loop", (0.0,), 1.0, symmetry_given=("shape", (0,)))


def test_a_dataset_that_names_a_factor_twice_is_refused():
    """Scores and figures are keyed by factor name: one factor would hide the other."""
    from prodvae.data.array_dataset import ArrayDataset

    spec = (FactorSpec("x", "segment", (0.0, 1.0)), FactorSpec("x", "points", (0.0, 1.0)))
    images = np.zeros((2, 8, 8, 1), dtype=np.uint8)
    with pytest.raises(ValueError, match="spec names 'x' twice"):
        ArrayDataset(images, np.array([[0.0, 0.0], [1.0, 1.0]]), spec)


def test_a_loop_spec_holding_one_point_as_two_values_is_refused():
    """Wherever a spec is built (a file, a loader, Python): one period, no repeated end."""
    with pytest.raises(ValueError, match="'o' \\(period 6.28319\\) holds 0 and 6.28319"):
        FactorSpec("o", "loop", (0.0, np.pi, 2 * np.pi), 2 * np.pi)
    assert FactorSpec("o", "loop", (0.0, np.pi), 2 * np.pi).size == 2
