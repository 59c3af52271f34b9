"""Checkpoints: model weights in safetensors, the rest in a ``weights_only`` torch file.

A checkpoint is a folder ``checkpoints/step_<n>/`` holding ``model.safetensors``,
``state.pt`` (step, optimizer, scheduler, objective state, RNG states, the config and the
SHA-256 of the weights) and ``state.sha256`` (the SHA-256 of ``state.pt``). It is written
into a temporary folder and renamed into place, so a process killed mid-write leaves the
previous checkpoints untouched; only the last ``keep`` are kept. Loading never unpickles
arbitrary objects and refuses a corrupt checkpoint or one written by a different config with
a message that says which. Resuming (:func:`load_latest`) skips a corrupt or incomplete
newest checkpoint with a warning and falls back to the one before it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_model

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
STATE_FILE = "state.pt"
#: SHA-256 of ``state.pt`` (a torch zip whose CRCs ``torch.load`` does not check: without it
#: a flipped byte in the optimiser or RNG state would load silently). Absent in checkpoints
#: written before it existed, which are read unchecked.
STATE_DIGEST_FILE = "state.sha256"
CORRUPT_SUFFIX = ".corrupt"
_STEP_DIR = re.compile(r"^step_(\d+)$")

log = logging.getLogger(__name__)


class CorruptCheckpoint(ValueError):
    """A checkpoint folder that is damaged or incomplete (a truncated file, a failed checksum),
    as opposed to an intact one that does not fit; resuming falls back past it."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"checkpoint {str(path)!r} {problem}")
        self.path = Path(path)


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_latest` restored besides the weights it loaded in place."""

    path: Path
    step: int
    state: dict[str, Any]  # the checked ``state.pt``
    skipped: tuple[Path, ...]  # newer checkpoints found corrupt, newest first


def identity_digest(identity: dict[str, Any]) -> str:
    """A stable hash of a config's identity fields."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def rng_state() -> dict[str, Any]:
    """The global torch RNG states (CPU and every CUDA device)."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (CUDA states only where devices exist)."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    directory: str | Path,
    step: int,
    model: torch.nn.Module,
    state: dict[str, Any],
    *,
    keep: int,
) -> Path:
    """Write ``directory/step_<step>`` atomically and prune all but the newest ``keep``.

    ``state`` holds plain values and tensors (optimizer, scheduler, objective, rng,
    config, identity, ...); it must be loadable with ``torch.load(weights_only=True)``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"step_{step:08d}"
    if final.exists():
        return final
    temp = directory / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    save_model(model, str(temp / WEIGHTS_FILE))
    payload = dict(
        state, step=step, format=FORMAT_VERSION, weights_sha256=_sha256(temp / WEIGHTS_FILE)
    )
    torch.save(payload, temp / STATE_FILE)
    (temp / STATE_DIGEST_FILE).write_text(_sha256(temp / STATE_FILE) + "\n")
    for name in (WEIGHTS_FILE, STATE_FILE, STATE_DIGEST_FILE):
        _fsync(temp / name)
    os.replace(temp, final)
    _fsync_dir(directory)
    prune_checkpoints(directory, keep)
    return final


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Complete checkpoint folders, oldest first (temporary folders are ignored)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_dir() and _STEP_DIR.match(p.name)]
    return sorted(found, key=lambda p: int(_STEP_DIR.match(p.name).group(1)))  # type: ignore[union-attr]


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The newest complete checkpoint folder, or ``None``."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


def prune_checkpoints(directory: str | Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints and stale temporary folders."""
    for old in list_checkpoints(directory)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in Path(directory).glob(".tmp-step_*"):
        if not stale.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(stale, ignore_errors=True)


def load_latest(
    directory: str | Path, model: torch.nn.Module, identity: dict[str, Any]
) -> Checkpoint | None:
    """Load the newest intact checkpoint of ``directory`` into ``model``; ``None`` if none exists.

    A corrupt or incomplete checkpoint is logged as a warning and the one before it tried;
    one written by another config is refused at once (:func:`check_identity`). When every
    checkpoint is corrupt this raises ``ValueError`` naming each. Nothing on disk changes:
    the caller may :func:`set_aside` the skipped ones.
    """
    skipped: list[CorruptCheckpoint] = []
    for path in reversed(list_checkpoints(directory)):
        try:
            state = read_state(path)
            check_identity(path, state, identity)
            load_weights(path, model, state)
        except CorruptCheckpoint as error:
            log.warning("%s; falling back to the checkpoint before it", error)
            skipped.append(error)
            continue
        bad = tuple(error.path for error in skipped)
        return Checkpoint(path, int(state["step"]), state, bad)
    if skipped:
        reasons = "; ".join(str(error) for error in skipped)
        raise ValueError(
            f"cannot resume from {str(directory)!r}: no intact checkpoint ({reasons}). "
            "Restore one from a backup, or start a new run"
        )
    return None


def set_aside(path: str | Path) -> Path:
    """Rename a corrupt checkpoint folder to ``step_<n>.corrupt`` (kept for inspection, no
    longer listed), so that a resumed run writes that step afresh; returns the new path."""
    path = Path(path)
    target = path.with_name(path.name + CORRUPT_SUFFIX)
    shutil.rmtree(target, ignore_errors=True)  # left by an earlier fall-back past this step
    os.replace(path, target)
    return target


def read_state(path: str | Path) -> dict[str, Any]:
    """The ``state.pt`` of a checkpoint folder, checked for corruption (weights unread)."""
    path = Path(path)
    digest = path / STATE_DIGEST_FILE
    if digest.is_file() and (path / STATE_FILE).is_file():
        if digest.read_text().strip() != _sha256(path / STATE_FILE):
            raise CorruptCheckpoint(path, f"is corrupt: {STATE_FILE} fails its checksum")
    try:
        state = torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CorruptCheckpoint(path, f"is incomplete: {STATE_FILE} is missing") from None
    except Exception as error:  # noqa: BLE001 -- any unpickling failure means corruption
        raise CorruptCheckpoint(path, f"is corrupt ({STATE_FILE}: {error})") from None
    if not isinstance(state, dict):
        raise CorruptCheckpoint(path, f"is corrupt ({STATE_FILE} holds no dict)")
    if state.get("format") != FORMAT_VERSION:
        raise ValueError(f"checkpoint {str(path)!r} has an unknown format")
    return state


def load_weights(path: str | Path, model: torch.nn.Module, state: dict[str, Any]) -> None:
    """Load ``model.safetensors`` into ``model`` after checking its SHA-256 against ``state``."""
    path = Path(path)
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise CorruptCheckpoint(path, f"is incomplete: {WEIGHTS_FILE} is missing")
    if _sha256(weights) != state.get("weights_sha256"):
        raise CorruptCheckpoint(path, f"is corrupt: {WEIGHTS_FILE} fails its checksum")
    try:
        tensors = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError) as error:
        raise CorruptCheckpoint(path, f"is corrupt ({WEIGHTS_FILE}: {error})") from None
    own = model.state_dict()
    # save_model drops tensors that share storage with another; restore them from the source.
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if unexpected or any(not _shares_storage(own, k) for k in missing):
        raise ValueError(
            f"checkpoint {str(path)!r} does not fit this model "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    model.load_state_dict(tensors, strict=False)


def check_identity(path: str | Path, state: dict[str, Any], identity: dict[str, Any]) -> None:
    """Refuse a checkpoint whose config differs from ``identity`` in fields that matter.

    Values are compared, not their spelling: ``4`` written by an older config that did not yet
    convert ``objective.options`` to their types equals the ``4.0`` it loads as now.
    """
    if state.get("identity_digest") == identity_digest(identity):
        return
    theirs = state.get("identity", {})
    changed = sorted(
        k
        for k in set(theirs) | set(identity)
        if theirs.get(k, "<unset>") != identity.get(k, "<unset>")
    )
    if not changed:
        return
    details = ", ".join(
        f"{k}: {theirs.get(k, '<unset>')!r} -> {identity.get(k, '<unset>')!r}" for k in changed[:6]
    )
    raise ValueError(
        f"checkpoint {str(path)!r} was written by a different config ({details}); "
        "only train.steps, logging, checkpointing, eval and run settings may change on resume"
    )


def _shares_storage(state_dict: dict[str, torch.Tensor], key: str) -> bool:
    pointer = state_dict[key].untyped_storage().data_ptr()
    return any(
        other != key and tensor.untyped_storage().data_ptr() == pointer
        for other, tensor in state_dict.items()
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
