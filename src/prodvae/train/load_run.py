"""Open a finished or running run folder: its config, trained model, space and dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch

from prodvae.train.build import build_dataset, build_model, build_space
from prodvae.train.checkpoint import latest_checkpoint, load_weights, read_state
from prodvae.train.config import Config
from prodvae.train.overrides import load_config
from prodvae.train.run_folder import RunFolder


class LoadedRun(NamedTuple):
    """A trained model with what it was trained on; ``step`` is the checkpoint's step."""

    config: Config
    model: torch.nn.Module
    space: Any
    dataset: Any
    step: int
    checkpoint: Path


def load_run(
    run_dir: str | Path,
    *,
    checkpoint: str | Path | None = None,
    device: str | torch.device = "cpu",
    dataset: Any = None,
) -> LoadedRun:
    """Load ``run_dir``'s latest checkpoint (or ``checkpoint``) into a model in eval mode.

    ``dataset`` replaces the run's own dataset (it must have the same image shape).
    """
    folder = RunFolder(run_dir)
    config = load_config(base=folder.read_config_dict())
    path = Path(checkpoint) if checkpoint is not None else latest_checkpoint(folder.checkpoints)
    if path is None:
        raise FileNotFoundError(f"run {str(folder.path)!r} has no checkpoint yet")
    state = read_state(path)
    data = dataset if dataset is not None else build_dataset(config.data)
    space = build_space(config.model, data)
    model = build_model(config.model, space, data.image_shape)
    load_weights(path, model, state)
    model.to(device).eval()
    return LoadedRun(config, model, space, data, int(state["step"]), path)
