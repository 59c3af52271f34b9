"""The Cars3D conversion, on tiny archives written here with the published layout: a tar.gz
whose ``data/cars/car_NNN_mesh.mat`` hold ``im`` uint8 [H, W, 3, 24 azimuths, 4 elevations]."""

import io
import math
import tarfile

import numpy as np
import pytest
import scipy.io
import torch

from prodvae.data import get_dataset
from prodvae.data.cars3d_format import convert_cars3d

# written to the archive out of name order; the conversion numbers them 0, 1, 2 by name
CAR_NAMES = ("car_010_mesh", "car_001_mesh", "car_004_mesh")
CAR_INDEX = {"car_001_mesh": 0, "car_004_mesh": 1, "car_010_mesh": 2}


def fake_im(seed, size=8):
    """Random pixels with pixel (0, 0) of each view stamped (azimuth, elevation, seed)."""
    rng = np.random.default_rng(seed)
    im = rng.integers(0, 256, size=(size, size, 3, 24, 4), dtype=np.uint8)
    im[0, 0, 0] = np.arange(24)[:, None]
    im[0, 0, 1] = np.arange(4)[None, :]
    im[0, 0, 2] = seed
    return im


def mat_bytes(**variables):
    stream = io.BytesIO()
    scipy.io.savemat(stream, variables)
    return stream.getvalue()


def write_archive(path, members, mode="w:gz"):
    """A tar(.gz) of ``{name: bytes}`` members, in the order given."""
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def fake_members(ims):
    """The published layout: other data beside ``data/cars``, a list.txt, one .mat a car."""
    members = {"data/shapes48.mat": mat_bytes(other=np.zeros((2, 2)))}
    members["data/cars/list.txt"] = "".join(f"{name}\n" for name in sorted(ims)).encode()
    for name, im in ims.items():
        members[f"data/cars/{name}.mat"] = mat_bytes(im=im, mask=np.ones((8, 8, 24, 4)))
    return members


def write_fake_cars3d(path):
    """Three 8x8 cars; returns their ``im`` by name."""
    ims = {name: fake_im(CAR_INDEX[name] + 1) for name in CAR_NAMES}
    write_archive(path, fake_members(ims))
    return ims


def read_npz(path):
    with np.load(path, allow_pickle=False) as archive:
        return archive["images"], archive["labels"]


