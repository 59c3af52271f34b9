"""The NORB binary matrix format, and the conversion of the six smallNORB originals.

A NORB ``.mat`` file (LeCun et al., CVPR 2004; layout from the readme beside the data at
https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/) is a header of little-endian int32 words,
then the elements in C order:

- a magic number naming the element type (``0x1E3D4C55`` bytes, ``0x1E3D4C54`` int32, ...);
- ``ndim``, the number of dimensions;
- ``max(3, ndim)`` dimension sizes: a 1-D or 2-D matrix still stores three, the unused ones
  being padding that is not part of the shape.

The published files are gzipped (``.mat.gz``); both forms are read, told apart by content.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from prodvae.data.standard import save_npz_atomically

ELEMENT_TYPES: dict[int, np.dtype] = {
    0x1E3D4C51: np.dtype("<f4"),  # single precision matrix
    0x1E3D4C53: np.dtype("<f8"),  # double precision matrix
    0x1E3D4C54: np.dtype("<i4"),  # integer matrix
    0x1E3D4C55: np.dtype("<u1"),  # byte matrix
    0x1E3D4C56: np.dtype("<i2"),  # short matrix
}
PACKED_MATRIX = 0x1E3D4C52  # named by the format, used by no NORB file; not supported
MAX_DIMENSIONS = 16
GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK = 1 << 24

# The two halves of smallNORB: file name stems by half, and the instances each half holds.
SMALLNORB_STEMS = {
    "training": "smallnorb-5x46789x9x18x6x2x96x96-training",
    "testing": "smallnorb-5x01235x9x18x6x2x96x96-testing",
}
SMALLNORB_PARTS = ("dat", "cat", "info")


def smallnorb_filenames() -> tuple[str, ...]:
    """The six published files (``.mat.gz``), training half first."""
    return tuple(
        f"{stem}-{part}.mat.gz" for stem in SMALLNORB_STEMS.values() for part in SMALLNORB_PARTS
    )


def read_norb_matrix(path: str | os.PathLike) -> np.ndarray:
    """The array stored in a NORB ``.mat`` (or gzipped ``.mat.gz``) file, in native byte order.

    Raises:
        ValueError: unknown magic number, a header or data shorter than its sizes say (a
            truncated file), more data than the sizes say, or a corrupt gzip stream.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        try:
            if is_gzip:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _read_matrix(stream, str(path))
            return _read_matrix(raw, str(path))
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise ValueError(
                f"{path}: not a readable gzip file (truncated or corrupt?): {error}"
            ) from None


def _read_matrix(stream: io.BufferedIOBase, where: str) -> np.ndarray:
    magic, ndim = _read_words(stream, 2, where, "the magic number and ndim")
    if magic == PACKED_MATRIX:
        raise ValueError(f"{where}: packed NORB matrices (magic 0x{magic:08X}) are not supported")
    if magic not in ELEMENT_TYPES:
        known = ", ".join(f"0x{key:08X}" for key in ELEMENT_TYPES)
        raise ValueError(
            f"{where}: not a NORB matrix file: magic number 0x{magic & 0xFFFFFFFF:08X} "
            f"is none of {known}"
        )
    if not 1 <= ndim <= MAX_DIMENSIONS:
        raise ValueError(f"{where}: ndim must be 1..{MAX_DIMENSIONS}, the header says {ndim}")
    shape = _read_words(stream, max(3, ndim), where, f"{max(3, ndim)} dimension sizes")[:ndim]
    if any(size < 0 for size in shape):
        raise ValueError(f"{where}: negative dimension size in the header: {shape}")
    dtype = ELEMENT_TYPES[magic]
    expected = math.prod(shape) * dtype.itemsize
    data = _read_up_to(stream, expected)
    if len(data) < expected or stream.read(1):
        held = f"{len(data)} bytes" if len(data) < expected else "more bytes"
        raise ValueError(
            f"{where}: the header's sizes {shape} of {dtype.name} need {expected} data bytes, "
            f"the file holds {held} (truncated, or sizes that do not match the data)"
        )
    return (
        np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="), copy=False).reshape(shape)
    )


