"""``results.png``: one panel per headline metric, objectives along x, a bar per dataset
(mean over seeds, error bar one sample standard deviation, dots the single seeds)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prodvae.bench.summary import group_records, summarise


def plot_results(
    records: Sequence[dict[str, Any]],
    datasets: Sequence[str],
    variants: Sequence[str],
    headline: dict[str, str],
    path: str | Path,
) -> Path:
    """Draw the figure and save it at ``path`` (PNG) through a temporary file."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    keys = list(headline)
    columns = min(3, len(keys))
    rows = int(np.ceil(len(keys) / columns))
    width = min(7.0, max(4.0, 0.35 * len(variants) * max(1, len(datasets)) + 1.5))
    figure, axes = plt.subplots(rows, columns, figsize=(width * columns, 3.6 * rows), squeeze=False)
    bar = 0.8 / max(1, len(datasets))
    x = np.arange(len(variants))
    for panel, key in zip(axes.flat, keys):
        for d, dataset in enumerate(datasets):
            offset = (d - (len(datasets) - 1) / 2) * bar
            _bars(panel, records, dataset, variants, key, x + offset, bar, d)
        panel.set_title(headline[key])
        panel.set_xticks(x, variants, rotation=45, ha="right", fontsize=8)
        panel.grid(axis="y", alpha=0.3)
    for panel in list(axes.flat)[len(keys) :]:
        panel.axis("off")
    axes.flat[0].legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    temp = path.with_name(f".{path.stem}.tmp.png")
    figure.savefig(temp, dpi=110)
    plt.close(figure)
    temp.replace(path)
    return path


def _bars(panel, records, dataset, variants, key, positions, bar, index: int) -> None:
    means, stds = [], []
    for position, variant in zip(positions, variants):
        values = [r.get("metrics", {}).get(key) for r in group_records(records, dataset, variant)]
        summary = summarise(values)
        means.append(summary.mean if summary.count else 0.0)
        stds.append(summary.std if summary.count > 1 else 0.0)
        finite = [v for v in values if v is not None and np.isfinite(v)]
        panel.plot([position] * len(finite), finite, ".", color="k", markersize=3)
    panel.bar(
        positions, means, bar, yerr=stds, color=f"C{index}", alpha=0.8, capsize=2, label=dataset
    )
