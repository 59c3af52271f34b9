"""Loops read from their orbits (``benchmarks/orbit_angles.py``)."""

from __future__ import annotations

from typing import Any


def render(payload: dict[str, Any]) -> str:
    results = payload["results"]
    lines = [
        f"At {results['image_size']} px:",
        "",
        "| dataset | loop | values | orbits (with a cycle) | alignment with the truth "
        "| neighbours agree | ms a draw | sorting every orbit | orbits kept | their alignment |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        lines.append(
            f"| {row['dataset']} | {row['factor']} | {row['values']} | {row['orbits']} "
            f"({row['kept']}) "
            f"| {row['alignment']:.4f} | {row['agreement']:.4f} "
            f"| {1000 * row['seconds_per_orbit']:.1f} | {_sorted(row)} "
            f"| {row.get('frame_orbits', '--')} "
            f"| {_alignment(row.get('frame_alignment'))} |"
        )
    return "\n".join(lines)


def _alignment(value: float | None) -> str:
    return "--" if value is None else f"{value:.4f}"


def _sorted(row: dict[str, Any]) -> str:
    """The time a draw sorting every orbit for repeats, and whether its angles were the same."""
    if "sorted_seconds_per_orbit" not in row:
        return "--"
    same = "same angles" if row["same_as_sorted"] else "other angles"
    return f"{1000 * row['sorted_seconds_per_orbit']:.1f} ({same})"
