"""The recipe's step with one setting changed, beside the recipe as it is
(``benchmarks/recipe_speed.py``)."""

from __future__ import annotations

from typing import Any

#: what a result recorded before ``--change`` existed compared
CHANNELS_LAST = ["train.channels_last=true"]


def render(payload: dict[str, Any]) -> str:
    """A Markdown table: one row per batch of pairs; the ratio is the median of the paired
    ratios (each changed window over the default windows beside it), with their range."""
    results = payload["results"]
    change = results["settings"].get("change", CHANNELS_LAST)
    label = "channels-last" if change == CHANNELS_LAST else " ".join(f"`{c}`" for c in change)
    lines = [
        f"| batch (pairs) | default img/s | {label} img/s | {label} / default | ratio range |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        low, high = row["ratio_range"]
        changed = row.get("changed_per_s", row.get("channels_last_per_s"))
        lines.append(
            f"| {row['batch']} | {row['default_per_s']:,.0f} "
            f"| {changed:,.0f} | {row['ratio']:.2f} "
            f"| {low:.2f}–{high:.2f} |"
        )
    return "\n".join(lines)