def test_every_row_is_the_view_its_labels_name(tmp_path):
    ims = write_fake_cars3d(tmp_path / "cars.tar.gz")
    out = convert_cars3d(tmp_path / "cars.tar.gz", tmp_path / "cars3d.npz", image_size=8)
    assert out == tmp_path / "cars3d.npz"
    images, labels = read_npz(out)
    assert images.dtype == np.uint8 and images.shape == (4 * 24 * 3, 8, 8, 3)
    assert labels.dtype == np.int64 and labels.shape == (288, 3)
    by_index = {CAR_INDEX[name]: im for name, im in ims.items()}
    for image, (elevation, azimuth, car) in zip(images, labels, strict=True):
        assert np.array_equal(image, by_index[car][:, :, :, azimuth, elevation])
    assert sorted(map(tuple, labels)) == [
        (e, a, c) for e in range(4) for a in range(24) for c in range(3)
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cars.tar.gz", "cars3d.npz"]


@pytest.mark.parametrize("lazy", [False, True])
def test_converted_file_loads_as_the_cars3d_grid(tmp_path, lazy):
    ims = write_fake_cars3d(tmp_path / "cars.tar.gz")
    convert_cars3d(tmp_path / "cars.tar.gz", tmp_path / "cars3d.npz", image_size=8)
    ds = get_dataset("cars3d", data_dir=tmp_path, lazy=lazy)
    assert ds.factor_sizes == (4, 24, 3) and ds.image_shape == (3, 8, 8)
    assert ds.spec[1].kind == "loop" and ds.spec[1].period == pytest.approx(2 * math.pi)
    assert ds.spec[1].values == pytest.approx(np.radians(np.arange(24) * 15.0))
    cells = torch.tensor([[0, 0, 0], [3, 5, 1], [2, 23, 2], [1, 12, 0]])
    images = ds.images_from_factors(cells)
    for image, (elevation, azimuth, car) in zip(images, cells.tolist(), strict=True):
        name = next(n for n, index in CAR_INDEX.items() if index == car)
        view = ims[name][:, :, :, azimuth, elevation].transpose(2, 0, 1)
        assert np.array_equal(image.numpy(), view)
        assert image[:, 0, 0].tolist() == [azimuth, elevation, car + 1]  # the stamp
    assert torch.equal(
        ds.factor_values(cells),
        torch.tensor(
            [[e, a * math.radians(15.0), c] for e, a, c in cells.tolist()], dtype=torch.float64
        ),
    )


def test_resizing_keeps_colours_and_orientation(tmp_path):
    """8x8 -> 4x4: red and green are flat in each view, so a normalised filter keeps them
    exactly; blue is dark on the left half, bright on the right, which must stay so (Lanczos
    rings a little at the edge, so only the order of the halves is exact)."""
    im = np.zeros((8, 8, 3, 24, 4), np.uint8)
    im[:, :, 0] = (np.arange(24) * 10)[:, None]
    im[:, :, 1] = (np.arange(4) * 60)[None, :]
    im[:, 4:, 2] = 200
    write_archive(tmp_path / "a.tar.gz", fake_members({"car_001_mesh": im}))
    convert_cars3d(tmp_path / "a.tar.gz", tmp_path / "cars3d.npz", image_size=4)
    images, labels = read_npz(tmp_path / "cars3d.npz")
    assert images.shape == (96, 4, 4, 3)
    assert np.array_equal(
        images[..., 0], np.broadcast_to(labels[:, 1, None, None] * 10, (96, 4, 4))
    )
    assert np.array_equal(
        images[..., 1], np.broadcast_to(labels[:, 0, None, None] * 60, (96, 4, 4))
    )
    blue = images[..., 2]
    assert blue[:, :, :2].max() < 100 < blue[:, :, 2:].min()
    assert (blue == blue[:, :1, :]).all()  # every row alike: no transposition


def test_the_default_size_is_64(tmp_path):
    write_archive(tmp_path / "a.tar.gz", fake_members({"car_001_mesh": fake_im(0)}))
    convert_cars3d(tmp_path / "a.tar.gz", tmp_path / "cars3d.npz")
    assert read_npz(tmp_path / "cars3d.npz")[0].shape == (96, 64, 64, 3)


def test_a_plain_tar_without_list_is_read(tmp_path):
    ims = {"car_002_mesh": fake_im(5)}
    members = {"data/cars/car_002_mesh.mat": mat_bytes(im=ims["car_002_mesh"])}
    write_archive(tmp_path / "a.tar", members, mode="w")
    convert_cars3d(tmp_path / "a.tar", tmp_path / "cars3d.npz", image_size=8)
    images, labels = read_npz(tmp_path / "cars3d.npz")
    assert np.array_equal(images[labels[:, 2] == 0][0], ims["car_002_mesh"][:, :, :, 0, 0])


# --- one clear error each ----------------------------------------------------------------
V73_HEADER = b"MATLAB 7.3 MAT-file".ljust(116) + bytes(8) + b"\x00\x02IM"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"not a MATLAB file at all", "car_004_mesh.mat: not a readable MATLAB .mat file"),
        (V73_HEADER + bytes(400), "car_004_mesh.mat: not a readable MATLAB .mat file"),
        (mat_bytes(im=fake_im(1))[:300], "car_004_mesh.mat: not a readable MATLAB .mat file"),
        (mat_bytes(mask=np.ones((8, 8, 24, 4))), "car_004_mesh.mat: no variable 'im'"),
        (
            mat_bytes(im=np.zeros((8, 8, 3, 24, 3), np.uint8)),
            r"im must have shape \(H, W, 3, 24, 4\), got \(8, 8, 3, 24, 3\)",
        ),
        (
            mat_bytes(im=np.zeros((8, 8, 24, 4), np.uint8)),
            r"im must have shape \(H, W, 3, 24, 4\), got \(8, 8, 24, 4\)",
        ),
        (mat_bytes(im=np.zeros((8, 8, 3, 24, 4))), "im must be uint8, got float64"),
    ],
)
def test_a_bad_car_file(tmp_path, data, message):
    members = fake_members({name: fake_im(1) for name in CAR_NAMES})
    members["data/cars/car_004_mesh.mat"] = data
    archive = write_archive(tmp_path / "a.tar.gz", members)
    with pytest.raises(ValueError, match=message) as error:
        convert_cars3d(archive, tmp_path / "cars3d.npz")
    assert str(error.value).startswith(f"{archive}: data/cars/car_004_mesh.mat: ")
    assert not (tmp_path / "cars3d.npz").exists()


