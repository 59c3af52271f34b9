"""One cell of a sweep: train a run into ``OUT/cells/<cell-id>/``, score it, write ``result.json``.

The result file is written last and atomically, so its presence means the cell is done: a
rerun skips it. A cell whose run folder exists without a result resumes its training from
the latest checkpoint.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from prodvae.atomic import atomic_write_text
from prodvae.bench.preset import Cell, Evaluation, merge
from prodvae.bench.scoring import score
from prodvae.train import Config, load_config, load_run, make_encoder, train

log = logging.getLogger(__name__)

#: Name of a finished cell's record inside its folder.
RESULT_FILE = "result.json"
#: Sub-folder of a cell holding its training run.
RUN_FOLDER = "run"


def cell_dir(out_dir: str | Path, cell: Cell) -> Path:
    return Path(out_dir) / "cells" / cell.cell_id


def result_path(out_dir: str | Path, cell: Cell) -> Path:
    return cell_dir(out_dir, cell) / RESULT_FILE


def cell_config(cell: Cell, out_dir: str | Path, overrides: tuple[str, ...] = ()) -> Config:
    """The checked training config of ``cell`` (``overrides``: ``section.key=value`` strings)."""
    folder = cell_dir(out_dir, cell)
    overlay = merge(cell.overlay, {"run": {"dir": str(folder), "name": RUN_FOLDER}})
    try:
        return load_config(base=overlay, overrides=list(overrides))
    except ValueError as error:
        raise ValueError(f"cell {cell.cell_id}: {error}") from None


def check_cell(cell: Cell, out_dir: str | Path, overrides: tuple[str, ...] = ()) -> Config:
    """Build the config and the objective of ``cell`` without data or training."""
    from prodvae.objectives import get_objective
    from prodvae.spaces import ProductSpace

    config = cell_config(cell, out_dir, overrides)
    try:
        get_objective(config.objective.name, **config.objective.options)
        if isinstance(config.model.space, str) and config.model.space != "auto":
            ProductSpace.parse(config.model.space)
    except ValueError as error:
        raise ValueError(f"cell {cell.cell_id}: {error}") from None
    return config


def run_cell(
    cell: Cell, out_dir: str | Path, evaluation: Evaluation, overrides: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Train and score ``cell`` unless its result exists; returns the result record."""
    path = result_path(out_dir, cell)
    if path.is_file():
        log.info("cell %s already done", cell.cell_id)
        return json.loads(path.read_text())
    config = cell_config(cell, out_dir, overrides)
    run_dir = cell_dir(out_dir, cell) / RUN_FOLDER
    start = time.perf_counter()
    outcome = train(config, run_dir, resume=(run_dir / "config.yaml").is_file())
    train_seconds = time.perf_counter() - start
    if outcome.status == "interrupted":
        raise RuntimeError(f"cell {cell.cell_id} was interrupted at step {outcome.step}")
    metrics: dict[str, Any] = {}
    eval_seconds = 0.0
    if outcome.status == "finished":
        start = time.perf_counter()
        metrics = score_run(run_dir, evaluation)
        eval_seconds = time.perf_counter() - start
    record = {
        "cell_id": cell.cell_id,
        "dataset": cell.dataset,
        "objective": cell.objective,
        "variant": cell.variant,
        "seed": cell.seed,
        "status": outcome.status,
        "steps": outcome.step,
        "final_loss": _json_float(outcome.loss),
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "config": config.to_dict(),
        "metrics": {key: _json_float(value) for key, value in metrics.items()},
    }
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
    return record


def score_run(run_dir: Path, evaluation: Evaluation) -> dict[str, Any]:
    """The scores of ``evaluation`` for the run's latest checkpoint."""
    loaded = load_run(run_dir, device=evaluation.device)
    encode = make_encoder(loaded.model, next(loaded.model.parameters()).device)
    return score(encode, loaded.dataset, loaded.space, evaluation)


def _json_float(value: Any) -> Any:
    """NaN and infinities become ``None`` (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
