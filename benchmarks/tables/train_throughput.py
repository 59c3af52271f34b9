"""The training loop beside the raw training step (``benchmarks/train_throughput.py``)."""

from __future__ import annotations

from typing import Any


def render(payload: dict[str, Any]) -> str:
    """A Markdown table: one row per backbone, batch and data source; the ratio is the median
    of the paired ratios (each loop window over the raw chunks beside it), with their range."""
    results = payload["results"]
    target = results["settings"]["target"]
    lines = [
        "| backbone | batch | source | raw img/s | loop img/s | loop / raw | target "
        "| ratio range | raw range | loop range |",
        "|---|---:|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for row in results["rows"]:
        verdict = "ok" if row["ratio"] >= target else f"below {target:g}"
        lines.append(
            f"| {row['backbone']} | {row['batch']} | {row['source']} "
            f"| {row['raw_per_s']:,.0f} | {row['loop_per_s']:,.0f} | {row['ratio']:.2f} "
            f"| {verdict} | {_ratios(row.get('ratio_range'))} | {_range(row['raw_range'])} "
            f"| {_range(row['loop_range'])} |"
        )
    return "\n".join(lines)


def _range(bounds: list[float]) -> str:
    low, high = bounds
    return f"{low:,.0f}–{high:,.0f}"


def _ratios(bounds: list[float] | None) -> str:
    if bounds is None:  # a file from before the paired design: one ratio of two medians
        return "—"
    low, high = bounds
    return f"{low:.2f}–{high:.2f}"
