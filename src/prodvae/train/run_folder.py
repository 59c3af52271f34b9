"""The run folder: ``config.yaml``, ``meta.json``, ``metrics.jsonl``, ``checkpoints/``,
``figures/`` and ``tb/``.

``config.yaml`` is the fully resolved config (it loads back as an overlay);
``meta.json`` records the package and torch versions, the git commit if any and the seed.
Files are replaced atomically (temp file + rename) so nothing on disk is half-written.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch
import yaml

import prodvae
from prodvae.atomic import atomic_write_text
from prodvae.train.config import Config

CONFIG_FILE = "config.yaml"
META_FILE = "meta.json"
METRICS_FILE = "metrics.jsonl"


class RunFolder:
    """Paths of one run and the writers that fill them."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tb"

    @classmethod
    def for_config(cls, config: Config) -> RunFolder:
        """``<run.dir>/<run.name>``."""
        if not config.run.name:
            raise ValueError("run.name is empty; set it in the config or with --set run.name=NAME")
        return cls(Path(config.run.dir) / config.run.name)

    def check_new(self) -> None:
        """Refuse to reuse a folder that already holds a run."""
        if self.config_path.exists():
            raise ValueError(
                f"run folder {str(self.path)!r} already holds a run; resume it with "
                f"'prodvae train --resume {self.path}' or choose another --set run.name=..."
            )

    def create(self, config: Config) -> None:
        """Make a new run folder (see :meth:`check_new`)."""
        self.check_new()
        for folder in (self.path, self.checkpoints, self.figures):
            folder.mkdir(parents=True, exist_ok=True)
        self.write_config(config)
        meta = {
            "prodvae_version": prodvae.__version__,
            "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "git_commit": git_commit(),
            "seed": config.train.seed,
        }
        atomic_write_text(self.path / META_FILE, json.dumps(meta, indent=2) + "\n")

    def write_config(self, config: Config) -> None:
        """Write the resolved config as YAML."""
        text = yaml.safe_dump(config.to_dict(), sort_keys=False)
        atomic_write_text(self.config_path, text)

    def read_config_dict(self) -> dict[str, Any]:
        """The saved config as a plain dict."""
        if not self.config_path.is_file():
            raise FileNotFoundError(f"{str(self.path)!r} is not a run folder (no {CONFIG_FILE})")
        return yaml.safe_load(self.config_path.read_text()) or {}

    def truncate_metrics(self, step: int) -> None:
        """Drop metric lines past ``step`` (left by a run killed after its last checkpoint)."""
        if not self.metrics_path.exists():
            return
        kept = [
            line
            for line in self.metrics_path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        atomic_write_text(self.metrics_path, "".join(line + "\n" for line in kept))


class ScalarLog:
    """Appends scalars to ``metrics.jsonl`` and, if enabled, to TensorBoard."""

    def __init__(self, folder: RunFolder, *, tensorboard: bool, purge_step: int | None) -> None:
        self._file = open(folder.metrics_path, "a", encoding="utf-8")  # noqa: SIM115
        self._writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(folder.tensorboard), purge_step=purge_step)

    @property
    def writer(self):
        """The TensorBoard ``SummaryWriter``, or ``None`` when TensorBoard is off."""
        return self._writer

    def write(self, step: int, scalars: dict[str, float]) -> None:
        """One JSON line ``{"step": step, **scalars}`` (non-finite values written as null)."""
        clean = {k: (float(v) if math.isfinite(float(v)) else None) for k, v in scalars.items()}
        self._file.write(json.dumps({"step": step, **clean}) + "\n")
        self._file.flush()
        if self._writer is not None:
            for key, value in clean.items():
                if value is not None:
                    self._writer.add_scalar(key, value, step)

    def close(self) -> None:
        self._file.close()
        if self._writer is not None:
            self._writer.close()


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """All lines of a run's ``metrics.jsonl``."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def git_commit() -> str | None:
    """The commit of the git checkout holding the package source, if there is one."""
    source = Path(prodvae.__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=source,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
