"""Standard loaders on tiny fake files with the real schemas (reduced grids)."""

import math

import h5py
import numpy as np
import pytest
import torch

from prodvae.data import get_dataset
from prodvae.data.grid import ravel_indices, unravel_flat


def product(*axes):
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1).astype(np.float64)


def stamped(n, shape):
    """uint8 images whose first pixel stores the row number (row < 256)."""
    images = np.zeros((n, *shape), dtype=np.uint8)
    images.reshape(n, -1)[:, 0] = np.arange(n)
    return images


def row_stamp(images):
    return images.flatten(1)[:, 0].long()


# --- Shapes3D --------------------------------------------------------------------------
SHAPES3D_AXES = (
    [0.0, 0.3],
    [0.1, 0.9],
    [0.5, 0.6],
    np.linspace(0.75, 1.25, 8)[[0, 7]],
    [0.0, 3.0],
    np.linspace(-30, 30, 15)[[0, 7, 14]],
)


def write_shapes3d(folder, order=None):
    labels = product(*SHAPES3D_AXES)
    images = stamped(len(labels), (6, 6, 3))
    if order is not None:
        labels = labels[order]
    with h5py.File(folder / "3dshapes.h5", "w") as handle:
        handle["images"], handle["labels"] = images, labels
    return labels


@pytest.mark.parametrize("lazy", [False, True])
def test_shapes3d_reduced_grid(tmp_path, lazy):
    write_shapes3d(tmp_path)
    ds = get_dataset("shapes3d", data_dir=tmp_path, lazy=lazy)
    assert ds.factor_sizes == (2, 2, 2, 2, 2, 3) and ds.image_shape == (3, 6, 6)
    assert [f.kind for f in ds.spec] == ["loop"] * 3 + ["segment", "points", "segment"]
    assert [f.period for f in ds.spec[:3]] == [1.0] * 3
    assert ds.spec[5].values == pytest.approx((-30.0, 0.0, 30.0))
    indices = ds.sample_factors(20, torch.Generator().manual_seed(0))
    images = ds.images_from_factors(indices)
    assert images.dtype == torch.uint8
    assert torch.equal(
        row_stamp(images), torch.from_numpy(ravel_indices(indices.numpy(), ds.factor_sizes))
    )
    assert torch.allclose(
        ds[5].factors, ds.factor_values(torch.from_numpy(unravel_flat([5], ds.factor_sizes)))
    )


def test_shapes3d_in_memory_images_stay_uint8(tmp_path):
    write_shapes3d(tmp_path)
    ds = get_dataset("shapes3d", data_dir=tmp_path)
    assert ds._images.dtype == np.uint8


def test_shapes3d_rows_in_another_order(tmp_path):
    order = np.random.default_rng(0).permutation(96)
    write_shapes3d(tmp_path, order)
    ds = get_dataset("shapes3d", data_dir=tmp_path)
    cells = np.array([[1, 0, 1, 1, 0, 2]])
    assert (
        row_stamp(ds.images_from_factors(cells)).item()
        == np.flatnonzero(order == ravel_indices(cells, ds.factor_sizes)[0])[0]
    )


def test_shapes3d_incomplete_grid_is_an_error(tmp_path):
    labels = product(*SHAPES3D_AXES)[:-1]
    with h5py.File(tmp_path / "3dshapes.h5", "w") as handle:
        handle["images"], handle["labels"] = stamped(len(labels), (6, 6, 3)), labels
    with pytest.raises(ValueError, match="full factor grid"):
        get_dataset("shapes3d", data_dir=tmp_path)


def test_missing_file_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODVAE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="prodvae data download shapes3d"):
        get_dataset("shapes3d")


def test_data_dir_from_environment(tmp_path, monkeypatch):
    write_shapes3d(tmp_path)
    monkeypatch.setenv("PRODVAE_DATA", str(tmp_path))
    assert len(get_dataset("shapes3d")) == 96


# --- dSprites ---------------------------------------------------------------------------
def write_dsprites(folder):
    orientation = np.linspace(0, 2 * math.pi, 5)  # the end-point repeats the start
    values = product([1.0], [1.0, 2.0, 3.0], [0.5, 1.0], orientation, [0.0, 1.0], [0.0, 1.0])
    classes = product([0], [0, 1, 2], [0, 1], range(5), [0, 1], [0, 1]).astype(np.int64)
    n = len(values)
    bits = (np.arange(n)[:, None] >> np.arange(8)) & 1  # the row number in binary, pixel by pixel
    imgs = np.zeros((n, 4, 4), dtype=np.uint8)
    imgs.reshape(n, -1)[:, :8] = bits
    metadata = np.array({"latents_sizes": np.array([1, 3, 2, 5, 2, 2])}, dtype=object)
    np.savez(
        folder / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
        imgs=imgs,
        latents_values=values,
        latents_classes=classes,
        metadata=metadata,
    )
    return values


def test_dsprites_drops_the_repeated_orientation(tmp_path):
    values = write_dsprites(tmp_path)
    ds = get_dataset("dsprites", data_dir=tmp_path)
    assert [f.name for f in ds.spec] == ["shape", "scale", "orientation", "posX", "posY"]
    assert ds.factor_sizes == (3, 2, 4, 2, 2) and len(ds) == 96
    orientation = ds.spec[2]
    assert orientation.kind == "loop" and orientation.period == pytest.approx(2 * math.pi)
    assert orientation.values == pytest.approx([0, math.pi / 2, math.pi, 3 * math.pi / 2])
    assert orientation.symmetry_given == ("shape", (4, 2, 1))
    images = ds.images_from_factors(np.array([[2, 1, 3, 1, 0]]))
    assert set(images.unique().tolist()) <= {0, 255}
    stored_row = (images.flatten()[:8] // 255 * (1 << torch.arange(8))).sum().item()
    assert values[stored_row].tolist() == pytest.approx([1.0, 3.0, 1.0, 3 * math.pi / 2, 1.0, 0.0])


def test_dsprites_never_unpickles(tmp_path):
    """The real file's pickled `metadata` is never read; an array holding objects is refused."""
    write_dsprites(tmp_path)
    path = tmp_path / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in ("imgs", "latents_classes")}
    objects = np.empty((96, 6), dtype=object)
    objects[:] = 1.0
    np.savez(path, latents_values=objects, **arrays)
    with pytest.raises(ValueError, match="allow_pickle"):
        get_dataset("dsprites", data_dir=tmp_path)


