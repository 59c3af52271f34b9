"""The published Cars3D archive, and its conversion to ``cars3d.npz``.

Reed et al. (NeurIPS 2015, "Deep Visual Analogy-Making") publish one archive,
``nips2015-analogy-data.tar.gz``. Besides other data (sprites, shapes), its folder
``data/cars/`` holds one MATLAB v5 file ``car_NNN_mesh.mat`` per car model (183 of them,
numbered with gaps) and ``list.txt``, their names without the extension, one a line. Each file
holds ``im``, uint8 ``[H, W, 3, 24, 4]`` = ``[height, width, RGB, azimuth, elevation]`` with
``H = W = 128``, and ``mask`` ``[H, W, 24, 4]`` (not used).

The conversion reads the car files straight from the archive (nothing is extracted to disk),
numbers the cars 0, 1, ... in the order of their file names, and resizes every view to
``image_size x image_size`` with PIL's Lanczos filter (antialiased: the filter widens with
the reduction). For 128 -> 64 this gives the pixels of the usual protocol (disentanglement_lib's
``thumbnail(..., ANTIALIAS)``, ANTIALIAS being Lanczos). A view already of that size is copied
as it is.
"""

from __future__ import annotations

import io
import logging
import os
import re
import tarfile
import zlib
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from prodvae.data.standard import save_npz_atomically

log = logging.getLogger(__name__)

ARCHIVE_NAME = "nips2015-analogy-data.tar.gz"
NUM_AZIMUTHS = 24
NUM_ELEVATIONS = 4
CAR_MEMBER = re.compile(r"(?:^|/)cars/(car_\d+_mesh)\.mat$")
LIST_MEMBER = re.compile(r"(?:^|/)cars/list\.txt$")
GZIP_MAGIC = b"\x1f\x8b"


class ArchiveCars(NamedTuple):
    """The cars read from the archive, by file name (without ``.mat``)."""

    views: dict[str, np.ndarray]  # name -> [elevation, azimuth, size, size, 3] uint8
    listed: tuple[str, ...] | None  # the names in ``cars/list.txt``, None without one


