"""Mean ± standard deviation over seeds of the headline metrics, as a Markdown table.

The standard deviation is the sample one (``ddof=1``, the spread one expects across new
seeds); with a single value it is undefined and the table shows the mean alone. Cells that
did not finish (diverged, failed) are left out, and the ``n`` column counts the seeds that
finished (``n/N`` of the ``N`` seeds of the preset). A metric that is missing or NaN in some
of those seeds is averaged over the others, and its cell says how many values it averages,
never hiding the rest: ``0.120 ± 0.030 (2/3)`` is 2 values of 3 finished seeds, ``NaN``
a metric that no finished seed has, ``–`` a row with no finished seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Summary:
    """``mean`` and sample ``std`` (NaN when ``count < 2``) of the ``count`` finite values among
    ``total`` values offered (a missing or NaN value counts in ``total`` only)."""

    mean: float
    std: float
    count: int
    total: int

    def text(self, digits: int = 3) -> str:
        if self.total == 0:
            return "–"
        if self.count == 0:
            return "NaN"
        text = f"{self.mean:.{digits}f}"
        if self.count > 1:
            text += f" ± {self.std:.{digits}f}"
        return text if self.count == self.total else f"{text} ({self.count}/{self.total})"


def summarise(values: Iterable[float | None]) -> Summary:
    """Summary of the finite numbers among ``values`` (``None`` and NaN are counted as missing)."""
    offered = list(values)
    finite = np.array([v for v in offered if v is not None and math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return Summary(math.nan, math.nan, 0, len(offered))
    std = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    return Summary(float(finite.mean()), std, int(finite.size), len(offered))


def group_records(
    records: Sequence[dict[str, Any]], dataset: str, variant: str
) -> list[dict[str, Any]]:
    """Finished records of one (dataset, objective variant) row."""
    return [
        r
        for r in records
        if r.get("dataset") == dataset
        and r.get("variant") == variant
        and r.get("status") == "finished"
    ]


def summary_rows(
    records: Sequence[dict[str, Any]],
    datasets: Sequence[str],
    variants: Sequence[str],
    headline: dict[str, str],
) -> list[dict[str, Any]]:
    """One row per (dataset, variant): ``{"dataset", "variant", "n", "<metric>": Summary}``,
    ``n`` the finished seeds (every Summary's ``total``)."""
    rows = []
    for dataset in datasets:
        for variant in variants:
            group = group_records(records, dataset, variant)
            row: dict[str, Any] = {"dataset": dataset, "variant": variant, "n": len(group)}
            for key in headline:
                row[key] = summarise(r.get("metrics", {}).get(key) for r in group)
            rows.append(row)
    return rows


def markdown_table(
    records: Sequence[dict[str, Any]],
    datasets: Sequence[str],
    variants: Sequence[str],
    headline: dict[str, str],
    *,
    num_seeds: int | None = None,
    digits: int = 3,
) -> str:
    """One Markdown table per dataset; the best mean of each column is in bold."""
    rows = summary_rows(records, datasets, variants, headline)
    blocks = []
    for dataset in datasets:
        mine = [row for row in rows if row["dataset"] == dataset]
        best = {key: _best(mine, key) for key in headline}
        header = ["objective", "n", *headline.values()]
        lines = [f"### {dataset}", "", _line(header), _line(["---"] * len(header))]
        for row in mine:
            count = f"{row['n']}/{num_seeds}" if num_seeds else str(row["n"])
            cells = []
            for key in headline:
                text = row[key].text(digits)
                is_best = row[key].count and row[key].mean == best[key]
                cells.append(f"**{text}**" if is_best else text)
            lines.append(_line([row["variant"], count, *cells]))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _best(rows: list[dict[str, Any]], key: str) -> float:
    means = [row[key].mean for row in rows if row[key].count]
    return max(means) if means else math.nan


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
