"""Renderer throughput against training throughput (``benchmarks/render_throughput.py``)."""

from __future__ import annotations

from typing import Any


def render(payload: dict[str, Any]) -> str:
    results = payload["results"]
    target = results["settings"]["target"]
    lines = [
        "| dataset | render batch | render img/s | train img/s | ratio | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in results["rows"]:
        verdict = "ok" if row["ratio"] >= target else f"below {target:g}×"
        lines.append(
            f"| {row['dataset']} | {row['render_batch']} | {row['render_per_s']:,.0f} "
            f"| {row['train_per_s']:,.0f} | {row['ratio']:.1f}× | {verdict} |"
        )
    return "\n".join(lines)
