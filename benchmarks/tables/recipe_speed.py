"""The recipe's step, channels-last weights beside the default order
(``benchmarks/recipe_speed.py``)."""

from __future__ import annotations

from typing import Any


def render(payload: dict[str, Any]) -> str:
    """A Markdown table: one row per batch of pairs; the ratio is the median of the paired
    ratios (each channels-last window over the default windows beside it), with their range."""
    results = payload["results"]
    lines = [
        "| batch (pairs) | default img/s | channels-last img/s | channels-last / default "
        "| ratio range |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        low, high = row["ratio_range"]
        lines.append(
            f"| {row['batch']} | {row['default_per_s']:,.0f} "
            f"| {row['channels_last_per_s']:,.0f} | {row['ratio']:.2f} "
            f"| {low:.2f}–{high:.2f} |"
        )
    return "\n".join(lines)
