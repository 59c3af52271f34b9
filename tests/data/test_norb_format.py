"""The NORB binary matrix reader and the smallNORB conversion, on tiny files written here in
the published format (little-endian int32 header words, ``max(3, ndim)`` sizes, C order)."""

import gzip
import math

import numpy as np
import pytest
import torch

from prodvae.data import get_dataset
from prodvae.data.norb_format import (
    SMALLNORB_STEMS,
    convert_smallnorb,
    read_norb_matrix,
    smallnorb_filenames,
)

MAGIC = {
    np.dtype(np.float32): 0x1E3D4C51,
    np.dtype(np.float64): 0x1E3D4C53,
    np.dtype(np.int32): 0x1E3D4C54,
    np.dtype(np.uint8): 0x1E3D4C55,
    np.dtype(np.int16): 0x1E3D4C56,
}


def norb_bytes(array, magic=None, sizes=None):
    """``array`` as a NORB matrix file: magic, ndim, the sizes padded with 1 to at least 3."""
    sizes = list(array.shape if sizes is None else sizes)
    magic = MAGIC[array.dtype] if magic is None else magic
    header = [magic, len(sizes), *sizes, *[1] * (3 - len(sizes))]
    little = array.astype(array.dtype.newbyteorder("<"))
    return np.array(header, dtype="<i4").tobytes() + little.tobytes()


def write_norb(path, array, gz=True, **header):
    data = norb_bytes(array, **header)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


# A reduced smallNORB grid: per half 2 categories x 1 instance x 2 elevations x 3 azimuths x
# 2 lightings, 8x6 pixels (not square, so a transposition shows), rows shuffled.
HALF_AXES = {"category": [0, 3], "elevation": [0, 8], "azimuth": [0, 18, 34], "lighting": [0, 5]}
INSTANCE = {"training": 4, "testing": 1}


def fake_half(instance, seed):
    """``dat [n, 2, 8, 6]`` uint8, ``cat [n]`` and ``info [n, 4]`` int32 of one half."""
    axes = HALF_AXES
    mesh = np.meshgrid(axes["category"], [instance], *list(axes.values())[1:], indexing="ij")
    labels = np.stack([m.reshape(-1) for m in mesh], axis=1).astype(np.int32)
    rng = np.random.default_rng(seed)
    labels = labels[rng.permutation(len(labels))]
    dat = rng.integers(0, 256, size=(len(labels), 2, 8, 6), dtype=np.uint8)
    return dat, labels[:, 0].copy(), labels[:, 1:].copy()


def write_fake_smallnorb(folder, gz=True):
    """The six originals (``.mat.gz``, or ``.mat`` when not ``gz``); returns each half's
    ``(dat, cat, info)``."""
    folder.mkdir(parents=True, exist_ok=True)
    halves = {}
    for seed, (half, stem) in enumerate(SMALLNORB_STEMS.items()):
        halves[half] = fake_half(INSTANCE[half], seed)
        for part, array in zip(("dat", "cat", "info"), halves[half], strict=True):
            write_norb(folder / f"{stem}-{part}.mat{'.gz' if gz else ''}", array, gz=gz)
    return halves


# --- the reader -------------------------------------------------------------------------
def test_hand_written_int32_vector_with_padded_sizes(tmp_path):
    """A 1-D integer matrix: magic 0x1E3D4C54, ndim 1, sizes (2, 1, 1), then 7 and -9."""
    words = [0x1E3D4C54, 1, 2, 1, 1, 7, -9]
    path = tmp_path / "v.mat"
    path.write_bytes(b"".join(w.to_bytes(4, "little", signed=True) for w in words))
    array = read_norb_matrix(path)
    assert array.dtype == np.int32 and array.shape == (2,) and array.tolist() == [7, -9]


def test_hand_written_byte_matrix_of_four_dimensions(tmp_path):
    """ndim 4 stores four sizes (no padding); elements in C order."""
    header = [0x1E3D4C55, 4, 1, 2, 1, 3]
    path = tmp_path / "b.mat"
    path.write_bytes(np.array(header, "<i4").tobytes() + bytes(range(10, 16)))
    array = read_norb_matrix(path)
    assert array.dtype == np.uint8 and array.shape == (1, 2, 1, 3)
    assert array[0, 1, 0].tolist() == [13, 14, 15]


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "dtype, shape",
    [
        (np.uint8, (3, 2, 4, 5)),
        (np.int32, (7,)),
        (np.int32, (6, 4)),
        (np.int16, (2, 3, 4)),
        (np.float32, (5, 2)),
        (np.float64, (2, 2, 2, 2, 2)),
    ],
)
def test_round_trip(tmp_path, gz, dtype, shape):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=shape) * 100).astype(dtype)
    result = read_norb_matrix(write_norb(tmp_path / "m.mat.gz", array, gz=gz))
    assert result.dtype == dtype and result.shape == shape
    assert np.array_equal(result, array)
    result[...] = 0  # a writable array of its own


