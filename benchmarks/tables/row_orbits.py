"""Loops read from the orbits of files that are not grids (``benchmarks/row_orbits.py``)."""

from __future__ import annotations

from typing import Any


def render(payload: dict[str, Any]) -> str:
    results = payload["results"]
    lines = [
        f"At {results['image_size']} px, {results['values']} values of each other factor:",
        "",
        "| dataset | loop | rows missing | rows | orbits (values each) | links agree "
        "| draws pulled | alignment of those (tenth percentile) | all in one frame | ms a draw |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        lines.append(
            f"| {row['dataset']} | {row['factor']} | {row['missing']:.0%} | {row['rows']} "
            f"| {row['orbits']} ({row['values']:.1f}) | {row['agreement']:.3f} "
            f"| {row['pulled']:.0%} | {row['alignment']:.4f} ({row['alignment_p10']:.4f}) "
            f"| {row['frame_alignment']:.4f} | {1000 * row['seconds_per_orbit']:.1f} |"
        )
    return "\n".join(lines)
