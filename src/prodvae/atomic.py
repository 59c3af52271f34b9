"""Files written whole or not at all, for every layer: each is written to a temporary file
beside its target and renamed over it only once complete, so a failed write never destroys
the file that was there. The file then has the permissions any file written there would have
(the process's umask), not the private ones of a temporary file."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path`` (hidden, ending ``.tmp``, so
    that one a killed process leaves is no figure or dataset to a glob; its folder made if
    missing), then rename it to ``path``; a failed ``write`` leaves any earlier file at
    ``path`` untouched. ``write`` must not infer the format from the name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~umask())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def umask() -> int:
    """The process's file-creation mask: read from ``/proc/self/status`` where Linux gives it,
    else set and restored under a lock (``os.umask`` is the only other way to read it, and
    it changes the mask for the whole process while it is read)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask
