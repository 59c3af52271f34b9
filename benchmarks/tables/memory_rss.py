"""Peak memory of loading a Shapes3D-sized file (``benchmarks/memory_rss.py``)."""

from __future__ import annotations

from typing import Any

GIB = 2**30


def render(payload: dict[str, Any]) -> str:
    results = payload["results"]
    data = results["data_bytes"]
    count = results["modes"][0]["num_images"]
    lines = [
        f"Images as uint8: {data / GIB:.2f} GiB ({count:,} images, grid "
        f"{tuple(results['sizes'])}; file written in {results['write_seconds']:.0f} s).",
        "",
        "| mode | peak RSS GiB | × uint8 size | peak − imports GiB | × uint8 size | load s "
        "| ms per batch of 64 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["modes"]:
        delta = row["peak_rss"] - row["rss_after_imports"]
        lines.append(
            f"| {'lazy' if row['lazy'] else 'eager'} | {row['peak_rss'] / GIB:.2f} "
            f"| {row['peak_rss'] / data:.2f} | {delta / GIB:.2f} | {delta / data:.2f} "
            f"| {row['load_seconds']:.1f} | {1000 * row['seconds_per_batch64']:.1f} |"
        )
    return "\n".join(lines)