def convert_cars3d(
    archive_path: str | os.PathLike, out_path: str | os.PathLike, image_size: int = 64
) -> Path:
    """Write ``cars3d.npz`` (layout in :mod:`prodvae.data.cars3d`) from the published archive.

    ``images [N, image_size, image_size, 3]`` uint8 and ``labels [N, 3]`` int64 (elevation,
    azimuth, car) with ``N = 4 * 24 * cars``, rows in the C order of (elevation, azimuth, car).
    Uncompressed (so it can be read lazily) and written atomically: an existing ``out_path``
    survives any failure.

    Raises:
        FileNotFoundError: no file at ``archive_path``.
        ValueError: ``image_size`` not a positive integer; an archive that is not a readable
            tar(.gz) (truncated or corrupt); no car files in it; a car file that is not a
            readable ``.mat``, has no ``im`` or an ``im`` of another shape or dtype; cars named
            in ``list.txt`` missing from the archive.
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer (pixels), got {image_size!r}")
    archive_path, out_path = Path(archive_path), Path(out_path)
    if not archive_path.is_file():
        raise FileNotFoundError(f"no Cars3D archive at {archive_path}")
    cars = read_cars3d_archive(archive_path, image_size)
    names = sorted(cars.views)
    images = np.stack([cars.views.pop(name) for name in names], axis=2)
    shape = (NUM_ELEVATIONS, NUM_AZIMUTHS, len(names))
    labels = np.indices(shape).reshape(3, -1).T.astype(np.int64)
    images = images.reshape(-1, image_size, image_size, 3)
    log.info(
        "%s: %d cars, %d images of %dx%d", archive_path, len(names), len(images), *[image_size] * 2
    )
    save_npz_atomically(out_path, images=images, labels=labels)
    return out_path


def convert_cars3d_folder(folder: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """:func:`convert_cars3d` of ``folder/nips2015-analogy-data.tar.gz`` at the default size
    (the ``convert`` step of ``prodvae data download cars3d``)."""
    return convert_cars3d(Path(folder) / ARCHIVE_NAME, out_path)


def read_cars3d_archive(archive_path: Path, image_size: int) -> ArchiveCars:
    """Every ``cars/car_NNN_mesh.mat`` of the archive as resized views, read member by member
    in archive order; checks that there is at least one and that ``list.txt`` (when present)
    names no car the archive lacks."""
    views: dict[str, np.ndarray] = {}
    listed = None
    with open(archive_path, "rb") as raw:  # gzipped as published, or a plain tar
        mode: Literal["r:gz", "r:"] = "r:gz" if raw.read(2) == GZIP_MAGIC else "r:"
    try:
        with tarfile.open(archive_path, mode) as archive:
            for member in archive:
                car = CAR_MEMBER.search(member.name)
                if not member.isfile() or not (car or LIST_MEMBER.search(member.name)):
                    continue
                data = _member_bytes(archive, member)
                if car is None:
                    listed = _list_names(data)
                elif car[1] in views:
                    raise ValueError(f"{archive_path}: {member.name} appears twice")
                else:
                    where = f"{archive_path}: {member.name}"
                    views[car[1]] = resize_views(car_views(data, where), image_size)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise ValueError(
            f"{archive_path}: not a readable tar.gz archive (truncated or corrupt?): {error}"
        ) from None
    _check_cars(archive_path, views, listed)
    return ArchiveCars(views, listed)


def _member_bytes(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = archive.extractfile(member)
    if stream is None:  # not reached for regular files
        raise tarfile.ReadError(f"cannot read {member.name}")
    with stream:
        return stream.read()


def _list_names(data: bytes) -> tuple[str, ...]:
    names = data.decode("utf-8", errors="replace").split()
    return tuple(name.removesuffix(".mat") for name in names)


def _check_cars(archive_path: Path, views: dict, listed: tuple[str, ...] | None) -> None:
    if not views:
        raise ValueError(
            f"{archive_path}: no car files (data/cars/car_NNN_mesh.mat) in the archive; "
            f"is it {ARCHIVE_NAME}?"
        )
    missing = sorted(set(listed or ()) - set(views))
    if missing:
        raise ValueError(
            f"{archive_path}: cars/list.txt names {len(missing)} car file(s) the archive does "
            f"not hold (first: {missing[0]}.mat); the archive is incomplete"
        )


def car_views(data: bytes, where: str) -> np.ndarray:
    """``im`` of one car's ``.mat`` bytes as ``[elevation, azimuth, H, W, 3]`` uint8."""
    import scipy.io  # here, not at the top: it adds 0.2 s to every import of prodvae.data

    try:
        contents = scipy.io.loadmat(io.BytesIO(data), variable_names=["im"])
    # scipy's parser fails on foreign bytes in many ways (MatReadError, ValueError, IndexError,
    # NotImplementedError for v7.3/HDF5 files, ...): every one means "not a readable .mat"
    except Exception as error:
        detail = f"{type(error).__name__}: {error}"
        raise ValueError(f"{where}: not a readable MATLAB .mat file ({detail})") from None
    if "im" not in contents:
        raise ValueError(f"{where}: no variable 'im' in the .mat file")
    im = contents["im"]
    expected = (3, NUM_AZIMUTHS, NUM_ELEVATIONS)
    if not isinstance(im, np.ndarray) or im.ndim != 5 or im.shape[2:] != expected:
        shape = getattr(im, "shape", type(im).__name__)
        raise ValueError(f"{where}: im must have shape (H, W, 3, 24, 4), got {shape}")
    if im.dtype != np.uint8:
        raise ValueError(f"{where}: im must be uint8, got {im.dtype}")
    if 0 in im.shape:
        raise ValueError(f"{where}: im has no pixels: shape {im.shape}")
    return im.transpose(4, 3, 0, 1, 2)


def resize_views(views: np.ndarray, image_size: int) -> np.ndarray:
    """``[..., H, W, 3]`` uint8 -> ``[..., image_size, image_size, 3]`` (Lanczos; copied when
    already that size)."""
    *lead, height, width, channels = views.shape
    if (height, width) == (image_size, image_size):
        return np.ascontiguousarray(views)
    from PIL import Image  # here, like scipy.io above: only the conversion needs it

    lanczos = getattr(Image, "Resampling", Image).LANCZOS  # Image.Resampling from Pillow 9.1
    flat = views.reshape(-1, height, width, channels)
    out = np.empty((len(flat), image_size, image_size, channels), dtype=np.uint8)
    for row, image in enumerate(flat):
        picture = Image.fromarray(np.ascontiguousarray(image))
        out[row] = np.asarray(picture.resize((image_size, image_size), lanczos))
    return out.reshape(*lead, image_size, image_size, channels)
