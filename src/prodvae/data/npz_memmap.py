"""Memory-map one array of an uncompressed npz file, so big images are read lazily.

``np.load(..., mmap_mode="r")`` ignores npz archives; but ``np.savez`` stores each array as
an uncompressed ``.npy`` member, whose bytes can be mapped straight from the zip file.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import Literal

import numpy as np

LOCAL_HEADER = struct.Struct("<4s5H3I2H")  # zip local file header, 30 bytes


def npz_memmap(path: str | Path, key: str) -> np.memmap:
    """Read-only memory map of array ``key`` of the npz at ``path``.

    Raises:
        ValueError: the member is missing, compressed, or holds Python objects.
    """
    path = Path(path)
    member = f"{key}.npy"
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise ValueError(f"{path}: missing array {key!r}") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(
            f"{path}: array {key!r} is compressed, so it cannot be read lazily; use lazy=False "
            "or re-save the file with np.savez"
        )
    with open(path, "rb") as stream:
        stream.seek(info.header_offset)
        fields = LOCAL_HEADER.unpack(stream.read(LOCAL_HEADER.size))
        name_length, extra_length = fields[-2], fields[-1]
        stream.seek(info.header_offset + LOCAL_HEADER.size + name_length + extra_length)
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        offset = stream.tell()
    if dtype.hasobject:
        raise ValueError(f"{path}: array {key!r} holds Python objects, which are not read")
    order: Literal["C", "F"] = "F" if fortran_order else "C"
    return np.memmap(str(path), dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