def test_an_empty_matrix(tmp_path):
    array = np.zeros((0, 4), np.int32)
    assert read_norb_matrix(write_norb(tmp_path / "e.mat", array, gz=False)).shape == (0, 4)


INFO = np.arange(24, dtype=np.int32).reshape(6, 4)


@pytest.mark.parametrize(
    "data, message",
    [
        (norb_bytes(INFO, magic=0x1E3D4C59), "not a NORB matrix file: magic number 0x1E3D4C59"),
        (norb_bytes(INFO, magic=0x00000803), "magic number 0x00000803 is none of 0x1E3D4C51"),
        (norb_bytes(INFO, magic=0x1E3D4C52), "packed NORB matrices"),
        (norb_bytes(INFO)[:6], "truncated NORB header: it ends before the magic number"),
        (norb_bytes(INFO)[:16], "truncated NORB header: it ends before 3 dimension sizes"),
        (norb_bytes(INFO)[:-5], r"sizes \(6, 4\) of int32 need 96 data bytes, .* holds 91 bytes"),
        (norb_bytes(INFO) + b"\0", "need 96 data bytes, the file holds more bytes"),
        (norb_bytes(INFO, sizes=[6, 3]), r"sizes \(6, 3\) of int32 need 72 .* holds more"),
        (norb_bytes(INFO, sizes=[6, 5]), r"need 120 data bytes, the file holds 96 bytes"),
        (norb_bytes(INFO, sizes=[]), "ndim must be 1..16, the header says 0"),
        (norb_bytes(INFO, sizes=[1] * 17), "ndim must be 1..16, the header says 17"),
        (norb_bytes(INFO, sizes=[6, -4]), r"negative dimension size in the header: \(6, -4\)"),
        # sizes of 2**90 bytes: refused from the data length, never allocated
        (norb_bytes(INFO, sizes=[2**30 - 1] * 3), "the file holds 96 bytes"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_malformed_matrix_is_one_clear_error(tmp_path, data, message, gz):
    path = tmp_path / "bad.mat"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(ValueError, match=message) as error:
        read_norb_matrix(path)
    assert str(error.value).startswith(f"{path}: ")


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "dat.mat.gz"
    data = gzip.compress(norb_bytes(np.arange(4000, dtype=np.int32)))
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable gzip file .truncated or corrupt"):
        read_norb_matrix(path)


def test_corrupt_gzip_stream(tmp_path):
    path = tmp_path / "dat.mat.gz"
    data = bytearray(gzip.compress(norb_bytes(np.arange(4000, dtype=np.int32))))
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{path}: not a readable gzip file"):
        read_norb_matrix(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_norb_matrix(tmp_path / "absent.mat")


# --- the smallNORB conversion -----------------------------------------------------------
def test_the_six_published_names():
    names = smallnorb_filenames()
    assert len(set(names)) == 6
    assert "smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat.gz" in names
    assert "smallnorb-5x01235x9x18x6x2x96x96-testing-info.mat.gz" in names


@pytest.mark.parametrize("camera", [0, 1])
@pytest.mark.parametrize("gz", [True, False])
def test_convert_keeps_one_camera_and_all_labels(tmp_path, camera, gz):
    halves = write_fake_smallnorb(tmp_path / "originals", gz=gz)
    out = convert_smallnorb(tmp_path / "originals", tmp_path / "smallnorb.npz", camera=camera)
    assert out == tmp_path / "smallnorb.npz"
    with np.load(out, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    training, testing = halves["training"], halves["testing"]
    assert images.dtype == np.uint8 and images.shape == (48, 8, 6)
    assert np.array_equal(images, np.concatenate([training[0][:, camera], testing[0][:, camera]]))
    for rows, (_, cat, info) in ((labels[:24], training), (labels[24:], testing)):
        assert np.array_equal(rows[:, 0], cat) and np.array_equal(rows[:, 1:], info)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["originals", "smallnorb.npz"]


def test_converted_file_loads_as_the_smallnorb_grid(tmp_path):
    halves = write_fake_smallnorb(tmp_path)
    convert_smallnorb(tmp_path, tmp_path / "smallnorb.npz")
    for lazy in (False, True):  # saved uncompressed, so it can be memory-mapped
        ds = get_dataset("smallnorb", data_dir=tmp_path, lazy=lazy)
        assert ds.factor_sizes == (2, 2, 2, 3, 2) and ds.image_shape == (1, 8, 6)
        assert ds.spec[1].values == (1.0, 4.0)  # the testing and training instances
        assert ds.spec[3].values == pytest.approx(np.radians([0, 180, 340]))
        assert ds.spec[3].period == pytest.approx(2 * math.pi)
    # the cell (category 3, instance 1, elevation 8, azimuth 18, lighting 0) of the test half
    dat, cat, info = halves["testing"]
    row = np.flatnonzero((cat == 3) & (info == [1, 8, 18, 0]).all(axis=1))
    image = ds.images_from_factors(torch.tensor([[1, 0, 1, 1, 0]]))
    assert image.shape == (1, 1, 8, 6) and np.array_equal(image[0, 0].numpy(), dat[row[0], 0])


def test_convert_refuses_a_third_camera(tmp_path):
    with pytest.raises(ValueError, match="camera must be 0 or 1 .*, got 2"):
        convert_smallnorb(tmp_path, tmp_path / "smallnorb.npz", camera=2)


def test_convert_names_a_missing_original(tmp_path):
    write_fake_smallnorb(tmp_path)
    stem = SMALLNORB_STEMS["testing"]
    (tmp_path / f"{stem}-cat.mat.gz").unlink()
    with pytest.raises(FileNotFoundError, match=f"no {stem}-cat.mat.gz .or .mat. in"):
        convert_smallnorb(tmp_path, tmp_path / "smallnorb.npz")
    assert not (tmp_path / "smallnorb.npz").exists()


def write_replacing(folder, part, array, half="training"):
    write_norb(folder / f"{SMALLNORB_STEMS[half]}-{part}.mat.gz", array)


@pytest.mark.parametrize(
    "part, array, message",
    [
        ("cat", np.zeros(23, np.int32), r"cat must have shape \(24,\) and info \(24, 4\)"),
        ("info", np.zeros((24, 3), np.int32), r"got \(24,\) and \(24, 3\)"),
        ("info", np.zeros((24, 4), np.float32), "info must hold integers, got float32"),
        ("dat", np.zeros((24, 2, 8, 6), np.int16), r"dat must be uint8 \(N, 2, H, W\), got int16"),
        ("dat", np.zeros((24, 1, 8, 6), np.uint8), r"got uint8 \(24, 1, 8, 6\)"),
    ],
)
def test_convert_checks_the_files_agree(tmp_path, part, array, message):
    write_fake_smallnorb(tmp_path)
    write_replacing(tmp_path, part, array)
    with pytest.raises(ValueError, match=message):
        convert_smallnorb(tmp_path, tmp_path / "smallnorb.npz")


def test_convert_refuses_halves_of_different_image_sizes(tmp_path):
    halves = write_fake_smallnorb(tmp_path)
    write_replacing(tmp_path, "dat", halves["testing"][0][:, :, :, :5].copy(), half="testing")
    with pytest.raises(ValueError, match=r"image sizes differ: \(8, 6\) and \(8, 5\)"):
        convert_smallnorb(tmp_path, tmp_path / "smallnorb.npz")


def test_a_failed_conversion_keeps_the_existing_npz(tmp_path):
    write_fake_smallnorb(tmp_path)
    existing = tmp_path / "smallnorb.npz"
    existing.write_bytes(b"an earlier conversion")
    dat = tmp_path / f"{SMALLNORB_STEMS['testing']}-dat.mat.gz"
    dat.write_bytes(dat.read_bytes()[:-40])  # truncated
    with pytest.raises(ValueError, match="dat.mat.gz: not a readable gzip file"):
        convert_smallnorb(tmp_path, existing)
    assert existing.read_bytes() == b"an earlier conversion"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_conversion_replaces_an_older_npz(tmp_path):
    write_fake_smallnorb(tmp_path)
    (tmp_path / "smallnorb.npz").write_bytes(b"old")
    convert_smallnorb(tmp_path, tmp_path / "smallnorb.npz")
    assert len(get_dataset("smallnorb", data_dir=tmp_path)) == 48