def _read_words(stream: io.BufferedIOBase, count: int, where: str, what: str) -> tuple[int, ...]:
    data = _read_up_to(stream, 4 * count)
    if len(data) < 4 * count:
        raise ValueError(f"{where}: truncated NORB header: it ends before {what}")
    return tuple(int(word) for word in np.frombuffer(data, dtype="<i4"))


def _read_up_to(stream: io.BufferedIOBase, count: int) -> bytearray:
    """Up to ``count`` bytes (fewer only at the end of the stream), in a writable buffer that
    grows as data arrives, so a header with absurd sizes cannot make it allocate them."""
    buffer = bytearray()
    while len(buffer) < count:
        chunk = stream.read(min(READ_CHUNK, count - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


class SmallNorbHalf(NamedTuple):
    """One half (training or testing) of smallNORB, one camera."""

    images: np.ndarray  # [N, H, W] uint8
    labels: np.ndarray  # [N, 5] int64: category, instance, elevation, azimuth, lighting


def read_smallnorb_half(folder: Path, stem: str, camera: int) -> SmallNorbHalf:
    """The images of ``camera`` and the labels of the three files ``stem-{dat,cat,info}``."""
    arrays = {part: read_norb_matrix(_original(folder, stem, part)) for part in SMALLNORB_PARTS}
    dat, cat, info = arrays["dat"], arrays["cat"], arrays["info"]
    where = f"{folder / stem}-*"
    if dat.dtype != np.uint8 or dat.ndim != 4 or dat.shape[1] != 2:
        raise ValueError(f"{where}: dat must be uint8 (N, 2, H, W), got {dat.dtype} {dat.shape}")
    num_images = dat.shape[0]
    if cat.shape != (num_images,) or info.shape != (num_images, 4):
        raise ValueError(
            f"{where}: cat must have shape ({num_images},) and info ({num_images}, 4) to match "
            f"dat's {num_images} images, got {cat.shape} and {info.shape}"
        )
    for name, array in (("cat", cat), ("info", info)):
        if array.dtype.kind not in "iu":
            raise ValueError(f"{where}: {name} must hold integers, got {array.dtype}")
    labels = np.concatenate([cat[:, None], info], axis=1).astype(np.int64)
    # a copy, so that the other camera's half of the file is freed on return
    return SmallNorbHalf(np.ascontiguousarray(dat[:, camera]), labels)


def _original(folder: Path, stem: str, part: str) -> Path:
    """``stem-part.mat.gz``, else the unzipped ``stem-part.mat``."""
    for suffix in (".mat.gz", ".mat"):
        if (folder / f"{stem}-{part}{suffix}").is_file():
            return folder / f"{stem}-{part}{suffix}"
    raise FileNotFoundError(f"no {stem}-{part}.mat.gz (or .mat) in {folder}")


def convert_smallnorb(
    folder: str | os.PathLike, out_path: str | os.PathLike, camera: int = 0
) -> Path:
    """Write ``smallnorb.npz`` (layout in :mod:`prodvae.data.smallnorb`) from the six originals
    in ``folder``: ``images [N, H, W]`` uint8 of one ``camera`` (0 or 1 of each stereo pair)
    and ``labels [N, 5]``, training rows then testing rows. Uncompressed (so it can be read
    lazily) and written atomically: an existing ``out_path`` survives any failure."""
    if camera not in (0, 1):
        raise ValueError(f"camera must be 0 or 1 (one of the stereo pair), got {camera!r}")
    folder, out_path = Path(folder), Path(out_path)
    halves = [read_smallnorb_half(folder, stem, camera) for stem in SMALLNORB_STEMS.values()]
    if halves[0].images.shape[1:] != halves[1].images.shape[1:]:
        sizes = [half.images.shape[1:] for half in halves]
        raise ValueError(f"{folder}: the halves' image sizes differ: {sizes[0]} and {sizes[1]}")
    images = np.concatenate([half.images for half in halves])
    labels = np.concatenate([half.labels for half in halves])
    del halves
    save_npz_atomically(out_path, images=images, labels=labels)
    return out_path
