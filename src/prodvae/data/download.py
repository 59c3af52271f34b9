"""``prodvae data download``: public sources of the standard datasets, with SHA-256 checks.

Hashes are recorded only where they were verified; where the table says ``None`` the
download reports the hash it computed so it can be recorded. A dataset published in files the
loader does not read (smallNORB's six matrices, Cars3D's archive) lists them as ``originals``:
each is fetched and verified (or only hashed, when no hash is recorded) on its own, then
``convert`` builds the file the loader reads (the table is in :mod:`prodvae.data.sources`).
The only network access of the package is :func:`fetch_url`, called from :func:`download`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prodvae.data.sources import SOURCES, Original, Source

DATA_DIR_VARIABLE = "PRODVAE_DATA"


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
