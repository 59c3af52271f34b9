"""Standard loaders on tiny fake files with the real schemas (reduced grids)."""

import math
import shutil
from dataclasses import replace

import h5py
import numpy as np
import pytest
import torch

from prodvae.data import download as download_module
from prodvae.data import get_dataset
from prodvae.data.array_dataset import LazyH5Images
from prodvae.data.download import SOURCES, download, sha256_of
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
DSPRITES = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64"


def dsprites_arrays(shapes=(1.0, 2.0, 3.0)):
    """The public file's arrays on a reduced grid; each image stores its row number in binary."""
    orientation = np.linspace(0, 2 * math.pi, 5)  # the end-point repeats the start
    values = product([1.0], shapes, [0.5, 1.0], orientation, [0.0, 1.0], [0.0, 1.0])
    classes = product([0], range(len(shapes)), [0, 1], range(5), [0, 1], [0, 1]).astype(np.int64)
    n = len(values)
    bits = (np.arange(n)[:, None] >> np.arange(8)) & 1  # the row number in binary, pixel by pixel
    imgs = np.zeros((n, 4, 4), dtype=np.uint8)
    imgs.reshape(n, -1)[:, :8] = bits
    return {"imgs": imgs, "latents_values": values, "latents_classes": classes}


def write_dsprites(folder, **arrays):
    """The npz copy (with the pickled ``metadata`` the public file has)."""
    arrays = {**dsprites_arrays(), **arrays}
    metadata = np.array({"latents_sizes": np.array([1, 3, 2, 5, 2, 2])}, dtype=object)
    np.savez(folder / f"{DSPRITES}.npz", metadata=metadata, **arrays)
    return arrays["latents_values"]


def write_dsprites_h5(folder, drop=(), **replace):
    """The HDF5 copy: ``imgs`` (gzip-chunked, as the public file), ``latents/values`` and
    ``latents/classes``; ``replace`` swaps an array (by HDF5 path), ``drop`` leaves some out."""
    arrays = dsprites_arrays()
    datasets = {
        "imgs": arrays["imgs"],
        "latents/values": arrays["latents_values"],
        "latents/classes": arrays["latents_classes"],
        **replace,
    }
    path = folder / f"{DSPRITES}.hdf5"
    with h5py.File(path, "w") as handle:
        for key, data in datasets.items():
            if key in drop:
                continue
            if key == "imgs" and np.shape(data)[1:] == (4, 4) and len(data) >= 8:
                handle.create_dataset(key, data=data, chunks=(8, 4, 4), compression="gzip")
            else:
                handle[key] = data
    return path


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


def all_rows(ds):
    rows = np.arange(len(ds))
    return ds.images_at(rows), ds.factors_at(rows)


@pytest.mark.parametrize("lazy", [False, True])
def test_dsprites_hdf5_loads_like_the_npz(tmp_path, lazy):
    (tmp_path / "h5").mkdir(), (tmp_path / "npz").mkdir()
    write_dsprites_h5(tmp_path / "h5")
    write_dsprites(tmp_path / "npz")
    from_h5 = get_dataset("dsprites", data_dir=tmp_path / "h5", lazy=lazy)
    from_npz = get_dataset("dsprites", data_dir=tmp_path / "npz")
    assert isinstance(from_h5._images, LazyH5Images) == lazy
    assert from_h5.spec == from_npz.spec and from_h5.factor_sizes == (3, 2, 4, 2, 2)
    h5_images, h5_factors = all_rows(from_h5)
    npz_images, npz_factors = all_rows(from_npz)
    assert h5_images.dtype == torch.uint8 and torch.equal(h5_images, npz_images)
    assert torch.equal(h5_factors, npz_factors)
    cells = from_npz.sample_factors(16, torch.Generator().manual_seed(3))
    assert torch.equal(from_h5.images_from_factors(cells), from_npz.images_from_factors(cells))


def test_dsprites_prefers_the_hdf5_copy(tmp_path):
    write_dsprites(tmp_path, **dsprites_arrays(shapes=(1.0, 2.0)))
    assert get_dataset("dsprites", data_dir=tmp_path).factor_sizes[0] == 2  # the npz alone
    write_dsprites_h5(tmp_path)
    assert get_dataset("dsprites", data_dir=tmp_path).factor_sizes[0] == 3


def test_dsprites_missing_file_names_both_copies(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"download dsprites.*{DSPRITES}\.hdf5 \(or "):
        get_dataset("dsprites", data_dir=tmp_path)


N_DSPRITES = 120  # rows of the reduced grid: 3 * 2 * 5 * 2 * 2


def with_nan():
    values = dsprites_arrays()["latents_values"].copy()
    values[7, 4] = np.nan
    return values


@pytest.mark.parametrize(
    "drop, replace, message",
    [
        (("imgs",), {}, r"missing dataset\(s\) 'imgs'"),
        (("latents/values",), {}, r"missing dataset\(s\) 'latents/values'"),
        (
            ("latents/values", "latents/classes"),
            {"latents": np.zeros(3)},  # a dataset where the group should be
            r"missing dataset\(s\) 'latents/values'",
        ),
        ((), {"imgs": np.zeros((N_DSPRITES, 4, 4), np.float32)}, "uint8, got float32"),
        ((), {"imgs": np.zeros((N_DSPRITES, 4, 4, 1), np.uint8)}, r"shape \(N, H, W\)"),
        ((), {"imgs": np.zeros((0, 4, 4), np.uint8)}, r"shape \(N, H, W\)"),
        ((), {"latents/values": np.zeros((N_DSPRITES, 5))}, r"shape \(120, 6\)"),
        ((), {"latents/values": np.zeros((N_DSPRITES - 1, 6))}, r"shape \(120, 6\)"),
        ((), {"latents/values": with_nan()}, "NaN"),
        ((), {"imgs": np.full((N_DSPRITES, 4, 4), 255, np.uint8)}, "0/1 pixels"),
    ],
)
def test_malformed_dsprites_hdf5(tmp_path, drop, replace, message):
    path = write_dsprites_h5(tmp_path, drop=drop, **replace)
    with pytest.raises(ValueError, match=message) as error:
        get_dataset("dsprites", data_dir=tmp_path)
    assert str(error.value).startswith(f"{path}: ")


@pytest.mark.parametrize("lazy", [False, True])
def test_truncated_dsprites_hdf5(tmp_path, lazy):
    path = write_dsprites_h5(tmp_path)
    path.write_bytes(path.read_bytes()[:-300])
    with pytest.raises(ValueError, match=r"not a readable HDF5 file \(truncated"):
        get_dataset("dsprites", data_dir=tmp_path, lazy=lazy)


def test_dsprites_download_then_load(tmp_path, monkeypatch):
    """The fetched HDF5 is checked against the recorded hash, then loaded; no network."""
    published = write_dsprites_h5(tmp_path)
    fetched = []

    def fetch(url, destination, timeout=60.0):
        fetched.append(url)
        shutil.copyfile(published, destination)

    monkeypatch.setattr(download_module, "fetch_url", fetch)
    source = SOURCES["dsprites"]
    monkeypatch.setitem(SOURCES, "dsprites", replace(source, sha256=sha256_of(published)))
    result = download("dsprites", tmp_path / "data")
    assert result.verified and fetched == [source.url]
    assert result.path == tmp_path / "data" / published.name
    assert len(get_dataset("dsprites", data_dir=tmp_path / "data")) == 96


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
