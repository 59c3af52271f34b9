"""Run a preset's sweep and write ``results.json``, ``results.md`` and ``results.png``.

Every cell is checked before anything trains; finished cells (their ``result.json``
exists) are skipped, so an interrupted sweep is resumed by running the same command again.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prodvae.atomic import atomic_write_text
from prodvae.bench.cell import check_cell, result_path, run_cell
from prodvae.bench.executors import ExecutorOptions, get_executor
from prodvae.bench.plot import plot_results
from prodvae.bench.preset import Preset
from prodvae.bench.summary import Summary, markdown_table, summary_rows
from prodvae.train.run_folder import git_commit

log = logging.getLogger(__name__)

RESULTS_JSON, RESULTS_MD, RESULTS_PNG = "results.json", "results.md", "results.png"


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did: cells run now, cells skipped as done, failures by cell id."""

    out_dir: Path
    records: list[dict[str, Any]]
    ran: list[str]
    skipped: list[str]
    failures: dict[str, str] = field(default_factory=dict)


def run_sweep(
    preset: Preset,
    out_dir: str | Path,
    *,
    executor: str = "inline",
    options: ExecutorOptions | None = None,
    overrides: tuple[str, ...] = (),
    command: str = "",
) -> SweepResult:
    """Train and score every unfinished cell of ``preset`` into ``out_dir``, then aggregate."""
    out_dir = Path(out_dir)
    for cell in preset.cells:
        check_cell(cell, out_dir, overrides)
    options = options or ExecutorOptions(folder=out_dir / "submitit")
    runner = get_executor(executor, options)
    todo = [cell for cell in preset.cells if not result_path(out_dir, cell).is_file()]
    skipped = [cell.cell_id for cell in preset.cells if cell not in todo]
    log.info("%d cells to run, %d already done", len(todo), len(skipped))
    (out_dir / "cells").mkdir(parents=True, exist_ok=True)
    jobs = [(cell, out_dir, preset.evaluation, tuple(overrides)) for cell in todo]
    outcomes = runner.run(run_cell, jobs)
    failures = {cell.cell_id: o.error for cell, o in zip(todo, outcomes) if o.error is not None}
    records = collect_records(preset, out_dir)
    write_results(preset, out_dir, records, overrides=overrides, command=command, failures=failures)
    return SweepResult(out_dir, records, [c.cell_id for c in todo], skipped, failures)


def collect_records(preset: Preset, out_dir: Path) -> list[dict[str, Any]]:
    """The result records of the preset's finished cells, in preset order."""
    records = []
    for cell in preset.cells:
        path = result_path(out_dir, cell)
        if path.is_file():
            records.append(json.loads(path.read_text()))
    return records


def environment() -> dict[str, Any]:
    """Versions and machine, recorded beside the numbers."""
    import numpy
    import sklearn
    import torch

    import prodvae

    return {
        "prodvae": prodvae.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch_threads": torch.get_num_threads(),
        "git_commit": git_commit(),
    }


def write_results(
    preset: Preset,
    out_dir: Path,
    records: list[dict[str, Any]],
    *,
    overrides: tuple[str, ...] = (),
    command: str = "",
    failures: dict[str, str] | None = None,
) -> None:
    """``results.json`` (everything), ``results.md`` (the table) and ``results.png``."""
    date = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    num_seeds = len({cell.seed for cell in preset.cells})
    table = markdown_table(
        records, preset.datasets, preset.variants, preset.headline, num_seeds=num_seeds
    )
    rows = summary_rows(records, preset.datasets, preset.variants, preset.headline)
    document = {
        "preset": preset.name,
        "description": preset.description,
        "command": command,
        "date": date,
        "overrides": list(overrides),
        "environment": environment(),
        "evaluation": asdict(preset.evaluation),
        "headline": preset.headline,
        "num_cells": len(preset.cells),
        "num_finished": sum(r.get("status") == "finished" for r in records),
        "failures": failures or {},
        "summary": [
            {k: (asdict(v) if isinstance(v, Summary) else v) for k, v in row.items()}
            for row in rows
        ],
        "preset_file": preset.raw,
        "cells": records,
    }
    text = json.dumps(_finite(document), indent=2, allow_nan=False)
    atomic_write_text(out_dir / RESULTS_JSON, text + "\n")
    header = [
        f"# {preset.name}: mean ± std over seeds",
        "",
        f"- date: {date}",
        f"- command: `{command}`" if command else "- command: (library call)",
        f"- cells finished: {document['num_finished']}/{len(preset.cells)}",
        f"- torch {document['environment']['torch']}, "
        f"scikit-learn {document['environment']['sklearn']}",
        "",
    ]
    atomic_write_text(out_dir / RESULTS_MD, "\n".join(header) + "\n" + table)
    plot_results(records, preset.datasets, preset.variants, preset.headline, out_dir / RESULTS_PNG)


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by ``None`` (JSON has no such numbers)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