def test_an_archive_without_cars(tmp_path):
    archive = write_archive(tmp_path / "a.tar.gz", {"data/shapes48.mat": mat_bytes(x=1.0)})
    with pytest.raises(ValueError, match=r"no car files \(data/cars/car_NNN_mesh.mat\)"):
        convert_cars3d(archive, tmp_path / "cars3d.npz")


def test_a_truncated_archive(tmp_path):
    archive = tmp_path / "a.tar.gz"
    write_fake_cars3d(archive)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a readable tar.gz archive .truncated or corrupt"):
        convert_cars3d(archive, tmp_path / "cars3d.npz")


def test_a_file_that_is_no_archive(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"<html>moved</html>")
    with pytest.raises(ValueError, match=f"{archive}: not a readable tar.gz archive"):
        convert_cars3d(archive, tmp_path / "cars3d.npz")


def test_a_car_named_in_list_txt_but_missing(tmp_path):
    members = fake_members({name: fake_im(1) for name in CAR_NAMES})
    del members["data/cars/car_001_mesh.mat"]
    archive = write_archive(tmp_path / "a.tar.gz", members)
    with pytest.raises(ValueError, match=r"names 1 car file\(s\) .* \(first: car_001_mesh.mat\)"):
        convert_cars3d(archive, tmp_path / "cars3d.npz")


@pytest.mark.parametrize("size", [0, -64, 2.5, True, "64"])
def test_image_size_must_be_a_positive_integer(tmp_path, size):
    with pytest.raises(ValueError, match=f"image_size must be a positive integer.*{size!r}"):
        convert_cars3d(tmp_path / "a.tar.gz", tmp_path / "cars3d.npz", image_size=size)


def test_a_missing_archive(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Cars3D archive at"):
        convert_cars3d(tmp_path / "absent.tar.gz", tmp_path / "cars3d.npz")


def test_a_failed_conversion_keeps_the_existing_npz(tmp_path):
    existing = tmp_path / "cars3d.npz"
    existing.write_bytes(b"an earlier conversion")
    members = fake_members({"car_001_mesh": fake_im(1)})
    members["data/cars/car_001_mesh.mat"] = mat_bytes(im=np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="im must have shape"):
        convert_cars3d(write_archive(tmp_path / "a.tar.gz", members), existing)
    assert existing.read_bytes() == b"an earlier conversion"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.gz", "cars3d.npz"]


def test_a_conversion_replaces_an_older_npz(tmp_path):
    write_fake_cars3d(tmp_path / "a.tar.gz")
    (tmp_path / "cars3d.npz").write_bytes(b"old")
    convert_cars3d(tmp_path / "a.tar.gz", tmp_path / "cars3d.npz", image_size=8)
    assert len(get_dataset("cars3d", data_dir=tmp_path)) == 288
