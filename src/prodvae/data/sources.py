"""Where the standard datasets come from: each dataset's file, its public URL and SHA-256, or
the published originals it is built from and the converter that builds it.

Hashes are recorded only where they were verified against a published record; ``None`` means
none is published, and ``prodvae data download`` then reports the hash it computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prodvae.data.cars3d_format import ARCHIVE_NAME as CARS3D_ARCHIVE
from prodvae.data.cars3d_format import convert_cars3d_folder
from prodvae.data.norb_format import convert_smallnorb


@dataclass(frozen=True)
class Original:
    """One published file that a dataset's file is built from."""

    filename: str
    url: str
    sha256: str | None  # None: none published; the download reports the hash it computed
    size: int | None  # bytes, as published beside the hash (used in messages only)


@dataclass(frozen=True)
class Source:
    """Where a standard dataset file comes from.

    ``also_accepted`` names other files the loader reads in place of ``filename`` (the same
    data in another container); they are never downloaded, and ``filename`` wins when both exist.
    ``originals`` (with ``url`` None) are the published files that ``convert(folder, path)``
    turns into ``filename``.
    """

    filename: str
    url: str | None  # None: no direct link; ``note`` says how to get the file
    sha256: str | None = None
    note: str = ""
    also_accepted: tuple[str, ...] = ()
    originals: tuple[Original, ...] = ()
    convert: Callable[[Path, Path], object] | None = None


_MPI3D = "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/"
_NORB = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
_CARS3D = "http://www.scottreed.info/files/"


def _norb(filename: str, size: int, sha256: str) -> Original:
    return Original(filename, _NORB + filename, sha256, size)


SOURCES: dict[str, Source] = {
    # SHA-256 as published beside the file's size (267,573,662 bytes) and MD5
    # (099a2078d58cec4daad0702c55d06868), an MD5 that other loaders record independently.
    "shapes3d": Source(
        "3dshapes.h5",
        "https://storage.googleapis.com/3d-shapes/3dshapes.h5",
        sha256="0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785",
    ),
    # SHA-256 of the HDF5 copy as TensorFlow Datasets records it (with its size, 28,024,106
    # bytes) in tensorflow_datasets/url_checksums/dsprites.txt; the npz copy has no published
    # hash, so download fetches the HDF5 and the loader still reads an npz a user already has.
    "dsprites": Source(
        "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5",
        "https://github.com/deepmind/dsprites-dataset/raw/master/"
        "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5",
        sha256="729fa22e884c9c500e1f17415d580746b4c5894fbbb780a1319bbcfa39a745bb",
        also_accepted=("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",),
    ),
    "mpi3d_toy": Source("mpi3d_toy.npz", _MPI3D + "mpi3d_toy.npz"),
    "mpi3d_realistic": Source("mpi3d_realistic.npz", _MPI3D + "mpi3d_realistic.npz"),
    "mpi3d_real": Source("mpi3d_real.npz", _MPI3D + "mpi3d_real.npz"),
    "mpi3d_complex": Source(
        "mpi3d_complex.npz",
        None,
        note="MPI3D-complex is shared through Google Drive from "
        "https://github.com/rr-learning/disentanglement_dataset; save it as mpi3d_complex.npz",
    ),
    # One original, the archive of Reed et al. (NeurIPS 2015). No SHA-256 (nor size) is
    # published for it, so the download reports the hash it computed; cars3d.npz is built
    # from it by prodvae.data.cars3d_format.
    "cars3d": Source(
        "cars3d.npz",
        None,
        note=f"cars3d.npz is built from {_CARS3D}{CARS3D_ARCHIVE}",
        originals=(Original(CARS3D_ARCHIVE, _CARS3D + CARS3D_ARCHIVE, None, None),),
        convert=convert_cars3d_folder,
    ),
    # Sizes and SHA-256 of the six originals as TensorFlow Datasets records them in
    # tensorflow_datasets/url_checksums/smallnorb.txt; smallnorb.npz is built from them.
    "smallnorb": Source(
        "smallnorb.npz",
        None,
        note=f"smallnorb.npz is built from the six files of {_NORB}",
        originals=(
            _norb(
                "smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat.gz",
                131896188,
                "5ffd6272a07d32695ee1082a26a41a93a37aab8c28da047f8c34ed348d214873",
            ),
            _norb(
                "smallnorb-5x46789x9x18x6x2x96x96-training-cat.mat.gz",
                348,
                "2784e542c1922060691090952b6cd6278879a216c90f81476f0f00256d42cdaa",
            ),
            _norb(
                "smallnorb-5x46789x9x18x6x2x96x96-training-info.mat.gz",
                71052,
                "de7eb932ebe7a4ee16217fead60660d0eb3d23632c2f4d1c51f88c501c17bf32",
            ),
            _norb(
                "smallnorb-5x01235x9x18x6x2x96x96-testing-dat.mat.gz",
                130799817,
                "cf7104eed3e51174d2f65b66d1e5878b9da233b886f161b0d88f4510ba2c7474",
            ),
            _norb(
                "smallnorb-5x01235x9x18x6x2x96x96-testing-cat.mat.gz",
                347,
                "ecaf6d5bb8c3bc5eab9cf0258f6d2198dd474e016e374836fc097f2e5ff509ff",
            ),
            _norb(
                "smallnorb-5x01235x9x18x6x2x96x96-testing-info.mat.gz",
                10428,
                "16adf314226327ee006d1a44db8cfef52773c06c829951d5653a9f6f310248a2",
            ),
        ),
        convert=convert_smallnorb,
    ),
}
