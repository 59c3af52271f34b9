"""Science benchmarks: sweeps of datasets x objectives x seeds, scored and tabulated.

>>> from prodvae.bench import load_preset, run_sweep
>>> preset = load_preset("benchmarks/disentangle/presets/smoke.yaml")  # doctest: +SKIP
>>> result = run_sweep(preset, "runs/bench/smoke", executor="inline")  # doctest: +SKIP

This layer sits above :mod:`prodvae.train`: each cell is an ordinary training run, scored
with :func:`prodvae.metrics.evaluate`. ``prodvae bench`` and ``python -m
benchmarks.disentangle`` are two doors to the same code.
"""

from prodvae.bench.cell import check_cell, run_cell, score_run
from prodvae.bench.executors import EXECUTORS, ExecutorOptions, JobOutcome, register_executor
from prodvae.bench.preset import Cell, Evaluation, Preset, load_preset, parse_preset
from prodvae.bench.summary import Summary, markdown_table, summarise, summary_rows
from prodvae.bench.sweep import SweepResult, collect_records, run_sweep, write_results

__all__ = [
    "EXECUTORS",
    "Cell",
    "Evaluation",
    "ExecutorOptions",
    "JobOutcome",
    "Preset",
    "Summary",
    "SweepResult",
    "check_cell",
    "collect_records",
    "load_preset",
    "markdown_table",
    "parse_preset",
    "register_executor",
    "run_cell",
    "run_sweep",
    "score_run",
    "summarise",
    "summary_rows",
    "write_results",
]
