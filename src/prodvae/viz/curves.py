"""Training curves from a run's ``metrics.jsonl``: every numeric key over the steps.

Each line of ``metrics.jsonl`` is a JSON object with a ``step`` and named scalars (``null``
for a non-finite value). Keys are grouped by prefix -- the part before the first ``/`` or
``.`` (``kl/z0`` and ``kl/z1`` share the panel ``kl``), else the part before the first
``_`` when several keys share it (``kl_0``, ``kl_1``) -- and each group is one panel.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np

from prodvae.viz.canvas import Box, FigureFile, add_axes_px, figure_style, new_figure, save_png

log = logging.getLogger(__name__)

#: Keys that index the log rather than measure training.
NOT_PLOTTED = frozenset({"step", "epoch", "time", "wall_time", "timestamp"})
#: Panel layout in pixels.
PANEL_W, PANEL_H, MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM = 330, 190, 70, 36, 24, 46
NUM_COLUMNS = 3


class Series(NamedTuple):
    """One logged scalar over the steps (NaN where it was null or missing)."""

    key: str
    steps: np.ndarray  # [T]
    values: np.ndarray  # [T]


def read_metrics_log(path: Path | str) -> list[dict]:
    """The JSON objects of a ``metrics.jsonl`` file, in order.

    A final line without its newline (a run killed while writing) is skipped with a
    warning; any other malformed line raises ``ValueError`` naming the file and line.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            if number == len(lines) and not text.endswith("\n"):
                log.warning("%s: skipping an incomplete last line %d", path, number)
                continue
            raise ValueError(f"{path}: line {number} is not valid JSON ({error.msg})") from None
        if not isinstance(record, dict) or not _is_number(record.get("step")):
            raise ValueError(f"{path}: line {number} is not an object with a numeric 'step'")
        records.append(record)
    return records


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def metric_series(records: list[dict]) -> list[Series]:
    """Every numeric key of ``records`` as a :class:`Series`, in order of first appearance."""
    keys: dict[str, None] = {}
    for record in records:
        for key, value in record.items():
            if key not in NOT_PLOTTED and (_is_number(value) or value is None):
                keys.setdefault(key)
    series = []
    for key in keys:
        rows = [r for r in records if key in r and (r[key] is None or _is_number(r[key]))]
        values = np.array([math.nan if r[key] is None else float(r[key]) for r in rows])
        if np.isfinite(values).any():
            steps = np.array([float(r["step"]) for r in rows])
            series.append(Series(key, steps, values))
    return series


def group_series(series: list[Series]) -> dict[str, list[Series]]:
    """Series grouped into panels by key prefix (see the module docstring)."""
    prefix_counts: dict[str, int] = defaultdict(int)
    for s in series:
        prefix_counts[s.key.split("_")[0]] += 1
    groups: dict[str, list[Series]] = defaultdict(list)
    for s in series:
        parts = re.split(r"[/.]", s.key, maxsplit=1)
        if len(parts) > 1:
            name = parts[0]
        else:
            head = s.key.split("_")[0]
            name = head if prefix_counts[head] > 1 else s.key
        groups[name].append(s)
    return dict(groups)


def plot_training_curves(metrics_path: Path | str, path: Path | str) -> FigureFile:
    """Write one panel per key group of ``metrics_path`` (``metrics.jsonl``) to ``path``."""
    groups = group_series(metric_series(read_metrics_log(metrics_path)))
    if not groups:
        raise ValueError(f"{metrics_path}: no numeric metrics to plot")
    columns = min(NUM_COLUMNS, len(groups))
    rows = math.ceil(len(groups) / columns)
    cell_w = MARGIN_LEFT + PANEL_W + MARGIN_RIGHT
    cell_h = MARGIN_TOP + PANEL_H + MARGIN_BOTTOM
    with figure_style():
        fig = new_figure(cell_w * columns, cell_h * rows + 30)
        fig.suptitle("Training curves (metrics.jsonl)")
        for index, (name, members) in enumerate(groups.items()):
            box = Box(
                (index % columns) * cell_w + MARGIN_LEFT,
                30 + (index // columns) * cell_h + MARGIN_TOP,
                PANEL_W,
                PANEL_H,
            )
            _draw_group(add_axes_px(fig, box), name, members)
        return save_png(fig, path)


def _draw_group(axes, name: str, members: list[Series]) -> None:
    """One panel: each series of the group against the step."""
    for s in members:
        finite = np.isfinite(s.values)
        marker = "o" if finite.sum() <= 20 else None
        axes.plot(s.steps[finite], s.values[finite], marker=marker, ms=3, lw=1.2, label=s.key)
    axes.set_title(name)
    axes.set_xlabel("step")
    axes.set_ylabel(members[0].key if len(members) == 1 else name)
    axes.grid(True, lw=0.4, alpha=0.5)
    finite = np.concatenate([s.values[np.isfinite(s.values)] for s in members])
    if finite.min() > 0 and finite.max() > 100 * finite.min():
        axes.set_yscale("log")
    else:  # small values such as a learning rate: 1e-3 as an offset, not long tick labels
        axes.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useOffset=False)
    if len(members) > 1:
        axes.legend(loc="best", ncols=1 + len(members) // 5, fontsize=7, frameon=False)
