"""``prodvae data download``: public sources of the standard datasets, with SHA-256 checks.

Hashes are recorded only where they were verified; where the table says ``None`` the
download reports the hash it computed so it can be recorded. A dataset published in files the
loader does not read (smallNORB's six matrices, Cars3D's archive) lists them as ``originals``:
each is fetched and verified (or only hashed, when no hash is recorded) on its own, then
``convert`` builds the file the loader reads. The only network access of the package is
:func:`fetch_url`, called from :func:`download`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prodvae.data.cars3d_format import ARCHIVE_NAME as CARS3D_ARCHIVE
from prodvae.data.cars3d_format import convert_cars3d_folder
from prodvae.data.norb_format import convert_smallnorb

DATA_DIR_VARIABLE = "PRODVAE_DATA"


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


@dataclass(frozen=True)
class CheckedFile:
    """An original that matched its recorded SHA-256 (``verified``), or was only hashed where
    none is recorded: fetched (``saved``) or already there (``found``)."""

    path: Path
    sha256: str
    verb: str
    verified: bool = True


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    sha256: str | None  # None: a file built from originals (their hashes in ``originals``)
    verified: bool  # True when a recorded hash was checked (for every original)
    message: str
    originals: tuple[CheckedFile, ...] = ()  # the originals checked on the way


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
    them = "it" if len(source.originals) == 1 else "them"
    originals = (
        f", or put {_its_originals(source.originals)} there and run the download, "
        f"which converts {them} without fetching"
        if source.originals
        else ""
    )
    raise FileNotFoundError(
        f"{name}: no file at {folder / source.filename}. Run `prodvae data download {name} "
        f"--data-dir DIR` or put a copy of {_accepted(source)} in DIR (--data-dir or "
        f"${DATA_DIR_VARIABLE}){originals}"
    )


def _its_originals(originals: tuple[Original, ...]) -> str:
    """``its 6 original files`` or, for one, ``its original file NAME``."""
    if len(originals) == 1:
        return f"its original file {originals[0].filename}"
    return f"its {len(originals)} original files"


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


def _verify(
    name: str, path: Path, expected: str | None, size: int | None = None, url: str | None = None
) -> tuple[str, bool]:
    """SHA-256 of ``path`` and whether it was checked; a mismatch is a ValueError that names
    ``url`` when ``path`` is a download (deleted by the caller), else ``path``."""
    actual = sha256_of(path)
    if expected is not None and actual != expected:
        held = path.stat().st_size
        sizes = (
            f" ({held:,} bytes; the published file has {size:,})"
            if size not in (None, held)
            else ""
        )
        what = str(path) if url is None else f"the download of {url}"
        deleted = "" if url is None else "; it was deleted"
        raise ValueError(
            f"{name}: SHA-256 of {what} is {actual}, expected {expected}{sizes}{deleted}"
        )
    return actual, expected is not None


def _fetch(
    name: str, url: str, path: Path, expected: str | None, offline_help: str, size: int | None
) -> tuple[str, bool]:
    """Fetch ``url`` to ``path`` through a hidden ``.part`` file, renamed only once verified:
    a failed or mismatching download leaves no file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.parent / f".{path.name}.part"
    try:
        fetch_url(url, partial)
        checked = _verify(name, partial, expected, size, url)
        os.replace(partial, path)
    except OSError as error:  # URLError, timeouts and DNS failures are OSErrors
        raise ValueError(
            f"{name}: could not download {url} ({error}). If you are offline, {offline_help}"
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return checked


Progress = Callable[[str], None]


def download(
    name: str, data_dir: str | os.PathLike, progress: Progress | None = None
) -> DownloadResult:
    """Fetch a standard dataset into ``data_dir`` (kept if already there) and check SHA-256;
    ``progress`` receives a line before each fetch (downloads can take minutes)."""
    source = source_of(name)
    if source.originals:
        return _download_originals(name, source, Path(data_dir), progress)
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
    if progress is not None:
        progress(f"{name}: fetching {source.url}")
    actual, verified = _fetch(name, source.url, path, source.sha256, offline_help, None)
    return DownloadResult(path, actual, verified, _summary(name, path, actual, verified, "saved"))


def _download_originals(
    name: str, source: Source, folder: Path, progress: Progress | None
) -> DownloadResult:
    """Check the originals already in ``folder``, fetch and check the missing ones, then
    convert them to ``source.filename`` (kept, unchecked, when it already exists)."""
    assert source.convert is not None, f"{name}: originals without a conversion"
    path = folder / source.filename
    if path.is_file():
        message = f"{name}: found {path}; kept (delete it to convert the originals again)"
        return DownloadResult(path, None, False, message)
    originals = _gather_originals(name, source.originals, folder, progress)
    if progress is not None:
        progress(f"{name}: converting the originals to {path}")
    _convert(source, folder, path, originals)
    lines = [_checked_line(name, checked) for checked in originals]
    them, files = ("it", "original") if len(originals) == 1 else ("them", "originals")
    lines.append(f"{name}: converted {them} to {path} (the {files} can be deleted now)")
    verified = all(checked.verified for checked in originals)
    return DownloadResult(path, None, verified, "\n".join(lines), originals)


def _gather_originals(
    name: str, originals: tuple[Original, ...], folder: Path, progress: Progress | None
) -> tuple[CheckedFile, ...]:
    """The originals in ``folder``: copies already there are checked first (so a bad one fails
    before any fetch), then the missing ones are fetched and checked."""
    offline_help = _originals_offline_help(originals, folder)
    checked: dict[Original, CheckedFile] = {}
    for original in originals:
        target = folder / original.filename
        if target.is_file():
            actual, verified = _verify(name, target, original.sha256, original.size)
            checked[original] = CheckedFile(target, actual, "found", verified)
    for original in originals:
        if original not in checked:
            target = folder / original.filename
            if progress is not None:
                size = "" if original.size is None else f" ({original.size:,} bytes)"
                progress(f"{name}: fetching {original.url}{size}")
            actual, verified = _fetch(
                name, original.url, target, original.sha256, offline_help, original.size
            )
            checked[original] = CheckedFile(target, actual, "saved", verified)
    return tuple(checked[original] for original in originals)


def _originals_offline_help(originals: tuple[Original, ...], folder: Path) -> str:
    names = ", ".join(original.filename for original in originals)
    files = f"the file {names}" if len(originals) == 1 else f"the {len(originals)} files {names}"
    them = "it" if len(originals) == 1 else "them"
    checks = "verifies and converts" if all(o.sha256 for o in originals) else "converts"
    return (
        f"put {files} in {folder} (choose the folder with --data-dir or ${DATA_DIR_VARIABLE}) "
        f"and run this again: it {checks} {them} without fetching"
    )


def _convert(source: Source, folder: Path, path: Path, originals: tuple[CheckedFile, ...]) -> None:
    """``source.convert``; a failure says how to fetch afresh an original that no recorded hash
    vouches for (a damaged download would otherwise be converted again and again)."""
    assert source.convert is not None
    try:
        source.convert(folder, path)
    except ValueError as error:
        unchecked = [checked.path.name for checked in originals if not checked.verified]
        if not unchecked:
            raise
        raise ValueError(
            f"{error}. No SHA-256 is recorded for {', '.join(unchecked)}: if it is a damaged "
            "download, delete it and run this again to fetch a fresh copy"
        ) from None


def _checked_line(name: str, checked: CheckedFile) -> str:
    if checked.verified:
        return f"{name}: {checked.verb} {checked.path.name} (SHA-256 verified)"
    return (
        f"{name}: {checked.verb} {checked.path.name}\n"
        f"SHA-256 {checked.sha256} (no recorded hash to compare; record it)"
    )


def _summary(name: str, path: Path, actual: str, verified: bool, verb: str) -> str:
    check = "verified" if verified else "no recorded hash to compare; record it"
    return f"{name}: {verb} {path}\nSHA-256 {actual} ({check})"
