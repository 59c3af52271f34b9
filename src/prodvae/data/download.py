"""``prodvae data download``: public sources of the standard datasets, with SHA-256 checks.

Hashes are recorded only where they were verified; where the table says ``None`` the
download reports the hash it computed so it can be recorded. The only network access of
the package is :func:`fetch_url`, called from :func:`download`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_VARIABLE = "PRODVAE_DATA"


@dataclass(frozen=True)
class Source:
    """Where a standard dataset file comes from.

    ``also_accepted`` names other files the loader reads in place of ``filename`` (the same
    data in another container); they are never downloaded, and ``filename`` wins when both exist.
    """

    filename: str
    url: str | None  # None: no direct link; ``note`` says how to get the file
    sha256: str | None = None
    note: str = ""
    also_accepted: tuple[str, ...] = ()


_MPI3D = "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/"
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
    "cars3d": Source(
        "cars3d.npz",
        None,
        note="download http://www.scottreed.info/files/nips2015-analogy-data.tar.gz and convert "
        "it to cars3d.npz as described in prodvae.data.cars3d",
    ),
    "smallnorb": Source(
        "smallnorb.npz",
        None,
        note="download the six files of https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ and "
        "convert them to smallnorb.npz as described in prodvae.data.smallnorb",
    ),
}


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    sha256: str
    verified: bool  # True when a recorded hash was checked
    message: str


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """``data_dir``, else ``$PRODVAE_DATA``, else ``./data``."""
    if data_dir is not None:
        return Path(data_dir)
    return Path(os.environ.get(DATA_DIR_VARIABLE) or "data")


def source_of(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; downloadable: {', '.join(sorted(SOURCES))}")
    return SOURCES[name]


def locate(name: str, data_dir: str | os.PathLike | None) -> Path:
    """Path of a standard dataset's file in the data directory, or a FileNotFoundError that
    says how to get it."""
    source = source_of(name)
    folder = resolve_data_dir(data_dir)
    for filename in (source.filename, *source.also_accepted):
        if (folder / filename).is_file():
            return folder / filename
    raise FileNotFoundError(
        f"{name}: no file at {folder / source.filename}. Run `prodvae data download {name} "
        f"--data-dir DIR` or put a copy of {_accepted(source)} in DIR (--data-dir or "
        f"${DATA_DIR_VARIABLE})"
    )


def _accepted(source: Source) -> str:
    """The file names a loader accepts, for messages: ``a.hdf5 (or a.npz)``."""
    others = " or ".join(source.also_accepted)
    return f"{source.filename} (or {others})" if others else source.filename


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_url(url: str, destination: Path, timeout: float = 60.0) -> None:
    """Copy ``url`` to ``destination`` (the one network call of the package)."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(destination, "wb") as out:
        shutil.copyfileobj(response, out, length=1 << 20)


def _verify(name: str, path: Path, expected: str | None) -> tuple[str, bool]:
    actual = sha256_of(path)
    if expected is not None and actual != expected:
        raise ValueError(f"{name}: SHA-256 of {path} is {actual}, expected {expected}")
    return actual, expected is not None


def download(name: str, data_dir: str | os.PathLike) -> DownloadResult:
    """Fetch a standard dataset into ``data_dir`` (kept if already there) and check SHA-256."""
    source = source_of(name)
    folder = Path(data_dir)
    path = folder / source.filename
    also = "".join(f" or {other} in the same folder" for other in source.also_accepted)
    offline_help = (
        f"put a copy of {source.filename} at {path}{also} (choose the folder with --data-dir "
        f"or ${DATA_DIR_VARIABLE})"
    )
    if path.is_file():
        actual, verified = _verify(name, path, source.sha256)
        return DownloadResult(
            path, actual, verified, _summary(name, path, actual, verified, "found")
        )
    if source.url is None:
        raise ValueError(f"{name}: no direct download; {source.note}; then {offline_help}")
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{source.filename}.part"
    try:
        fetch_url(source.url, partial)
        actual, verified = _verify(name, partial, source.sha256)
        os.replace(partial, path)
    except OSError as error:  # URLError, timeouts and DNS failures are OSErrors
        raise ValueError(
            f"{name}: could not download {source.url} ({error}). If you are offline, {offline_help}"
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return DownloadResult(path, actual, verified, _summary(name, path, actual, verified, "saved"))


def _summary(name: str, path: Path, actual: str, verified: bool, verb: str) -> str:
    check = "verified" if verified else "no recorded hash to compare; record it"
    return f"{name}: {verb} {path}\nSHA-256 {actual} ({check})"