# --- MPI3D ------------------------------------------------------------------------------
SMALL_MPI3D = (2, 1, 2, 1, 1, 3, 2)


@pytest.mark.parametrize("variant", ["toy", "realistic", "real", "complex"])
def test_mpi3d_sizes_are_checked_against_the_file(tmp_path, variant):
    np.savez(tmp_path / f"mpi3d_{variant}.npz", images=stamped(24, (5, 5, 3)))
    with pytest.raises(ValueError, match="24 images"):
        get_dataset(f"mpi3d_{variant}", data_dir=tmp_path)
    ds = get_dataset(f"mpi3d_{variant}", data_dir=tmp_path, factor_sizes=SMALL_MPI3D)
    assert ds.factor_sizes == SMALL_MPI3D and ds.spec[5].kind == "segment"
    cells = ds.sample_factors(10, torch.Generator().manual_seed(1))
    assert torch.equal(
        row_stamp(ds.images_from_factors(cells)),
        torch.from_numpy(ravel_indices(cells.numpy(), SMALL_MPI3D)),
    )
    assert torch.equal(ds.factor_values(cells), cells.double())


# --- Cars3D and smallNORB ---------------------------------------------------------------
def test_cars3d_azimuth_is_a_loop(tmp_path):
    labels = product([0, 3], range(0, 24, 6), [0, 1, 182])
    order = np.random.default_rng(2).permutation(len(labels))
    np.savez(
        tmp_path / "cars3d.npz",
        images=stamped(len(labels), (4, 4, 3)),
        labels=labels[order].astype(np.int64),
    )
    ds = get_dataset("cars3d", data_dir=tmp_path)
    assert ds.factor_sizes == (2, 4, 3)
    azimuth = ds.spec[1]
    assert azimuth.kind == "loop" and azimuth.values == pytest.approx(np.radians([0, 90, 180, 270]))
    cell = np.array([[1, 2, 0]])
    expected_row = np.flatnonzero((labels[order] == [3, 12, 0]).all(1))[0]
    assert row_stamp(ds.images_from_factors(cell)).item() == expected_row


def test_smallnorb_azimuth_loop_and_grey_images(tmp_path):
    labels = product([0, 4], [1], [0, 8], [0, 10, 20, 34], [0, 5]).astype(np.int64)
    np.savez(tmp_path / "smallnorb.npz", images=stamped(len(labels), (6, 6)), labels=labels)
    ds = get_dataset("smallnorb", data_dir=tmp_path)
    assert ds.image_shape == (1, 6, 6) and ds.factor_sizes == (2, 1, 2, 4, 2)
    assert ds.spec[3].values == pytest.approx(np.radians([0, 100, 200, 340]))
    assert ds.spec[2].values == pytest.approx([30.0, 70.0])


@pytest.mark.parametrize(
    "name, labels, message",
    [
        ("smallnorb", [[0, 0, 0, 3, 0]], "even"),
        ("cars3d", [[0, 30, 0]], "azimuth"),
        ("cars3d", [[0, 0.5, 0]], "integer"),
    ],
)
def test_prepared_npz_with_bad_labels(tmp_path, name, labels, message):
    labels = np.array(labels)
    shape = (1, 4, 4) if name == "smallnorb" else (1, 4, 4, 3)
    np.savez(tmp_path / f"{name}.npz", images=np.zeros(shape, np.uint8), labels=labels)
    with pytest.raises(ValueError, match=message):
        get_dataset(name, data_dir=tmp_path)


def test_truncated_standard_file(tmp_path):
    np.savez(tmp_path / "mpi3d_toy.npz", images=stamped(24, (5, 5, 3)))
    path = tmp_path / "mpi3d_toy.npz"
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="truncated"):
        get_dataset("mpi3d_toy", data_dir=tmp_path, factor_sizes=SMALL_MPI3D)


# --- lazy reading -----------------------------------------------------------------------
def test_lazy_npz_is_memory_mapped_and_identical(tmp_path):
    np.savez(tmp_path / "mpi3d_toy.npz", images=stamped(24, (5, 5, 3)))
    eager = get_dataset("mpi3d_toy", data_dir=tmp_path, factor_sizes=SMALL_MPI3D)
    lazy = get_dataset("mpi3d_toy", data_dir=tmp_path, factor_sizes=SMALL_MPI3D, lazy=True)
    assert isinstance(lazy._images, np.memmap)
    cells = eager.sample_factors(12, torch.Generator().manual_seed(4))
    assert torch.equal(lazy.images_from_factors(cells), eager.images_from_factors(cells))


def test_lazy_needs_an_uncompressed_npz(tmp_path):
    labels = product([0], [0, 6], [0]).astype(np.int64)
    np.savez_compressed(tmp_path / "cars3d.npz", images=stamped(2, (4, 4, 3)), labels=labels)
    assert len(get_dataset("cars3d", data_dir=tmp_path)) == 2
    with pytest.raises(ValueError, match="compressed"):
        get_dataset("cars3d", data_dir=tmp_path, lazy=True)
